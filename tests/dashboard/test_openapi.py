"""The API against its own OpenAPI document: schemathesis generates requests from /openapi.json (valid
ones and, in negative mode, malformed ones) and checks every answer against the document: no 500,
only documented statuses, each body in its schema, and every error in the one shape
{"error": str, "status": int}."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

with warnings.catch_warnings():  # starlette's notice about httpx, the client it is built on
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from recommender.data.ids import parse_id
from recommender.serving.http import MAX_EXPLAIN

from .conftest import Site


def _over_the_explain_limit(case: Any) -> bool:
    """n > 100 with explain=true: valid for each parameter alone, a 400 together (the document says
    so in n's description: OpenAPI has no way to tie one parameter's range to another's value)."""
    query = case.query or {}
    explain, n = query.get("explain"), query.get("n")
    return explain in (True, "true") and isinstance(n, int) and n > MAX_EXPLAIN


def _not_a_kitsu_id(case: Any) -> bool:
    """A path id other than a Kitsu id (ASCII digits, 1 to 2**63 - 1): a string as the document has
    it (a model trained on a file takes its file's keys), and a 400 from a model trained on the
    store, as this one is."""
    ids = [str(v) for k, v in (case.path_parameters or {}).items() if k in ("user_id", "anime_id")]
    return any(parse_id(i) is None for i in ids)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_the_api_keeps_its_document(site: Site, mode: GenerationMode) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", site.app())

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=api.as_strategy(generation_mode=mode).filter(
        lambda case: mode is GenerationMode.NEGATIVE or not (_over_the_explain_limit(case) or _not_a_kitsu_id(case))))
    def answered_as_documented(case: Any) -> None:
        response = case.call()
        case.validate_response(response)  # every check schemathesis has, "not a server error" first
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error", "status"} and body["status"] == response.status_code
            assert isinstance(body["error"], str) and body["error"]

    answered_as_documented()


def test_the_document_describes_every_route_and_error(site: Site) -> None:
    with TestClient(site.app()) as client:
        document = client.get("/openapi.json").json()
        assert set(document["paths"]) == {"/users/{user_id}/recommendations", "/anime/{anime_id}/similar", "/health"}
        for path, operations in document["paths"].items():
            for operation in operations.values():
                responses = operation["responses"]
                assert "422" not in responses, path  # a malformed request is a 400 here
                for status, response in responses.items():
                    if status != "200":
                        ref = response["content"]["application/json"]["schema"]["$ref"]
                        assert ref.endswith("/ErrorBody"), (path, status)
        error = document["components"]["schemas"]["ErrorBody"]
        assert set(error["required"]) == {"error", "status"} and error["additionalProperties"] is False
        docs = client.get("/docs")
        assert docs.status_code == 200 and "<script" not in docs.text and "cdn" not in docs.text.lower()
        for path in document["paths"]:
            assert f"GET {path}" in docs.text
