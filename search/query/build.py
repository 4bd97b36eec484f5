"""Building the weighted Whoosh queries (matching and scoring) from a parsed query.

The query layer's one user of the ranking weights (search.query.weights): the parsed tree
holds none, so tuning a weight changes what is built here, never what is parsed.
"""

from __future__ import annotations

from whoosh import query as wq

from search.analysis.chains import fold_term
from search.analysis.tokenizer import BIGRAM_SEPARATOR
from search.index.schema import BIGRAM_FIELDS, SLUG_FIELD
from search.query.parse import Clause, ParsedQuery
from search.query.weights import (
    ACCENTED_FOLDED_WEIGHT,
    BIGRAM_WEIGHT,
    EXACT_BOOST,
    FIELD_WEIGHTS,
    RESTORED_WEIGHT,
    SLUG_WEIGHT,
)


def build_query(parsed: ParsedQuery, level: str = "all") -> wq.Query:
    """The Whoosh query for a parsed query.

    `level` says how many groups a document must match: "all", "most" (all but one, for 3 to
    8 groups) or "any"; the engine relaxes it when a stricter level finds nothing. Adjacent
    typed words are rewarded through the syllable-pair fields, never required.
    """
    if parsed.is_empty:
        required: wq.Query = wq.Every()
    else:
        units = [_group_query(group) for group in parsed.groups]
        required = _combine(units, level)
        bonus = bigram_bonus(parsed.words)
        if bonus is not None:
            required = wq.AndMaybe(required, bonus)
    if parsed.excluded:
        required = wq.AndNot(
            required, _or([_clause_query(c, ranked=False) for c in parsed.excluded])
        )
    return required


def restoration_bonus(words: tuple[str, ...], restored: list[str]) -> list[wq.Query]:
    """Reward the accented reading the index makes dominant for words typed without accents.

    "da nang" restored to "đà nẵng" lifts Đà Nẵng above the rarer "đa nang"; a guess, so it
    counts RESTORED_WEIGHT of a typed accent. `restored` aligns with `words`.
    """
    leaves: list[wq.Query] = []
    for typed, reading in zip(words, restored, strict=True):
        if reading != typed:
            for name, weight in FIELD_WEIGHTS.items():
                leaves.append(wq.Term(name, reading, boost=weight * EXACT_BOOST * RESTORED_WEIGHT))
    typed_pairs = zip(words, words[1:], strict=False)
    pairs = zip(typed_pairs, zip(restored, restored[1:], strict=False), strict=False)
    for typed_pair, reading_pair in pairs:
        if reading_pair != typed_pair:
            term = BIGRAM_SEPARATOR.join(reading_pair)
            for name in BIGRAM_FIELDS:
                boost = FIELD_WEIGHTS[name] * BIGRAM_WEIGHT * EXACT_BOOST * RESTORED_WEIGHT
                leaves.append(wq.Term(name + "_bigram", term, boost=boost))
    return leaves


def scoring_query(parsed: ParsedQuery, extra: list[wq.Query] | None = None) -> wq.Query:
    """Every scoring clause of `build_query` in one flat OR, nothing required.

    Used on documents already known to match (search.execute.ranking.score ANDs it with
    their set): the sum of scores is the same, but Whoosh no longer intersects the long
    posting lists of common syllables on its own before it meets that short set.
    """
    leaves: list[wq.Query] = []
    for group in parsed.groups:
        for clause in group:
            built = _clause_query(clause)
            leaves.extend(built.subqueries if isinstance(built, wq.Or) else [built])
    bonus = bigram_bonus(parsed.words)
    if bonus is not None:
        leaves.extend(bonus.subqueries)
    leaves.extend(extra or [])
    if not leaves:
        return wq.Every()
    flat = wq.Or(leaves)
    # Whoosh's automatic choice preloads every posting of every clause into arrays on small
    # segments (all 116 clauses of a 12-word query); the tree of unions only skips through.
    flat.matcher_type = wq.Or.DEFAULT_MATCHER
    return flat


def matching_part(query: wq.Query) -> wq.Query:
    """The part of a built query that decides which documents match, without the rewards:
    what search.execute.docsets computes as sets (tests hold the two against each other)."""
    if isinstance(query, wq.AndMaybe):
        return matching_part(query.a)
    if isinstance(query, wq.AndNot):
        return wq.AndNot(matching_part(query.a), query.b)
    return query


def _combine(units: list[wq.Query], level: str) -> wq.Query:
    if len(units) == 1:
        return units[0]
    if level == "any":
        return wq.Or(units)
    if level == "most" and 3 <= len(units) <= 8:
        return wq.Or([wq.And(units[:i] + units[i + 1 :]) for i in range(len(units))])
    return wq.And(units)


def _group_query(group: tuple[Clause, ...]) -> wq.Query:
    return _or([_clause_query(clause) for clause in group])


def _or(queries: list[wq.Query]) -> wq.Query:
    return queries[0] if len(queries) == 1 else wq.Or(queries)


def clause_fields(clause: Clause) -> tuple[str, ...]:
    """The folded fields a clause is matched in (its scope's fields)."""
    if clause.scope in ("author", "source", "category"):
        return (clause.scope + "_folded",)
    names = ("title",) if clause.scope == "title" else tuple(FIELD_WEIGHTS)
    fields = tuple(name + "_folded" for name in names)
    return (*fields, SLUG_FIELD) if _matches_slug(clause) else fields


def _matches_slug(clause: Clause) -> bool:
    """Unscoped words are also looked for in the slug's words; phrases are not (no positions)."""
    return clause.scope is None and clause.kind != "phrase"


def leaf_query(clause: Clause, fieldname: str) -> wq.Query:
    """The clause as a query on one folded field (unweighted)."""
    return _leaf(clause, fieldname, 1.0)


def _clause_query(clause: Clause, ranked: bool = True) -> wq.Query:
    """One clause over the fields of its scope; `ranked` adds the exact-accent fields."""
    if clause.scope in ("author", "source", "category"):
        return _leaf(clause, clause.scope + "_folded", 1.0)
    names = ("title",) if clause.scope == "title" else tuple(FIELD_WEIGHTS)
    if clause.kind == "terms" and len(clause.terms) > 1:
        return wq.And(
            [_clause_query(Clause("terms", (t,), clause.scope), ranked) for t in clause.terms]
        )
    subqueries: list[wq.Query] = []
    accented = any(term != fold_term(term) for term in clause.terms)
    for name in names:
        weight = FIELD_WEIGHTS[name]
        if ranked and clause.kind == "terms":
            subqueries.append(wq.Term(name, clause.terms[0], boost=weight * EXACT_BOOST))
        folded_weight = weight * ACCENTED_FOLDED_WEIGHT if accented and ranked else weight
        subqueries.append(_leaf(clause, name + "_folded", folded_weight))
    if _matches_slug(clause):
        slug_weight = SLUG_WEIGHT * ACCENTED_FOLDED_WEIGHT if accented and ranked else SLUG_WEIGHT
        subqueries.append(_leaf(clause, SLUG_FIELD, slug_weight))
    return _or(subqueries)


def _leaf(clause: Clause, fieldname: str, weight: float) -> wq.Query:
    folded = [fold_term(term) for term in clause.terms]
    if clause.kind == "phrase":
        return wq.Phrase(fieldname, folded, boost=weight)
    if clause.kind == "prefix":
        return wq.Prefix(fieldname, folded[0], boost=weight)
    if clause.kind == "fuzzy":
        return wq.FuzzyTerm(
            fieldname, folded[0], boost=weight, maxdist=clause.distance, prefixlength=1
        )
    if len(folded) > 1:
        return wq.And([wq.Term(fieldname, term, boost=weight) for term in folded])
    return wq.Term(fieldname, folded[0], boost=weight)


def bigram_bonus(words: tuple[str, ...]) -> wq.Query | None:
    """Reward for typed words found side by side: exact pairs above folded pairs.

    Title and summary have syllable-pair fields; bodies have none (see search.index.schema):
    pairs in bodies are rewarded after scoring, on the stored text (search.execute.rerank).
    """
    pairs = list(dict.fromkeys(zip(words, words[1:], strict=False)))
    if not pairs:
        return None
    subqueries: list[wq.Query] = []
    for first, second in pairs:
        exact = first + BIGRAM_SEPARATOR + second
        folded_pair = (fold_term(first), fold_term(second))
        folded = BIGRAM_SEPARATOR.join(folded_pair)
        for name in BIGRAM_FIELDS:
            boost = FIELD_WEIGHTS[name] * BIGRAM_WEIGHT
            if exact != folded:
                subqueries.append(wq.Term(name + "_bigram", exact, boost=boost * EXACT_BOOST))
            subqueries.append(wq.Term(name + "_bigram_folded", folded, boost=boost))
    return wq.Or(subqueries)
