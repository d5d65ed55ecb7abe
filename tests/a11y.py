"""Checks of a page in a real browser that a person would otherwise make by eye: axe-core's
accessibility rules, text cut off without a tooltip, and a page wider than the screen.

Used by the Playwright tests of the officials' pages (tests/voting/test_officials_pages_browser.py).
axe-core runs inside the page (axe-playwright-python injects its bundled copy: nothing is fetched).
"""

from typing import Any

# Impacts that fail a test: "minor" and "moderate" findings are printed, not failed on.
FAILING_IMPACTS = frozenset({"serious", "critical"})

# Elements whose text is cut off, with nothing to read the rest from:
# - boxes with overflow hidden or clip (or an ellipsis) whose content is wider than they are,
#   without a title on them or their parent;
# - SVG text drawn past the edge of its (clipping) <svg>, without a <title> in its group.
# Screen-reader-only elements (1 px boxes) are meant to be clipped and are left out, and so are
# form fields (their text scrolls as one types).
_CLIPPED_JS = """() => {
  const found = [];
  const describe = (node) => {
    const name = node.tagName.toLowerCase() + (node.id ? '#' + node.id : '') +
      (typeof node.className === 'string' && node.className ?
        '.' + node.className.trim().split(/\\s+/).join('.') : '');
    return name + ' "' + (node.textContent || '').trim().slice(0, 60) + '"';
  };
  const titled = (node) => node.hasAttribute('title') ||
    (node.parentElement && node.parentElement.hasAttribute('title'));
  for (const node of document.body.querySelectorAll('*')) {
    // Form fields scroll their own text as one types; SVG text is checked below.
    if (node instanceof SVGElement || node.matches('input, textarea, select')) { continue; }
    const box = node.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) { continue; }
    const style = getComputedStyle(node);
    if (style.visibility === 'hidden') { continue; }
    const cuts = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (cuts && node.scrollWidth > node.clientWidth + 1 && !titled(node)) {
      found.push(describe(node) + ' shows ' + node.clientWidth + ' of ' + node.scrollWidth + 'px');
    }
  }
  for (const text of document.querySelectorAll('svg text')) {
    const svg = text.ownerSVGElement;
    if (!svg || getComputedStyle(svg).overflow === 'visible') { continue; }
    const box = text.getBoundingClientRect();
    const frame = svg.getBoundingClientRect();
    if (box.width === 0) { continue; }
    const out = box.left < frame.left - 1 || box.right > frame.right + 1;
    const group = text.closest('g') || text;
    if (out && !text.querySelector('title') && !group.querySelector(':scope > title')) {
      found.push('svg text "' + text.textContent.trim().slice(0, 60) + '" drawn ' +
        Math.round(Math.max(frame.left - box.left, box.right - frame.right)) + 'px past its svg');
    }
  }
  return found;
}"""


def clipped_elements(page: Any) -> list[str]:
    """The elements of ``page`` whose text is cut off with no tooltip holding the rest, each
    described as tag#id.class "text" and by how much."""
    return page.evaluate(_CLIPPED_JS)


def overflows_sideways(page: Any) -> bool:
    """Whether ``page`` is wider than its window (it would scroll sideways)."""
    return not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on ``page``, one line each: rule, impact, the
    elements (CSS selectors) and the rule's help page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    lines = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in FAILING_IMPACTS:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            f"{', '.join(targets[:8])}{' …' if len(targets) > 8 else ''} — {violation['helpUrl']}"
        )
    return lines


def assert_accessible(page: Any, *, context: str) -> None:
    """Fail on any serious or critical axe-core violation on ``page``; ``context`` names the
    page (and screen size) in the message."""
    found = serious_violations(page)
    assert not found, f"{context}: axe-core finds\n  " + "\n  ".join(found)


def assert_fits(page: Any, *, context: str) -> None:
    """No sideways scrolling and no text cut off without a tooltip on ``page``."""
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{context}: the page is {width[0]}px wide in {width[1]}px"
    clipped = clipped_elements(page)
    assert not clipped, f"{context}: text cut off without a tooltip:\n  " + "\n  ".join(clipped)
