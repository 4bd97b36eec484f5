"""Settings: declared once, resolved once (defaults < environment < app config), documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from cli import main
from search.engine import SearchRequest, run_search
from search.settings import SETTINGS, SettingError, Settings, resolve_settings
from web import settings_of

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(name="app_with")
def app_with_fixture(demo_index_dir: Path, make_app: Any) -> Iterator[Any]:
    """Build apps over the demo index with extra config; each is closed after the test."""
    apps: list[Flask] = []

    def build(**config: Any) -> Flask:
        apps.append(make_app(demo_index_dir, **config))
        return apps[-1]

    yield build
    for app in apps:
        app.extensions["vnsearch_index"].close()


@pytest.mark.parametrize(
    ("name", "env", "config", "expected"),
    [
        ("max_page_size", None, None, 100),
        ("max_page_size", "7", None, 7),
        ("max_page_size", "7", 5, 5),
        ("max_page_size", None, 5, 5),
        ("export_limit", "", None, 10_000),  # an empty variable counts as unset
        ("export_limit", "30", "40", 40),
        ("search_time_limit_ms", "0", None, 0),
        ("facet_size", "3", 4, 4),
    ],
)
def test_precedence_is_default_then_environment_then_app_config(
    app_with: Any,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    env: str | None,
    config: int | str | None,
    expected: int,
) -> None:
    if env is not None:
        monkeypatch.setenv("VNSEARCH_" + name.upper(), env)
    app = app_with(**({name.upper(): config} if config is not None else {}))
    assert getattr(settings_of(app), name) == expected
    assert app.config[name.upper()] == expected  # app.config mirrors what was resolved


def test_the_index_dir_from_the_app_config_wins_and_is_made_absolute(
    demo_index_dir: Path, monkeypatch: pytest.MonkeyPatch, make_app: Any
) -> None:
    monkeypatch.setenv("VNSEARCH_INDEX_DIR", "/nonexistent/env-index")
    monkeypatch.chdir(demo_index_dir.parent)
    app = make_app(demo_index_dir.name)
    try:
        assert settings_of(app).index_dir == str(demo_index_dir)
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        app.extensions["vnsearch_index"].close()


@pytest.mark.parametrize(
    ("config", "url", "status"),
    [
        ({"MAX_PAGE_SIZE": 5}, "/api/search?q=x&per_page=6", 400),
        ({"MAX_PAGE_SIZE": 5}, "/api/search?q=x&per_page=5", 200),
        ({"MAX_PAGE_SIZE": 5}, "/search?q=x&per_page=6", 400),
        ({"MAX_RESULT_WINDOW": 10}, "/api/search?q=x&page=3&per_page=5", 400),
        ({"MAX_RESULT_WINDOW": 10}, "/api/search?q=x&page=2&per_page=5", 200),
        ({"MAX_QUERY_CHARS": 3}, "/api/search?q=abcd", 400),
        ({"MAX_QUERY_CHARS": 3}, "/api/suggest?q=abcd", 400),
        ({"MAX_QUERY_CHARS": 3}, "/api/suggest?q=abc", 200),
    ],
)
def test_the_app_config_limits_what_requests_may_ask(
    app_with: Any, config: dict[str, int], url: str, status: int, assert_error: Any
) -> None:
    resp = app_with(**config).test_client().get(url)
    if status == 200 or not url.startswith("/api"):
        assert resp.status_code == status
    else:
        assert_error(resp, 400)


def test_the_app_config_reaches_the_search_itself(app_with: Any) -> None:
    """The page size, facet size and time budget a search runs with are the app's."""
    client = app_with(PAGE_SIZE=2, FACET_SIZE=1, SEARCH_TIME_LIMIT_MS=60_000).test_client()
    result = client.get("/api/search?q=da+nang").get_json()
    assert result["per_page"] == 2 and len(result["hits"]) == 2
    assert len(result["facets"]["category"]) == 1 and not result["partial"]
    late = app_with(SEARCH_TIME_LIMIT_MS=0).test_client().get("/api/search?q=da+nang")
    assert late.get_json()["partial"] is True


def test_the_openapi_description_quotes_the_apps_limits(app_with: Any) -> None:
    spec = app_with(MAX_PAGE_SIZE=5).test_client().get("/api/openapi.json").get_json()
    per_page = next(
        p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "per_page"
    )
    assert per_page["description"] == "Results per page, 1 to 5 (default 20)."


def test_the_engine_never_reads_the_environment(
    searcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VNSEARCH_MAX_PAGE_SIZE", "5")
    monkeypatch.setenv("VNSEARCH_SEARCH_TIME_LIMIT_MS", "0")
    request = SearchRequest.from_params(q="da nang", per_page=6)
    assert request.per_page == 6
    assert run_search(searcher, request)["partial"] is False


@pytest.mark.parametrize(
    ("env", "config", "message"),
    [
        ({"VNSEARCH_MAX_PAGE_SIZE": "abc"}, {}, "VNSEARCH_MAX_PAGE_SIZE must be an integer"),
        ({"VNSEARCH_PAGE_SIZE": "0"}, {}, "VNSEARCH_PAGE_SIZE must be at least 1, got 0"),
        ({}, {"EXPORT_LIMIT": "many"}, "EXPORT_LIMIT in the app config must be an integer"),
        ({}, {"FACET_SIZE": True}, "FACET_SIZE in the app config must be an integer"),
        ({}, {"INDEX_DIR": 3}, "INDEX_DIR in the app config must be a string"),
        (
            {"VNSEARCH_PUBLIC_BASE_URL": "tin.example.vn"},
            {},
            "VNSEARCH_PUBLIC_BASE_URL must be an http(s) URL without query or fragment",
        ),
        ({}, {"PUBLIC_BASE_URL": "https://x.vn/?a"}, "PUBLIC_BASE_URL in the app config must be"),
        ({"VNSEARCH_FACET_SIZE": "x"}, {"FACET_SIZE": 3}, None),  # the config wins
    ],
)
def test_a_bad_value_is_refused_naming_where_it_came_from(
    env: dict[str, str], config: dict[str, Any], message: str | None
) -> None:
    if message is None:
        assert resolve_settings(env, config).facet_size == 3
        return
    with pytest.raises(SettingError, match=re.escape(message)):
        resolve_settings(env, config)


def test_the_web_app_refuses_a_bad_environment_value(
    demo_index_dir: Path, monkeypatch: pytest.MonkeyPatch, make_app: Any
) -> None:
    monkeypatch.setenv("VNSEARCH_MAX_PAGE_SIZE", "abc")
    with pytest.raises(SettingError, match="VNSEARCH_MAX_PAGE_SIZE must be an integer, got 'abc'"):
        make_app(demo_index_dir)


@pytest.mark.parametrize("command", [["stats"], ["search", "x"], ["optimize"], ["check"]])
def test_the_cli_refuses_a_bad_environment_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """Every command resolves every setting first, even one it does not use."""
    monkeypatch.setenv("VNSEARCH_WRITER_TIMEOUT", "soon")
    args = [command[0], "--index-dir", str(tmp_path), *command[1:]]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "VNSEARCH_WRITER_TIMEOUT must be an integer, got 'soon'" in result.stderr
    assert "Traceback" not in result.output


def test_the_cli_search_runs_within_the_environments_limits(
    demo_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VNSEARCH_MAX_PAGE_SIZE", "5")
    args = ["search", "--index-dir", str(demo_index_dir), "--per-page", "6", "da", "nang"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "per_page must be at most 5" in result.stderr


def test_every_setting_is_in_the_readme_table() -> None:
    rows = re.findall(r"^\| `VNSEARCH_(\w+)` \| `([^`]*)` \| (.+) \|$", README.read_text(), re.M)
    documented = {name.lower(): (default, text) for name, default, text in rows}
    assert documented == {s.name: (str(s.default), s.help) for s in SETTINGS}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_help_says_what_and_why_without_measurements(setting: Any) -> None:
    figures = re.compile(r"~|\d\s*(?:s|ms|%|k|x|req/s)\b|\d[\d,.]*\s+articles|[<>]=?\s*\d")
    assert not figures.search(setting.help), setting.help


def test_settings_without_arguments_are_the_declared_defaults() -> None:
    assert resolve_settings({}) == Settings()
    assert {s.name: s.default for s in SETTINGS} == vars(Settings())
