"""A term's info in one segment, looked up once.

A Whoosh term-table look-up is several small reads through the compound file, and a query
asks for the same term's info several times: its document frequency for the idf and for the
accent restorer, then where its list lies, for the postings, the positions or the sidecar's
weights. Common syllables recur from query to query too. So each segment's term infos, and
the terms a segment lacks, are kept in the index's caches, keyed like the segment's postings
(`segment_term_key`: segments never change once written, deletions are in the key).
"""

from __future__ import annotations

from typing import Any

from whoosh.reading import TermNotFound

from search.index.caches import IndexCaches
from search.index.w3_reader import w3_terms

_LACKED = object()  # kept for a term the segment lacks (a cache keeps no None)


def segment_term_key(leaf: Any, fieldname: str, text: str) -> tuple[str, int, str, str] | None:
    """What a segment's values for a term are cached by: the segment's id and deletion count
    (which name its live documents), then the term; None for a reader of no one segment."""
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    if segment is None:
        return None
    return (segment.segment_id(), segment.deleted_count(), fieldname, text)


def term_info(caches: IndexCaches, leaf: Any, fieldname: str, text: str) -> Any | None:
    """The term's W3 term info in a W3 segment (`w3_terms(leaf)` is not None), None when the
    segment lacks the term."""
    key = segment_term_key(leaf, fieldname, text)
    found = caches.term_infos.get(key) if key is not None else None
    if found is None:
        try:
            found = w3_terms(leaf).term_info(fieldname, leaf._text_to_bytes(fieldname, text))
        except TermNotFound:
            found = _LACKED
        if key is not None:
            caches.term_infos.put(key, found)
    return None if found is _LACKED else found


def doc_frequency(caches: IndexCaches, reader: Any, fieldname: str, text: str | bytes) -> int:
    """What `reader.doc_frequency` gives (deleted documents counted, as Whoosh counts them),
    from the cached term infos of its W3 segments. A term given as bytes (Whoosh's matchers
    give a numeric field's so) is looked up the Whoosh way."""
    if isinstance(text, bytes):
        return int(reader.doc_frequency(fieldname, text))
    count = 0
    for leaf, _ in reader.leaf_readers():
        if w3_terms(leaf) is None or fieldname not in leaf.schema:
            count += leaf.doc_frequency(fieldname, text)
            continue
        info = term_info(caches, leaf, fieldname, text)
        count += info.doc_frequency() if info is not None else 0
    return count
