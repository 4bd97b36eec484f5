"""The rerank's rewards read off decoded positions (search.execute.rerank.positional_rewards)
against the same rewards read off stored text: a body's typed pairs side by side and a title
opening with the typed words, for queries cut from the articles' own titles and bodies."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from search.analysis.chains import folded_terms
from search.execute.docsets import live_docs
from search.execute.rerank import _rewarded, _with_rewards, positional_rewards, typed_words
from search.index.derived import ensure_sidecars
from search.index.documents import stored_fields
from search.query.parse import parse_query
from search.query.weights import BODY_PAIR_CHARS, BODY_PAIR_TOKENS

# A dotted or separated word ("TP.HCM", "1,5") is one place in the positions and several words
# in the text's expression; a soft hyphen splits a word for the expression only.
_READ_OTHERWISE = re.compile(r"\w[.,]\w|\u00ad")


def comparable(fields: dict[str, Any]) -> bool:
    """Whether both ways must give this article the same rewards (see _READ_OTHERWISE)."""
    body, title = fields.get("body", ""), fields.get("title", "")
    if _READ_OTHERWISE.search(body) or _READ_OTHERWISE.search(title):
        return False
    return len(body) <= BODY_PAIR_CHARS and len(folded_terms(body)) <= BODY_PAIR_TOKENS


def cut_queries(searcher: Any, docs: list[int], seed: int, count: int) -> list[str]:
    """Titles' first 2-6 words, and 2-6 words side by side from a body, of these documents."""
    rng = random.Random(seed)
    texts = [(f.get("title", ""), f.get("body", "")) for f in map(searcher.stored_fields, docs)]
    queries = []
    while len(queries) < count:
        title, body = rng.choice(texts)
        words = folded_terms(title if len(queries) % 2 else body)
        size = rng.randint(2, 6)
        if len(words) >= size:
            start = 0 if len(queries) % 2 else rng.randrange(len(words) - size + 1)
            queries.append(" ".join(words[start : start + size]))
    return queries


@pytest.mark.parametrize("index_name", ["demo_index", "run_texts_index", "generated_index"])
def test_rewards_from_positions_equal_those_from_stored_text(copy_of: Any, index_name: str) -> None:
    """Every live article whose body is within both cuts (BODY_PAIR_CHARS, BODY_PAIR_TOKENS)
    and whose words the tokenizer and the text's expression read alike, for every query: the
    same score out of both."""
    index = copy_of(index_name)
    rewarded = opened = 0
    with index.searcher() as searcher:
        ensure_sidecars(index.storage.folder, searcher.reader(), min_docs=1)
        docs = sorted(live_docs(searcher))
        short = [d for d in docs if comparable(stored_fields(searcher, d))]
        assert len(short) >= 10
        for q in cut_queries(searcher, short, seed=3, count=40):
            typed = typed_words(searcher, parse_query(q))
            if typed is None:
                continue
            placed = positional_rewards(searcher, docs, typed)
            assert set(placed) == set(docs), q
            for d in short:
                from_text = _rewarded(stored_fields(searcher, d), 1.0, typed)
                assert _with_rewards(1.0, *placed[d]) == from_text, (q, d)
                rewarded += placed[d][0] > 0
                opened += placed[d][1]
    assert rewarded > 20 and opened > 5  # the queries found pairs and openings to reward


@pytest.mark.parametrize(
    ("q", "text", "pairs", "opens"),
    [
        ("tp hcm co them", 1, [("co", "them"), ("hcm", "co"), ("tp", "hcm")], False),
        ("nguoi dan tphcm co", 1, [("dan", "tphcm"), ("nguoi", "dan"), ("tphcm", "co")], True),
        ("tang 15 lan", 2, [("15", "lan"), ("tang", "15")], False),
        ("gia 50000 dong", 2, [("50000", "dong"), ("gia", "50000")], True),
        ("u23 viet nam", 7, [("u23", "viet"), ("viet", "nam")], False),
        ("nam thang dam", 7, [("nam", "thang"), ("thang", "dam")], False),
    ],
)
def test_dotted_words_are_read_where_they_stand(
    copy_of: Any, q: str, text: int, pairs: list[tuple[str, str]], opens: bool
) -> None:
    """The groups of a dotted or separated word stand where the word does: side by side with
    the words around it and with each other; a title opening with one opens with the word.
    (RUN_TEXTS[text] is an article's body, and another's title.)"""
    index = copy_of("run_texts_index")
    with index.searcher() as searcher:
        ensure_sidecars(index.storage.folder, searcher.reader(), min_docs=1)
        by_id = {f["id"]: d for d, f in searcher.iter_docs()}
        body, title = by_id[f"R{text}body"], by_id[f"R{text}title"]
        typed = typed_words(searcher, parse_query(q))
        assert typed is not None
        placed = positional_rewards(searcher, [body, title], typed)
        assert placed[body][0] == sum(typed.idf[p] for p in sorted(pairs)) > 0
        assert placed[title][1] is opens
