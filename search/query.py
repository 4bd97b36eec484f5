"""The query language: parse what a user typed, then build a Whoosh query from it.

Both steps are pure functions (no index needed), so `str(build_query(parse_query(q)))` is tested
against tables of expected strings. Running the query lives in `search.engine`.

Forgiving by design: plain words, "phrases", -excluded, OR, field:word for title, author,
source and category, word* (3+ letters) and word~N (N <= 2). Anything else is read as words;
only constructs that would be expensive (leading or inner wildcards) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as wq

from search.analysis import BIGRAM_SEPARATOR, exact_terms, fold_term, normalize_text
from search.errors import QueryTooExpensive
from search.ranking import (
    ACCENTED_FOLDED_WEIGHT,
    BIGRAM_WEIGHT,
    EXACT_BOOST,
    FIELD_WEIGHTS,
    RESTORED_WEIGHT,
    SLUG_WEIGHT,
)
from search.schema import BIGRAM_FIELDS, SLUG_FIELD

MAX_CLAUSES = 32
MIN_PREFIX_CHARS = 3
MAX_FUZZY_DISTANCE = 2
MIN_FUZZY_CHARS = 4
MAX_EXPANDING = 3  # words with * or ~ in one query
MAX_PHRASES = 6
SCOPES = ("title", "author", "source", "category")
LEVELS = ("all", "most", "any")

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "＂": '"'})
_CHUNK = re.compile(r'(?P<neg>-)?(?:(?P<scope>[A-Za-z]+):)?"(?P<phrase>[^"]*)"|(?P<bare>[^\s"]+)')
_FUZZY = re.compile(r"(?P<word>.+?)~(?P<dist>\d*)(?:/\d*)?")


@dataclass(frozen=True)
class Clause:
    """One thing a document must (or, excluded, must not) contain."""

    kind: str  # "terms" (each term required), "phrase", "prefix" or "fuzzy"
    terms: tuple[str, ...]  # exact-form terms
    scope: str | None = None  # None: title, summary and body
    distance: int = 0


@dataclass(frozen=True)
class ParsedQuery:
    """AND of groups, each group an OR of clauses; minus the excluded clauses."""

    groups: tuple[tuple[Clause, ...], ...] = ()
    excluded: tuple[Clause, ...] = ()
    words: tuple[str, ...] = field(default=())  # positive free-text terms in typed order

    @property
    def is_empty(self) -> bool:
        return not self.groups


def parse_query(text: str) -> ParsedQuery:
    """Read a user's query. Never raises, except QueryTooExpensive for costly wildcards."""
    text = normalize_text(text).translate(_QUOTES).replace("\x00", " ")
    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    words: list[str] = []
    join_next = False
    for match in _CHUNK.finditer(text):
        if len(groups) + len(excluded) >= MAX_CLAUSES:
            break
        if match.group("bare") in ("OR", "|") and groups:
            join_next = True
            continue
        negative, clauses = _read_chunk(match)
        if not clauses:
            continue
        if negative:
            excluded.extend(clauses)
            continue
        words.extend(t for c in clauses if c.scope is None for t in c.terms)
        if join_next:
            groups[-1].extend(clauses[:1])
            clauses = clauses[1:]
        groups.extend([c] for c in clauses)
        join_next = False
    parsed = ParsedQuery(tuple(tuple(g) for g in groups), tuple(excluded), tuple(words))
    _check_cost(parsed)
    return parsed


def _check_cost(parsed: ParsedQuery) -> None:
    """Refuse queries whose clauses must each scan a lexicon or positions: 32 fuzzy words took
    over 15 s on 156k articles (bench/hostile.py)."""
    clauses = [c for g in parsed.groups for c in g] + list(parsed.excluded)
    expanding = sum(1 for c in clauses if c.kind in ("fuzzy", "prefix"))
    phrases = sum(1 for c in clauses if c.kind == "phrase")
    if expanding > MAX_EXPANDING:
        raise QueryTooExpensive(
            f"at most {MAX_EXPANDING} words with * or ~ in one query (found {expanding})"
        )
    if phrases > MAX_PHRASES:
        raise QueryTooExpensive(f"at most {MAX_PHRASES} quoted phrases in one query")


def _read_chunk(match: re.Match[str]) -> tuple[bool, list[Clause]]:
    """The clauses of one chunk, and whether they are excluded."""
    if match.group("phrase") is not None:
        scope = _scope(match.group("scope"))
        terms = tuple(exact_terms(match.group("phrase")))
        if match.group("scope") and scope is None:
            terms = tuple(exact_terms(match.group("scope"))) + terms
        kind = "phrase" if len(terms) > 1 else "terms"
        return bool(match.group("neg")), [Clause(kind, terms, scope)] if terms else []
    bare = match.group("bare")
    negative = bare.startswith("-") and len(bare) > 1
    if negative:
        bare = bare[1:]
    elif bare.upper() == "NOT":
        return False, []
    scope_name, _, rest = bare.partition(":")
    scope = _scope(scope_name) if rest else None
    if scope is not None:
        bare = rest
    return negative, _word_clauses(bare, scope)


def fuzzy_distance_limit(terms: list[str]) -> int:
    """The largest edit distance a typed word may ask for: 0 (a plain word) below 4 letters,
    1 below 7, else 2. Two edits of a short word reach a large part of the lexicon ("nba~2"
    meant every short word starting with n: 5 s on 156k articles, bench/hostile.py)."""
    if len(terms) != 1 or len(terms[0]) < MIN_FUZZY_CHARS:
        return 0
    return 1 if len(terms[0]) < 7 else MAX_FUZZY_DISTANCE


def _scope(name: str | None) -> str | None:
    return name.lower() if name and name.lower() in SCOPES else None


def _word_clauses(chunk: str, scope: str | None) -> list[Clause]:
    """Plain words, a prefix (nguy*) or a fuzzy word (nguyen~1) from one bare chunk."""
    if "*" in chunk:
        return _prefix_clause(chunk, scope)
    fuzzy = _FUZZY.fullmatch(chunk)
    if fuzzy:
        terms = exact_terms(fuzzy.group("word"))
        distance = min(int(fuzzy.group("dist") or 1), fuzzy_distance_limit(terms))
        if distance > 0:
            return [Clause("fuzzy", (terms[0],), scope, distance)]
        chunk = fuzzy.group("word")
    terms = exact_terms(chunk)
    if scope in ("author", "source", "category") and len(terms) > 1:
        return [Clause("phrase", tuple(terms), scope)]
    return [Clause("terms", (term,), scope) for term in terms]


def _prefix_clause(chunk: str, scope: str | None) -> list[Clause]:
    stem = chunk.rstrip("*")
    if not stem.strip("*?"):
        return []  # a bare "*": matches everything, i.e. adds nothing
    terms = exact_terms(stem)
    if "*" in stem or len(terms) != 1 or not chunk.endswith("*") or not stem[:1].isalnum():
        raise QueryTooExpensive(f"“{chunk[:40]}”: a wildcard may only end a word, as in nguy*")
    if len(fold_term(terms[0])) < MIN_PREFIX_CHARS:
        raise QueryTooExpensive(
            f"“{chunk[:40]}”: a wildcard needs at least {MIN_PREFIX_CHARS} letters before it"
        )
    return [Clause("prefix", (terms[0],), scope)]


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

    Used on documents already known to match (search.plan ANDs it with their set): the sum
    of scores is the same, but Whoosh no longer intersects the long posting lists of common
    syllables on its own before it meets that short set (1.3 s -> ms for a 12-word title).
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
    what search.postings computes as sets (tests hold the two against each other)."""
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

    Title and summary have syllable-pair fields; bodies have none (see search.schema): pairs
    in bodies are rewarded after scoring, on the stored text (search.plan).
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
