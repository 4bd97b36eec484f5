"""Plain text and safe links out of whatever markup an importer meets.

Feeds put HTML (often with entities) in descriptions, and saved pages may keep stray tags or
entities. The index, the snippets and the templates all expect plain text, so every reader runs
its text fields through `html_to_text` once, at import time, and its links through `safe_url`
so a `javascript:` or `data:` link can never reach a page.

Only the stdlib `html.parser` is used: no new dependency, and it already treats a `<` that does
not start a tag ("a < b", "giá <5%") as text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Elements whose content is never text a reader should see.
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template"})
# Elements that end a paragraph: a blank line before and after.
PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl"}
    | {"figure", "section", "article", "header", "footer", "aside", "nav", "hr"}
)
# Elements that end a line.
LINE_TAGS = frozenset({"br", "div", "li", "tr", "dt", "dd", "figcaption", "caption", "address"})
# Elements that separate words: table cells are not separated by any text of their own.
CELL_TAGS = frozenset({"td", "th"})

# A real tag, comment, CDATA section or declaration: what makes a string worth parsing as HTML.
_MARKUP_RE = re.compile(
    r"<(?:!--|!\[CDATA\[|![a-zA-Z]|\?|/?[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]*)?/?>)", re.ASCII
)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_OTHER_WHITESPACE_RE = re.compile(r"[^\S \n]")  # what str.split() splits on, but " " and "\n"
_ALLOWED_SCHEMES = frozenset({"http", "https"})
# Whitespace (exactly what str.isspace() accepts), C0 controls and DEL.
_URL_UNSAFE_RE = re.compile(r"[\s\x00-\x1f\x7f]")


def is_probably_html(s: str) -> bool:
    """True when `s` holds markup (a tag, comment, CDATA or declaration), not just a "<".

    Lets plain text keep its own line breaks: only markup switches to HTML whitespace rules.
    """
    return "<" in s and _MARKUP_RE.search(s) is not None


def html_to_text(s: str) -> str:
    """Plain text of an HTML fragment, or of plain text that may hold entities.

    Entities are unescaped exactly once (`&amp;amp;` -> `&amp;`), so text that was escaped
    twice on purpose stays readable rather than being decoded into markup.

    >>> html_to_text("<p>Bão <b>số 3</b> &amp; lũ</p><p>giá <5%</p>")
    'Bão số 3 & lũ\\n\\ngiá <5%'
    """
    if "<" not in s and "&" not in s:
        return normalize_whitespace(s)
    if not is_probably_html(s):
        return normalize_whitespace(html.unescape(s))
    parser = _TextExtractor()
    parser.feed(s)
    parser.close()
    return normalize_whitespace(parser.text())


def normalize_whitespace(s: str) -> str:
    """Collapse spaces within lines, keep at most one blank line, strip the ends.

    Line breaks carry paragraph structure (saved pages, `<p>`), so only runs of blank lines
    are squeezed; non-breaking and other Unicode spaces become plain spaces.
    """
    if _is_tidy(s):
        return s.strip()
    lines = (" ".join(line.split()) for line in s.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def _is_tidy(s: str) -> bool:
    """Whether normalize_whitespace would change nothing but the ends: no whitespace other
    than single spaces between words and line breaks, at most one blank line in a row.
    Most articles are so, and this check costs a fraction of splitting every line."""
    return (
        "  " not in s
        and " \n" not in s
        and "\n " not in s
        and "\n\n\n" not in s
        and _OTHER_WHITESPACE_RE.search(s) is None
    )


def safe_url(u: str | None) -> str | None:
    """`u` stripped when it is an absolute http(s) URL with a host, else None.

    Anything else (`javascript:`, `data:`, `mailto:`, relative paths, URLs with spaces inside)
    cannot be linked from a result page safely or meaningfully.
    """
    if not isinstance(u, str):
        return None
    u = u.strip()
    if not u or _URL_UNSAFE_RE.search(u):
        return None
    try:
        parts = urlsplit(u)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES or not parts.hostname:
        return None
    return u


class _TextExtractor(HTMLParser):
    """Collects text chunks and line breaks; `convert_charrefs` unescapes entities once."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._newlines = 0  # newlines emitted since the last visible text

    def text(self) -> str:
        """Everything collected so far."""
        return "".join(self._chunks)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._emit_newlines(1)
        elif tag == "pre":
            self._pre_depth += 1
        elif tag in CELL_TAGS and not self._skip_depth:
            self._chunks.append(" ")
        self._break_for(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<br/>` is one break, not the two the default start+end handling would give.
        if tag not in SKIPPED_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)
        if tag != "br":
            self._break_for(tag)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if not self._pre_depth:
            data = re.sub(r"\s+", " ", data)  # source newlines are spaces in HTML
        self._add_text(data)

    def handle_comment(self, data: str) -> None:
        # Some parsers report `<![CDATA[...]]>` as a comment; its text is content.
        if data.startswith("[CDATA[") and not self._skip_depth:
            self._add_text(data[len("[CDATA[") :].removesuffix("]]"))

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA[") and not self._skip_depth:
            self._add_text(data[len("CDATA[") :])

    def _add_text(self, data: str) -> None:
        self._chunks.append(data)
        if data.strip():
            self._newlines = len(data) - len(data.rstrip("\n")) if self._pre_depth else 0

    def _break_for(self, tag: str) -> None:
        if self._skip_depth:
            return
        if tag in PARAGRAPH_TAGS:
            self._ensure_newlines(2)
        elif tag in LINE_TAGS and tag != "br":
            self._ensure_newlines(1)

    def _ensure_newlines(self, n: int) -> None:
        self._emit_newlines(max(0, n - self._newlines))

    def _emit_newlines(self, n: int) -> None:
        if n and not self._skip_depth:
            self._chunks.append("\n" * n)
            self._newlines += n
