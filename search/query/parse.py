"""Parsing what a user typed into a syntax tree of clauses: the query language, no weights.

The tree holds the typed words normalized (composed, lower case) with their accents; folding
them and weighting the fields is search.query.build's business. `str(parsed)` renders the
tree, e.g. `AND(word gia, word vang, NOT word bão)`: what the parser tests compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from search.analysis.chains import exact_terms, fold_term
from search.analysis.tokenizer import normalize_text
from search.errors import QueryTooExpensive

MAX_CLAUSES = 32
MIN_PREFIX_CHARS = 3
MAX_FUZZY_DISTANCE = 2
MIN_FUZZY_CHARS = 4
MAX_EXPANDING = 3  # words with * or ~ in one query
MAX_PHRASES = 6
SCOPES = ("title", "author", "source", "category")
LEVELS = ("all", "most", "any")  # how many groups must match: all, all but one, any

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

    def __str__(self) -> str:
        """The clause in the syntax-tree notation: its kind, then what it looks for, as in
        `word bão`, `phrase author:"minh hòa"`, `prefix nguy*`, `fuzzy nguyen~1`."""
        scope = f"{self.scope}:" if self.scope else ""
        text = " ".join(self.terms)
        if self.kind == "phrase":
            return f'phrase {scope}"{text}"'
        if self.kind == "prefix":
            return f"prefix {scope}{text}*"
        if self.kind == "fuzzy":
            return f"fuzzy {scope}{text}~{self.distance}"
        return f"{'word' if len(self.terms) == 1 else 'words'} {scope}{text}"


@dataclass(frozen=True)
class ParsedQuery:
    """AND of groups, each group an OR of clauses; minus the excluded clauses."""

    groups: tuple[tuple[Clause, ...], ...] = ()
    excluded: tuple[Clause, ...] = ()
    words: tuple[str, ...] = field(default=())  # positive free-text terms in typed order

    @property
    def is_empty(self) -> bool:
        return not self.groups

    def __str__(self) -> str:
        """The syntax tree, weight-free: `AND(OR(word bão, word lũ), word mưa, NOT word gió)`
        (`AND()` for an empty query, which matches every document)."""
        groups = [
            str(g[0]) if len(g) == 1 else f"OR({', '.join(map(str, g))})" for g in self.groups
        ]
        excluded = [f"NOT {clause}" for clause in self.excluded]
        return f"AND({', '.join(groups + excluded)})"


def parse_query(text: str) -> ParsedQuery:
    """Read a user's query. Never raises, except QueryTooExpensive for costly wildcards."""
    text = normalize_text(text).translate(_QUOTES).replace("\x00", " ")
    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    words: list[str] = []
    join_next = False
    room = MAX_CLAUSES  # counted on the clauses made, not the chunks: "a,b,c" makes three
    for match in _CHUNK.finditer(text):
        if room <= 0:
            break
        if match.group("bare") in ("OR", "|") and groups:
            join_next = True
            continue
        negative, clauses = _read_chunk(match)
        clauses = clauses[:room]
        if not clauses:
            continue
        room -= len(clauses)
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
    """Refuse queries whose clauses must each scan a lexicon or positions: a few dozen fuzzy
    words would each walk the whole lexicon."""
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
    would mean nearly every short word starting with n)."""
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
