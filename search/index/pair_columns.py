"""The postings of the syllable-pair fields as arrays until commit, like the word fields'.

A pair field (title and summary pairs, exact and folded) keeps, for every pair of every
document, the two syllables' numbers in the writer's vocabulary (search/index/bulk_arrays.py);
a folded field folds the vocabulary once at commit. At commit the distinct pairs are named
("hà_nội") and sorted, and FieldPostings cuts the tokens into postings as for the word fields.
Pair order is the names' order, not the syllables' (the separator sorts above digits), so the
names are sorted, not the number pairs.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from search.analysis.chains import TermMemo
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.index.bulk_arrays import TermIds, TokenColumns


class PairColumns(TokenColumns):
    """One pair field's tokens: each pair's first and second syllable number, and each
    text's document number and pair count."""

    def __init__(self, vocabulary: TermIds, folded: bool, boost: float | None) -> None:
        super().__init__(vocabulary, False, folded, boost)
        self.second_ids = array("i")  # `term_ids` holds the first syllables

    def add_pairs(self, firsts: array[int], seconds: array[int], docnum: int) -> None:
        self.term_ids += firsts
        self.second_ids += seconds
        self.texts.append(docnum)
        self.counts.append(len(firsts))

    def _token_columns(self) -> list[array[int]]:
        return [self.term_ids, self.second_ids]

    def ranks(self, memo: TermMemo) -> tuple[Any, list[str]]:
        """Each pair's rank in term order, and the pairs' names in that order."""
        firsts = np.frombuffer(self.term_ids, dtype=np.int32)
        seconds = np.frombuffer(self.second_ids, dtype=np.int32)
        vocabulary = self.vocabulary
        if self.folded:
            fold, vocabulary = vocabulary.folded(memo)
            firsts, seconds = fold[firsts], fold[seconds]
        codes = (firsts.astype(np.int64) << 32) | seconds.astype(np.int64)
        distinct, which = np.unique(codes, return_inverse=True)
        terms = vocabulary.terms
        pairs = zip((distinct >> 32).tolist(), (distinct & 0xFFFFFFFF).tolist(), strict=True)
        names = [terms[a] + BIGRAM_SEPARATOR + terms[b] for a, b in pairs]
        order = sorted(range(len(names)), key=names.__getitem__)
        ranks = np.empty(len(names), dtype=np.int64)
        ranks[order] = np.arange(len(names))
        return ranks[which.ravel()], [names[i] for i in order]
