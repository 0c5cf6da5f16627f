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
