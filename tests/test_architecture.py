"""The layout as written down agrees with the layout as enforced.

`.importlinter` is the source of truth for the layers (`make lint` runs it). These tests keep the
rest honest: every Python package in the repository is either in the contract or named here as
outside the product; the "Layout" of docs/architecture.md lists exactly the contract's packages,
top layer first; and no module of the product grows past the size at which its seams stop being
visible.
"""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Top-level packages that are not part of the product's layers, and why.
NON_PRODUCT_PACKAGES = {
    "tests": "the test suite: imports everything, imported by nothing",
    "verifier": "the standalone board verifier (standard library only), its own contract",
}

# Top-level directories that hold no product code (and are not Python packages).
NON_PACKAGE_DIRS = {"deploy", "docs", "locale"}

# Packages whose modules are not held to the size limit: the benchmark is a tool, not an app.
SIZE_EXEMPT_PACKAGES = {"bench"}
# Modules held to no size, and why. The limit is for code, where a long module hides its seams.
SIZE_EXEMPT_MODULES = {
    # One flat list of settings read from the environment, in sections. Split into star-imported
    # parts it would trade its length for an order of imports that each part silently relies on
    # (SECRET_KEY, DEBUG, REDIS_URL are read by later sections).
    "config/settings.py",
}
MAX_MODULE_LINES = 400


def _importlinter() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    assert config.read(ROOT / ".importlinter", encoding="utf-8"), ".importlinter is missing"
    return config


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def contract_layers() -> list[list[str]]:
    """The layers contract, top first; each layer is its sibling packages ("a | b")."""
    layers = _importlinter()["importlinter:contract:layers"]["layers"]
    return [
        [name.strip().strip("()") for name in re.split(r"[|:]", layer)] for layer in _lines(layers)
    ]


def contract_packages() -> list[str]:
    return [name for layer in contract_layers() for name in layer]


LAYOUT_PAGE = ROOT / "docs" / "architecture.md"


def documented_layout() -> list[str]:
    """The package names of the "## Layout" code block in docs/architecture.md, in order."""
    text = LAYOUT_PAGE.read_text(encoding="utf-8")
    section = re.search(r"^## Layout\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, 'docs/architecture.md has no "## Layout" section'
    block = re.search(r"^```[^\n]*\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, 'docs/architecture.md\'s "## Layout" has no code block'
    names = []
    for line in block.group(1).splitlines():
        match = re.match(r"([\w.-]+)/(\s|$)", line)
        if match:
            names.append(match.group(1))
    return names


def top_level_packages() -> set[str]:
    return {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if not path.parent.name.startswith(".")
    }


def test_every_package_is_in_the_contract_or_named_outside_the_product():
    packages = top_level_packages()
    layered = set(contract_packages())
    unplaced = packages - layered - set(NON_PRODUCT_PACKAGES)
    assert not unplaced, (
        f"{sorted(unplaced)}: add each to the layers in .importlinter (and the Layout in "
        "docs/architecture.md), or to NON_PRODUCT_PACKAGES here with the reason"
    )
    missing = layered - packages
    assert not missing, f"{sorted(missing)}: in the contract, but not a package of the repository"


def test_no_stray_top_level_directory_of_code():
    # A directory of Python files without __init__.py would escape the contract (ruff's INP
    # rule says the same per file); name non-code directories above.
    for path in ROOT.iterdir():
        if not path.is_dir() or path.name.startswith(".") or path.name.endswith(".egg-info"):
            continue
        if path.name in NON_PACKAGE_DIRS or (path / "__init__.py").exists():
            continue
        assert not any(path.rglob("*.py")), f"{path.name}/ holds Python files but is no package"


def test_import_linter_sees_every_layer():
    # A layer missing from root_packages is not in the graph: its imports would go unchecked.
    roots = set(_lines(_importlinter()["importlinter"]["root_packages"]))
    missing = set(contract_packages()) - roots
    assert not missing, f"{sorted(missing)}: add to root_packages in .importlinter"
    assert set(NON_PRODUCT_PACKAGES) - {"tests"} <= roots


def test_documented_layout_lists_the_contract_in_its_order():
    layer_of = {name: index for index, layer in enumerate(contract_layers()) for name in layer}
    listed = documented_layout()
    unknown = [name for name in listed if name not in layer_of]
    assert not unknown, f"docs/architecture.md Layout lists {unknown}, which the contract does not"
    assert sorted(listed) == sorted(layer_of), (
        f"docs/architecture.md Layout lists {listed}; the contract's packages are "
        f"{contract_packages()}"
    )
    order = [layer_of[name] for name in listed]
    assert order == sorted(order), (
        f"docs/architecture.md Layout lists {listed}, but the contract's order (top first) is "
        f"{[' | '.join(layer) for layer in contract_layers()]}"
    )


def test_no_module_of_the_product_exceeds_the_size_limit():
    too_long = {}
    for package in sorted(set(contract_packages()) - SIZE_EXEMPT_PACKAGES):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or str(relative) in SIZE_EXEMPT_MODULES:
                continue
            with path.open(encoding="utf-8") as file:
                lines = sum(1 for _ in file)
            if lines > MAX_MODULE_LINES:
                too_long[str(relative)] = lines
    assert not too_long, (
        f"modules over {MAX_MODULE_LINES} lines (split them along their seams): {too_long}"
    )
