"""The documentation keeps its promises about itself.

- The README stays what it is: the product, the two commands, configuration and where to read more,
  in at most 12 KB; the rest lives in docs/ (the mkdocs site).
- Security and privacy claims name the tests that back them. A claim backed by a test that was
  renamed or deleted is a broken claim: every test a page names (`tests/a/test_b.py`,
  `test_b.py::test_c`, `::test_d` after a file, a bare `test_e`) must exist.
- docs/api/errors.md is the one list of error codes: every code the product can answer with is
  on it, so an app developer never meets a code the documentation does not name.
- Every page of docs/ is in mkdocs.yml's nav (no page only a search finds), and the site builds
  offline: no plugin that fetches at build time, no web fonts.
- The README's links into docs/ resolve (mkdocs checks the links between pages, not the README's).

`make lint` builds the site with `mkdocs build --strict`, which checks the links between pages.
"""

import ast
import fnmatch
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
README = ROOT / "README.md"
README_MAX_BYTES = 12 * 1024

# A code span; inside it, a test file (with a path or by its name) optionally followed by
# ::name::name..., or a continuation (::name) of the file named last, or a bare test name.
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FILE_REF = re.compile(r"^((?:tests/)?(?:[\w.-]+/)*test_\w+\.py)((?:::\w+)*)$")
CONTINUATION = re.compile(r"^(?:…|\.\.\.)?((?:::\w+)+)$")
# A bare name, or a family of them (`test_the_schedule_runs_*`: at least one must exist).
BARE_TEST = re.compile(r"^test_\w+\*?$")
# A test file named in running text without a code span (`tests/x/test_y.py` is usually spanned).
PLAIN_FILE = re.compile(r"(?<![\w/.-])((?:tests/)(?:[\w.-]+/)*test_\w+\.py)")


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


@cache
def _test_modules() -> tuple[Path, ...]:
    return tuple(sorted(TESTS.rglob("test_*.py")))


@cache
def names_in(path: Path) -> frozenset[str]:
    """Every function and class a test module defines, at any depth (methods included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


@cache
def all_test_names() -> frozenset[str]:
    return frozenset(name for path in _test_modules() for name in names_in(path))


def files_named(reference: str) -> list[Path]:
    """The test files a reference means: by its path from the root (or from tests/), or, for a
    bare file name, every file of that name under tests/."""
    if "/" in reference:
        relative = reference if reference.startswith("tests/") else f"tests/{reference}"
        path = ROOT / relative
        return [path] if path.is_file() else []
    return [path for path in _test_modules() if path.name == reference]


def broken_references(text: str) -> list[str]:
    """What in ``text`` names a test that does not exist, each with the reason."""
    broken: list[str] = []
    last_files: list[Path] = []
    spans = [(m.start(), m.group(1).strip()) for m in CODE_SPAN.finditer(text)]
    plain = [(m.start(), m.group(1)) for m in PLAIN_FILE.finditer(CODE_SPAN.sub("", text))]
    for reference in [span for _, span in spans] + [ref for _, ref in plain]:
        file_ref = FILE_REF.match(reference)
        continuation = CONTINUATION.match(reference)
        if file_ref:
            files = files_named(file_ref.group(1))
            if not files:
                broken.append(f"{reference}: no such test file")
                continue
            last_files = files
            chain = file_ref.group(2)
        elif continuation:
            if not last_files:
                broken.append(f"{reference}: no test file named before it")
                continue
            files, chain = last_files, continuation.group(1)
        elif BARE_TEST.match(reference):
            if not fnmatch.filter(all_test_names(), reference):
                broken.append(f"{reference}: no test of that name under tests/")
            continue
        else:
            continue
        for name in chain.split("::")[1:]:
            if not any(name in names_in(path) for path in files):
                broken.append(f"{reference}: {name} is not in {[str(p) for p in files]}")
    return broken


ERRORS_PAGE = DOCS / "api" / "errors.md"
# Top-level directories of code that answer no client: the suite, the benchmark, the verifier.
NOT_SERVING = {"tests", "bench", "verifier"}
# Codes the error handlers rename before a client sees them (core/errors.py, headless_errors.py).
RENAMED_CODES = {"invalid", "not_authenticated"}


def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _codes_in(tree: ast.AST) -> set[str]:
    """The error codes a module writes: ``default_code = "..."`` of an exception class,
    ``code="..."`` passed to an exception, ``json_error("...", ...)`` and ``{"code": "..."}``."""
    codes: list[str | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "default_code" for t in node.targets):
                codes.append(_text(node.value))
        elif isinstance(node, ast.Call):
            codes.extend(_text(kw.value) for kw in node.keywords if kw.arg == "code")
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "json_error" and node.args:
                codes.append(_text(node.args[0]))
        elif isinstance(node, ast.Dict):
            codes.extend(
                _text(value)
                for key, value in zip(node.keys, node.values, strict=True)
                if _text(key) == "code"
            )
    return {code for code in codes if code is not None}


def product_error_codes() -> dict[str, set[str]]:
    """Every error code in the product's code, with the modules that write it."""
    found: dict[str, set[str]] = {}
    for package in sorted(path.parent for path in ROOT.glob("*/__init__.py")):
        if package.name in NOT_SERVING:
            continue
        for path in sorted(package.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for code in _codes_in(ast.parse(path.read_text(encoding="utf-8"))):
                found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def documented_codes(text: str) -> set[str]:
    """The words of the page's code spans: `already_voted`, `409 already_voted`."""
    return {word for span in CODE_SPAN.findall(text) for word in re.findall(r"[a-z_]+", span)}


def nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    return []


def mkdocs_config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_the_readme_is_at_most_12_kb():
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes (at most {README_MAX_BYTES}): move detail into docs/"
    )


@pytest.mark.parametrize(
    "page",
    [README, *doc_pages()],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_every_test_a_page_names_exists(page):
    broken = broken_references(page.read_text(encoding="utf-8"))
    assert broken == [], f"{page.relative_to(ROOT)} names tests that do not exist: {broken}"


def test_the_reference_check_catches_renamed_tests():
    # The check the claims stand on: a wrong one would pass every page.
    real = "`tests/accounts/test_sessions.py`"
    assert broken_references(real) == []
    assert (
        broken_references("`test_sessions.py::test_a_citizen_cannot_end_another_citizens_session`")
        == []
    )
    assert broken_references("`test_sessions.py::test_renamed_away`")
    assert broken_references(f"{real} and `::test_renamed_away`")
    assert broken_references("`::test_with_no_file_before_it`")
    assert broken_references("`tests/accounts/test_no_such_file.py`")
    assert broken_references("see tests/accounts/test_no_such_file.py for it")
    assert broken_references("`test_no_such_test_anywhere`")
    assert broken_references("`test_no_such_family_*`")
    assert broken_references(f"{real}, then `…::test_renamed_away`")
    assert (
        broken_references(f"{real}, then `…::test_a_citizen_cannot_end_another_citizens_session`")
        == []
    )
    assert broken_references("`tests/no/such/dir/test_x.py::test_y`")


def test_every_docs_page_is_in_the_nav():
    listed = nav_pages(mkdocs_config()["nav"])
    pages = {str(path.relative_to(DOCS)) for path in doc_pages()}
    missing = [name for name in listed if name not in pages]
    assert missing == [], f"mkdocs.yml's nav lists pages that do not exist: {missing}"
    orphans = sorted(pages - set(listed))
    assert orphans == [], f"pages of docs/ missing from mkdocs.yml's nav: {orphans}"


def test_the_site_builds_offline_and_loads_no_web_fonts():
    config = mkdocs_config()
    plugins = config.get("plugins", ["search"])
    names = [next(iter(p)) if isinstance(p, dict) else p for p in plugins]
    # search is built in and runs in the reader's browser; social cards, the privacy plugin,
    # and their like download at build time.
    assert set(names) <= {"search"}, f"plugins that may fetch at build time: {names}"
    assert config["theme"]["name"] == "material"
    assert config["theme"].get("font") is False, "theme.font must be false: no Google Fonts"
    assert config.get("strict") is True


def test_the_readmes_links_into_the_repository_resolve():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#", 1)[0] for t in targets if not re.match(r"^[a-z]+:", t)]
    assert local, "the README links to no page of docs/"
    missing = [t for t in local if t and not (ROOT / t).exists()]
    assert missing == [], f"README.md links to files that do not exist: {missing}"


def test_every_error_code_the_product_answers_with_is_on_the_errors_page():
    found = product_error_codes()
    # The scan must see the codes it is meant to see, or it would pass an empty page.
    assert {"already_voted", "idempotency_mismatch", "service_unavailable", "not_found"} <= set(
        found
    )
    documented = documented_codes(ERRORS_PAGE.read_text(encoding="utf-8"))
    missing = {
        code: sorted(modules)
        for code, modules in found.items()
        if code not in documented and code not in RENAMED_CODES
    }
    assert missing == {}, f"error codes missing from docs/api/errors.md: {missing}"


def test_the_code_scan_finds_every_way_a_code_is_written():
    source = """
class Late(ApiError):
    default_code = "from_a_class"
raise ValidationError("x", code="from_a_keyword")
json_error("from_json_error", "x", 400)
core.errors.json_error("from_a_module", "x", 400)
body = {"code": "from_a_dict", "detail": "x"}
"""
    assert _codes_in(ast.parse(source)) == {
        "from_a_class",
        "from_a_keyword",
        "from_json_error",
        "from_a_module",
        "from_a_dict",
    }
    assert documented_codes("`409 already_voted` and `x`") == {"already_voted", "x"}


CONFIGURATION_PAGE = DOCS / "operations" / "configuration.md"
SETTINGS = ROOT / "config" / "settings.py"
# The name a settings line reads: env("X"), env.<type>("X", ...) (str, int, bool, float, list,
# path, db_url, email_url...), os.environ.get("X"), os.environ["X"] and os.getenv("X"); the name
# may sit on the line after the call's parenthesis.
ENV_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?\(|\bos\.environ\.get\(|\bos\.getenv\(|\bos\.environ\[)\s*["']([A-Z][A-Z0-9_]*)["']"""
)
# A variable's name in one of the page's code spans: `X`, `X` / `Y`, `X=value`.
VARIABLE_NAME = re.compile(r"\b[A-Z][A-Z0-9_]*\b")


def variables_read(source: str) -> set[str]:
    return set(ENV_READ.findall(source))


def documented_variables(text: str) -> set[str]:
    return {name for span in CODE_SPAN.findall(text) for name in VARIABLE_NAME.findall(span)}


def test_every_environment_variable_the_settings_read_is_on_the_configuration_page():
    read = variables_read(SETTINGS.read_text(encoding="utf-8"))
    # The scan must see what it is meant to see, a call split over lines included, or it would
    # pass an empty page.
    assert {"DEBUG", "DATABASE_URL", "RATE_LIMIT_LOGIN_CODE", "CELERY_TASK_ALWAYS_EAGER"} <= read
    documented = documented_variables(CONFIGURATION_PAGE.read_text(encoding="utf-8"))
    missing = sorted(read - documented)
    assert missing == [], (
        f"environment variables config/settings.py reads but docs/operations/configuration.md "
        f"does not list: {missing}"
    )


def test_the_environment_scan_finds_every_way_a_variable_is_read():
    source = """
DEBUG = env.bool("DEBUG", default=True)
DATABASES = {"default": env.db_url("DATABASE_URL", default="sqlite://")}
A = env("FROM_A_CALL")
B = env.str(
    "ON_THE_NEXT_LINE", default=""
)
C = os.environ.get("FROM_OS_ENVIRON_GET", "")
D = os.environ['FROM_OS_ENVIRON_ITEM']
E = os.getenv("FROM_GETENV")
F = env.str(name, default="")
G = environment("NOT_THE_ENV_READER")
"""
    assert variables_read(source) == {
        "DEBUG",
        "DATABASE_URL",
        "FROM_A_CALL",
        "ON_THE_NEXT_LINE",
        "FROM_OS_ENVIRON_GET",
        "FROM_OS_ENVIRON_ITEM",
        "FROM_GETENV",
    }
    # A name counts only as a whole word in a code span: SMS_SENDER is not SMS_SENDER_NUMBER.
    page = "| `SMS_SENDER_NUMBER` / `SMS_API_KEY=x` | SMS_SENDER in prose |"
    assert documented_variables(page) == {"SMS_SENDER_NUMBER", "SMS_API_KEY"}
