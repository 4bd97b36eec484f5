"""The query layer: what a user typed becomes a syntax tree (parse), then weighted Whoosh
queries (build). Both steps are pure: no index is needed to test them."""

from search.query.build import build_query, restoration_bonus, scoring_query
from search.query.parse import LEVELS, Clause, ParsedQuery, parse_query

__all__ = [
    "LEVELS",
    "Clause",
    "ParsedQuery",
    "build_query",
    "parse_query",
    "restoration_bonus",
    "scoring_query",
]
