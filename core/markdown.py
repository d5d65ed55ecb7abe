"""Poll descriptions are Markdown (CommonMark); this turns them into safe HTML.

Safe by construction rather than by cleaning afterwards: raw HTML in the text is not interpreted
(it comes out escaped, so a ``<script>`` is shown as text), images are not rendered (a remote
image would tell a third party who reads the poll), and links are kept only for http, https,
mailto and tel (no ``javascript:``). Officials see this HTML in the poll form's preview
(voting/admin/authoring.py) and the phone preview (voting/admin/phone.py); ``render`` is the one
function that renders a description.
"""

from functools import cache
from typing import cast

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML

# A description longer than this is refused by the preview (a 4xx, not minutes of work).
MAX_MARKDOWN_CHARS = 50_000

_SCHEMES = ("http:", "https:", "mailto:", "tel:")


def _link_allowed(url: str) -> bool:
    return url.strip().lower().startswith(_SCHEMES)


@cache
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _link_allowed  # type: ignore[method-assign]  # markdown-it's documented hook
    default_link_open = cast(RendererHTML, md.renderer).rules.get("link_open")

    def link_open(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
        # A description's links leave the app: no referrer, no window handle.
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        if default_link_open is not None:
            return default_link_open(tokens, idx, options, env)
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render(text: str) -> str:
    """``text`` (CommonMark) as HTML that is safe to put in a page as is."""
    return str(_renderer().render(text))
