"""miniprogram-api.yaml is what the code generates (`make openapi`), and it covers api.md."""

from __future__ import annotations

from pathlib import Path

import yaml

from scripts.openapi import render

ROOT = Path(__file__).resolve().parent.parent


def test_committed_contract_matches_the_code():
    committed = (ROOT / "miniprogram-api.yaml").read_text(encoding="utf-8")
    assert committed == render(), "miniprogram-api.yaml is stale: run `make openapi` and commit it"


def test_contract_is_openapi_31_with_the_error_shape_and_only_public_paths():
    doc = yaml.safe_load((ROOT / "miniprogram-api.yaml").read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["schemas"]["Error"]["properties"]["error"]["required"]) == {"code", "message"}
    for path in doc["paths"]:
        assert path.startswith("/api/v1/")
        assert not any(seg in path for seg in ("/events", "/internal", "/healthz", "/.well-known"))
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert len(ids) == len(set(ids))


def test_every_operation_documents_the_statuses_the_gateway_and_domain_errors_answer():
    """The fuzzer checks that each status it receives is documented: a crew member's 403 on
    `POST /communities` or a 409 on a closed vote's transition must be in the contract."""
    doc = yaml.safe_load((ROOT / "miniprogram-api.yaml").read_text(encoding="utf-8"))
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status in ("400", "401", "403", "404", "409", "413", "429", "503", "504"):
                response = op["responses"].get(status)
                assert response is not None, f"{method.upper()} {path} does not document {status}"
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
