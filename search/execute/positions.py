"""A term's positions in chosen documents of one segment, as arrays, found the cheapest way.

From the segment's decoded positions (search.index.positions_sidecar) when it has them: the
documents' places in the term's list come from the list's bit ranks when the warm-up or
scoring built them (search.execute.doc_ranks), else from a binary search of the list, and
the positions are gathered from the memory-mapped file. Elsewhere they are decoded from the
posting blocks (search.index.segment_positions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from search.execute.doc_ranks import present, segment_ranks
from search.index.caches import IndexCaches
from search.index.segment_positions import (
    PositionArrays,
    decoded_arrays,
    derived_list,
    full_ids,
    gathered,
)


def positions_in(
    caches: IndexCaches, leaf: Any, fieldname: str, text: str, docs: npt.NDArray[np.int64]
) -> PositionArrays:
    """Each position of the term in `docs` (sorted, numbered within the segment), and the
    document it is in."""
    listed = derived_list(caches, leaf, fieldname, text)
    if listed is None:
        return decoded_arrays(caches, leaf, fieldname, text, docs)
    ranks = None if leaf.has_deletions() else segment_ranks(caches, leaf, fieldname, text, 0)
    if ranks is not None:  # only ranks already built (never here), over live lists
        where, places = ranks.locate(docs)
    else:
        where, places = present(full_ids(caches, leaf, fieldname, text, listed), docs)
    return gathered(listed, docs[where], np.asarray(places, dtype=np.int64))
