"""The facets are declared once (search.features.facets.FACETS): every view lists exactly them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from search.features.facets import FACET_NAMES, FACETS, VALUE_FACETS

ONE_YEAR = "from=2019&to=2019"  # one year chosen: the page shows the month facet too


def test_the_spec_the_api_and_the_sidebar_list_exactly_the_declared_facets(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/openapi.json").get_json()
    described = spec["components"]["schemas"]["SearchResult"]["properties"]["facets"]
    assert list(described["properties"]) == list(FACET_NAMES)
    assert list(client.get(f"/api/search?{ONE_YEAR}").get_json()["facets"]) == list(FACET_NAMES)
    page = client.get(f"/search?{ONE_YEAR}").get_data(as_text=True)
    sidebar = re.findall(r'<section class="facet facet-(\w+)">\s*<h3>([^<]*)</h3>', page)
    assert sidebar == [(facet.name, facet.label) for facet in FACETS]


def test_every_value_facet_is_a_documented_filter(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    for facet in VALUE_FACETS:
        assert params[facet.name]["schema"]["type"] == "array"
    assert ", ".join(FACET_NAMES) in params["facets"]["description"]


@pytest.mark.parametrize("name", FACET_NAMES)
def test_each_declared_facet_can_be_asked_for_alone(client: FlaskClient, name: str) -> None:
    facets = client.get(f"/api/search?{ONE_YEAR}&facets={name}").get_json()["facets"]
    assert list(facets) == [name] and facets[name]


def test_an_undeclared_facet_is_refused_naming_the_declared_ones(
    client: FlaskClient, assert_error: Any
) -> None:
    error = assert_error(client.get("/api/search?facets=tag"), 400, "invalid_facet")
    assert error["message"] == f"unknown facet 'tag'; facets are {', '.join(FACET_NAMES)}"
