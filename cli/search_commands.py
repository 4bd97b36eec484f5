"""`vnsearch search`: the engine's search from the terminal."""

from __future__ import annotations

import json
from typing import Any

import click

from cli.options import index_dir_option, invocation_settings


@click.command("search", context_settings={"ignore_unknown_options": True})
@index_dir_option
@click.argument("query", nargs=-1, type=click.UNPROCESSED)
@click.option("--json", "as_json", is_flag=True, help="Print the API's result shape.")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=10, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance")
@click.option("--from", "date_from", help="First day, ISO or d/m/yyyy (Vietnam time).")
@click.option("--to", "date_to", help="Last day, ISO or d/m/yyyy (Vietnam time).")
@click.option("--category", multiple=True, help="Only this section (repeatable).")
@click.option("--source", multiple=True, help="Only this source (repeatable).")
@click.option("--author", multiple=True, help="Only this author (repeatable).")
@click.option("--explain", is_flag=True, help="Print the parsed query and do not run it.")
def search_command(
    index_dir: str,
    query: tuple[str, ...],
    as_json: bool,
    page: int,
    per_page: int,
    sort: str,
    date_from: str | None,
    date_to: str | None,
    category: tuple[str, ...],
    source: tuple[str, ...],
    author: tuple[str, ...],
    explain: bool,
) -> None:
    """Search the index from the terminal."""
    from search.engine import SearchRequest, build_request_query, run_search
    from search.errors import SearchError
    from search.index.store import IndexMissingError, open_index

    try:
        request = SearchRequest.from_params(
            q=" ".join(query),
            page=page,
            per_page=per_page,
            sort=sort,
            date_from=date_from,
            date_to=date_to,
            category=category,
            source=source,
            author=author,
            settings=invocation_settings(),
        )
        if explain:
            click.echo(str(build_request_query(request)))
            return
        result = run_search(open_index(index_dir), request)
    except (SearchError, IndexMissingError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    _print_hits(result)


def _print_hits(result: dict[str, Any]) -> None:
    from search.features.highlight import strip_marks

    shown = len(result["hits"])
    first = (result["page"] - 1) * result["per_page"] + 1
    click.echo(
        f"{result['total']:,} results ({result['took_ms']:.0f} ms)"
        + (f", showing {first}-{first + shown - 1}" if shown else "")
    )
    if result["suggestion"]:
        click.echo(f"Có phải bạn muốn tìm: {result['suggestion']}")
    for rank, hit in enumerate(result["hits"], first):
        date = (hit["published"] or "")[:16].replace("T", " ") or "không rõ ngày"
        click.echo()
        click.secho(f"{rank:>3}. {strip_marks(hit['title_highlight'], bold=True)}", bold=True)
        click.echo(
            f"     {date} · {hit['source'] or ''} · {hit['category'] or ''}"
            f" · score {hit['score']:.2f}"
        )
        click.echo(f"     {strip_marks(hit['snippet'])}")
        if hit["missing"]:
            click.echo(f"     không có: {', '.join(hit['missing'])}")
        if hit["url"]:
            click.echo(f"     {hit['url']}")
