"""Errors the search side reports to people: each has a machine code and an HTTP status."""

from __future__ import annotations


class SearchError(Exception):
    """A request we refuse, with a message a user can act on."""

    code = "bad_request"
    status = 400

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class QueryTooExpensive(SearchError):
    code = "query_too_expensive"


class InvalidParameter(SearchError):
    code = "invalid_parameter"


class NotFound(SearchError):
    code = "not_found"
    status = 404


class IndexUnavailable(SearchError):
    code = "index_unavailable"
    status = 503
