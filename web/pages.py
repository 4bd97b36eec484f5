"""Reader pages: home, results, advanced search, article view and the Atom feed of a search.

Everything a page shows is decided here and in present.py / facets_view.py; templates only
place values. All state lives in GET parameters, so any view is a permalink.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from search.engine import SearchRequest
from search.errors import NotFound
from web.facets_view import active_filters, facet_groups, timeline
from web.feed import ATOM_MIMETYPE, atom_feed
from web.index import get_archive
from web.params import search_request, state_params
from web.permalinks import permalink_path, resolve_permalink
from web.present import (
    article_href,
    pagination,
    paragraphs,
    public_url,
    result_range,
    safe_href,
    sort_links,
    stable_uri,
    view_url,
    vn_datetime,
    vn_number,
)
from web.settings import current_settings

bp = Blueprint("pages", __name__)
ADVANCED_FIELDS = ("all", "any", "phrase", "none")
FILTER_FIELDS = ("category", "source", "author", "from", "to", "sort")


@bp.get("/")
def index() -> str:
    """The home page: one search box."""
    return render_template("home.html")


def _hit_view(hit: dict[str, Any], args: MultiDict[str, str]) -> dict[str, Any]:
    return {
        **hit,
        "href": article_href(hit),
        "local_href": permalink_path(hit),
        "date": vn_datetime(hit["published"]),
        "category_url": view_url("pages.search", args, category=[hit["category"]])
        if hit.get("category")
        else None,
    }


def results_context(
    result: dict[str, Any], search_req: SearchRequest, args: MultiDict[str, str]
) -> dict[str, Any]:
    """Everything search.html shows, with every link already built."""
    exports = {
        fmt: url_for("api.search", **state_params(args), format=fmt) for fmt in ("csv", "jsonl")
    }
    first, last = result_range(result)
    return {
        "q": search_req.q,
        "result": result,
        "total": vn_number(result["total"]),
        "seconds": f"{result['took_ms'] / 1000:.2f}".replace(".", ","),
        "start": first,
        "first": vn_number(first),
        "last": vn_number(last),
        "hits": [_hit_view(hit, args) for hit in result["hits"]],
        "facets": facet_groups(result, search_req, args),
        "filters": active_filters(search_req, args),
        "clear_url": view_url(
            "pages.search", args, from_=None, to=None, category=None, source=None, author=None
        ),
        "timeline": timeline(result, search_req, args),
        "pagination": pagination(result, args),
        "sorts": sort_links(search_req.sort, args, bool(search_req.q)),
        "suggestion_url": view_url("pages.search", args, q=result["suggestion"])
        if result.get("suggestion")
        else None,
        "exports": exports,
        "atom_url": url_for("pages.atom", **state_params(args, sort=None)),
    }


@bp.get("/search")
def search() -> str:
    """Results with facets, timeline, paging and sort; browsing when there are no words."""
    search_req = search_request(request.args)
    result = get_archive().search(search_req)
    return render_template("search.html", **results_context(result, search_req, request.args))


def advanced_query(args: MultiDict[str, str]) -> str:
    """The query string the advanced form's word fields stand for.

    >>> advanced_query(MultiDict({"all": "lũ", "any": "Huế Quảng", "none": "bão"}))
    'lũ Huế OR Quảng -bão'
    """

    def words(name: str) -> list[str]:
        text = (args.get(name) or "").replace('"', " ")
        return [w.lstrip("-") for w in text.split() if w.lstrip("-") and w.upper() != "OR"]

    parts = words("all")
    if words("any"):
        parts.append(" OR ".join(words("any")))
    phrase = " ".join(words("phrase"))
    if phrase:
        parts.append(f'"{phrase}"')
    parts.extend("-" + word for word in words("none"))
    return " ".join(parts)


@bp.get("/advanced")
def advanced() -> Any:
    """The advanced-search form; submitted, it redirects to the /search permalink."""
    args = request.args
    if any(name in args for name in ADVANCED_FIELDS):
        params: dict[str, Any] = {"q": advanced_query(args)}
        params.update({name: [v for v in args.getlist(name) if v] for name in FILTER_FIELDS})
        return redirect(url_for("pages.search", **{k: v for k, v in params.items() if v}), 303)
    browse_req = SearchRequest.from_params(per_page=1, settings=current_settings())
    browse = get_archive().search(browse_req)
    choices = {
        name: [entry["value"] for entry in browse["facets"].get(name) or []]
        for name in ("category", "source", "author")
    }
    return render_template("advanced.html", choices=choices)


@bp.get("/bai-viet/<path:permalink>")
def article(permalink: str) -> Any:
    """One article in full, with related coverage; any other spelling of its permalink (an
    outdated slug, a bare id) is redirected to the canonical one."""
    archive = get_archive()
    found, canonical = resolve_permalink(archive.article, permalink)
    if found is None:
        raise NotFound("Không tìm thấy bài viết này.", "article_not_found")
    if not canonical:
        return redirect(permalink_path(found), 301)
    related = [
        {**hit, "href": permalink_path(hit), "date": vn_datetime(hit.get("published"))}
        for hit in archive.related(found["id"], 5)
    ]
    return render_template(
        "article.html",
        article=found,
        canonical_url=public_url(permalink_path(found)),
        date=vn_datetime(found["published"]),
        paragraphs=paragraphs(found["body"]),
        original=safe_href(found["url"]),
        related=related,
    )


@bp.get("/article/<path:article_id>")
def article_by_id(article_id: str) -> Any:
    """The link by id alone (all links before permalinks; Atom entry ids, which must not
    change with a title): redirected to the article's permalink."""
    found = get_archive().article(article_id)
    if found is None:
        raise NotFound("Không tìm thấy bài viết này.", "article_not_found")
    return redirect(permalink_path(found), 301)


@bp.get("/search.atom")
def atom() -> Response:
    """An Atom feed of the search, newest first (subscribe to a topic)."""
    args = request.args
    search_req = replace(search_request(args, facets=False), sort="newest", page=1)
    result = get_archive().search(search_req)
    title = f"vnsearch: {search_req.q}" if search_req.q else "vnsearch: bài mới nhất"
    feed_path = url_for("pages.atom", **state_params(args, sort=None))
    body = atom_feed(
        result,
        title=title,
        feed_id=stable_uri(feed_path),
        self_url=public_url(feed_path),
        html_url=public_url(url_for("pages.search", **state_params(args, sort="newest"))),
        article_url=lambda hit: public_url(permalink_path(hit)),
        entry_id=lambda hit: stable_uri(url_for("pages.article_by_id", article_id=hit["id"])),
    )
    response = Response(body, mimetype=ATOM_MIMETYPE)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
