"""The few Whoosh values that Whoosh keeps in private attributes, read behind named functions.

Only search/index touches Whoosh's private attributes (tests/test_architecture.py checks it),
so a Whoosh upgrade that renames one breaks here and nowhere else.
"""

from __future__ import annotations

from whoosh.scoring import BM25F
from whoosh.searching import Searcher


def subsearcher_offset(searcher: Searcher) -> int:
    """The first document number of a segment's searcher within its parent's numbering (0 for
    a searcher without parent)."""
    if not searcher.has_parent():
        return 0
    return searcher.get_parent()._offset_for_subsearcher(searcher) or 0


def bm25f_field_b(weighting: BM25F, fieldname: str) -> float:
    """BM25F's length normalisation `B` for a field: its per-field value, else the default."""
    return float(weighting._field_B.get(fieldname, weighting.B))


def bm25f_parameters(weighting: BM25F) -> dict[str, float]:
    """The keyword arguments that make another BM25F like this one (B, K1, FIELD_B)."""
    per_field = {f"{name}_B": float(b) for name, b in weighting._field_B.items()}
    return {"B": float(weighting.B), "K1": float(weighting.K1), **per_field}
