"""Highlights and snippets: the original accented text with <mark> around matched words.

Written here rather than with Whoosh's highlighter because a match may come from a folded field
("da nang" must mark "Đà Nẵng" in the stored title) and because every other character must be
HTML-escaped, quotes included (Whoosh's formatter leaves quotes raw).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from search.analysis.chains import fold_term
from search.analysis.textmatch import find_words, words_regex
from search.query.parse import ParsedQuery

SNIPPET_CHARS = 240
_MARK = re.compile(r"</?mark>")


@dataclass(frozen=True)
class MatchTerms:
    """What counts as a match: exact terms, folded terms and folded prefixes."""

    exact: frozenset[str] = frozenset()
    folded: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, parsed: ParsedQuery) -> MatchTerms:
        exact: set[str] = set()
        prefixes: list[str] = []
        for group in parsed.groups:
            for clause in group:
                if clause.scope in (None, "title"):
                    if clause.kind == "prefix":
                        prefixes.append(fold_term(clause.terms[0]))
                    else:
                        exact.update(clause.terms)
        return cls(frozenset(exact), frozenset(fold_term(t) for t in exact), tuple(prefixes))

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)


def match_spans(text: str, terms: MatchTerms) -> list[tuple[int, int]]:
    """Character spans of matched words; neighbours separated by spaces only are merged."""
    spans: list[tuple[int, int]] = []
    if not terms:
        return spans
    for start, end in find_words(text, words_regex(terms.folded, terms.prefixes)):
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def render(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """HTML-escaped text[start:end] with the spans inside it marked."""
    end = len(text) if end is None else end
    out: list[str] = []
    cursor = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        out.append(html.escape(text[cursor:span_start]))
        out.append("<mark>" + html.escape(text[span_start:span_end]) + "</mark>")
        cursor = span_end
    out.append(html.escape(text[cursor:end]))
    return "".join(out)


def highlight(text: str, terms: MatchTerms) -> str:
    """The whole text, escaped, with matches marked (for titles)."""
    return render(text, match_spans(text, terms))


def snippet(
    text: str,
    terms: MatchTerms,
    width: int = SNIPPET_CHARS,
    spans: list[tuple[int, int]] | None = None,
) -> str:
    """About `width` characters of text around its densest cluster of matches, escaped
    (`spans`: the text's match_spans, when the caller has them already)."""
    spans = match_spans(text, terms) if spans is None else spans
    if len(text) <= width:
        return render(text, spans)
    start = densest_window(text, spans, width)
    end = min(len(text), start + width)
    if end < len(text):
        cut = text.rfind(" ", start + width // 2, end)
        end = cut if cut > 0 else end
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return prefix + render(text, spans, start, end).strip() + suffix


# A hit's snippet comes from its body when the body's first this many characters hold more
# matches than its summary (counting further costs more than it changes).
MATCHES_COUNTED_CHARS = 20_000


def hit_snippet(title: str, summary: str, body: str, terms: MatchTerms) -> str:
    """A hit's snippet: from the body when its first MATCHES_COUNTED_CHARS hold more
    matches than the summary, else from the summary; from the title when both are empty.
    A body counted whole has its matches found once."""
    if not body:
        return snippet(summary or title, terms)
    if not summary:
        return snippet(body, terms)
    counted = match_spans(body[:MATCHES_COUNTED_CHARS], terms)
    if len(counted) <= count_matches(summary, terms):
        return snippet(summary, terms)
    whole = len(body) <= MATCHES_COUNTED_CHARS
    return snippet(body, terms, spans=counted if whole else None)


def densest_window(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """Where the window holding the most whole spans starts: a quarter of its width before
    one of the spans (the first such window on a tie)."""
    if not spans:
        return 0
    # spans are in order and apart, so their ends are in order too: the spans inside a
    # window are those from the first starting in it to the last ending in it
    starts = [s for s, _ in spans]
    ends = [e for _, e in spans]
    best_start, best_count = 0, -1
    for span_start in starts:
        window_start = max(0, span_start - width // 4)
        inside = bisect_right(ends, window_start + width) - bisect_left(starts, window_start)
        count = max(0, inside)
        if count > best_count:
            best_start, best_count = window_start, count
    if best_start > 0:
        space = text.find(" ", best_start)
        best_start = space + 1 if 0 <= space < best_start + 30 else best_start
    return best_start


def count_matches(text: str, terms: MatchTerms) -> int:
    return len(match_spans(text, terms))


def strip_marks(fragment: str, bold: bool = False) -> str:
    """Plain text of a highlighted fragment (for the terminal)."""
    if bold:
        fragment = fragment.replace("<mark>", "\x1b[4m").replace("</mark>", "\x1b[24m")
    return html.unescape(_MARK.sub("", fragment))
