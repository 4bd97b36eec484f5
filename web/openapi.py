"""The OpenAPI 3.1 description of the JSON API, generated from the parameter table in params.py,
the declared facets and the app's settings (the limits the descriptions quote).

Generated rather than hand-written so a new search parameter or facet cannot be served
undocumented.
"""

from __future__ import annotations

from typing import Any

from search.features.facets import FACET_NAMES
from search.settings import Settings
from web.params import SEARCH_PARAMS, Param

_STRING_OR_NULL = {"type": ["string", "null"]}
_HIT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "url": _STRING_OR_NULL,
        "title": {"type": "string"},
        "title_highlight": {"type": "string", "description": "HTML-escaped, matches in <mark>"},
        "summary": {"type": "string"},
        "snippet": {"type": "string", "description": "HTML-escaped, matches in <mark>"},
        "published": {**_STRING_OR_NULL, "format": "date-time"},
        "source": _STRING_OR_NULL,
        "category": _STRING_OR_NULL,
        "author": _STRING_OR_NULL,
        "score": {"type": "number"},
        "missing": {
            "type": "array",
            "items": {"type": "string"},
            "description": "typed words the article does not hold (a looser match)",
        },
    },
}
_FACET = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "value": {"type": "string"},
            "count": {"type": "integer"},
            "selected": {"type": "boolean"},
        },
    },
}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Hit": _HIT,
    "Facet": _FACET,
    "SearchResult": {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "took_ms": {"type": "number"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object",
                "properties": {
                    name: {"$ref": "#/components/schemas/Facet"} for name in FACET_NAMES
                },
                "additionalProperties": False,
            },
            "suggestion": _STRING_OR_NULL,
            "partial": {
                "type": "boolean",
                "description": (
                    "true when the search stopped at its time budget: the total is exact, the "
                    "order is not (unscored matches follow, newest first), facets are empty, "
                    "and hits past the budget list no missing words; on a sharded index, "
                    "also when shards did not answer (see missing_shards)"
                ),
            },
            "missing_shards": {
                "type": "array",
                "items": {"type": "integer"},
                "description": (
                    "sharded index only: the shards left out of this answer (a lost worker "
                    "or shard); the total and facets count the others"
                ),
            },
        },
    },
    "Related": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        },
    },
    "Suggestions": {
        "type": "object",
        "properties": {"suggestions": {"type": "array", "items": {"type": "string"}}},
    },
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string"},
            "documents": {"type": "integer"},
            "generation": {"type": "integer"},
        },
    },
    "Article": {
        "type": "object",
        "properties": {
            **{k: v for k, v in _HIT["properties"].items() if "highlight" not in k},
            "body": {"type": "string"},
        },
    },
}


def _parameter(param: Param, settings: Settings) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.type}
    if param.enum:
        schema["enum"] = list(param.enum)
    if param.repeat:
        schema = {"type": "array", "items": schema}
    spec: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "description": param.help.format_map(vars(settings)),
        "schema": schema,
    }
    if param.repeat:
        spec.update(style="form", explode=True)
    return spec


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": "#/components/responses/Error"} for status in statuses}


def _operation(summary: str, ok: dict[str, Any], params: list[Any], *errors: str) -> Any:
    responses = {"200": ok, "304": {"description": "Not modified (If-None-Match)"}}
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {**responses, **_errors(*errors)},
        }
    }


_ARTICLE_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "description": "At most this many (1-20).",
    "schema": {"type": "integer"},
}
_PREFIX = {
    "name": "q",
    "in": "query",
    "description": "What was typed so far.",
    "schema": {"type": "string"},
}


def _paths(settings: Settings) -> dict[str, Any]:
    search_ok = _json("SearchResult", "Results; csv or jsonl bodies when format asks for them")
    search_ok["content"]["text/csv"] = {"schema": {"type": "string"}}
    search_ok["content"]["application/x-ndjson"] = {"schema": {"type": "string"}}
    return {
        "/api/search": _operation(
            "Search articles",
            search_ok,
            [_parameter(p, settings) for p in SEARCH_PARAMS],
            "400",
            "503",
        ),
        "/api/articles/{id}": _operation(
            "One article with its body",
            _json("Article", "The article"),
            [_ARTICLE_ID],
            "404",
            "503",
        ),
        "/api/articles/{id}/related": _operation(
            "Articles about the same thing",
            _json("Related", "Related articles"),
            [_ARTICLE_ID, _LIMIT],
            "400",
            "404",
            "503",
        ),
        "/api/suggest": _operation(
            "Completions of a partly typed query",
            _json("Suggestions", "Suggestions"),
            [_PREFIX, _LIMIT],
            "400",
            "503",
        ),
        "/api/openapi.json": _operation("This document", {"description": "OpenAPI 3.1"}, []),
        "/healthz": _operation("Liveness and index status", _json("Health", "Readable"), [], "503"),
    }


def openapi_spec(server_url: str, settings: Settings) -> dict[str, Any]:
    """The document served at /api/openapi.json, quoting the limits of `settings`."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vnsearch API",
            "version": "1",
            "description": 'Search Vietnamese news. Errors are {"error": {"code", "message"}}.',
        },
        "servers": [{"url": server_url}],
        "paths": _paths(settings),
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": _json("Error", "An error, in the one error shape")},
        },
    }
