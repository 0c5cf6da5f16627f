"""Generates miniprogram-api.yaml: the public API as the Mini Program sees it through the
gateway (`/api/v1` + each service's public routes), merged into one OpenAPI 3.1 document.

`make openapi` writes it; tests/test_openapi_contract.py fails when the committed file drifts.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVICES = ("identity", "repairs", "votes", "notices", "billing")
PREFIX = "/api/v1"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine code"},
                "message": {"type": "string", "description": "Simplified Chinese, shown as is"},
                "details": {"description": "Structured details, e.g. field errors"},
            },
        }
    },
}


# Statuses any operation may answer, declared on each so a client (and the fuzzer, which
# checks that every status it receives is documented) knows them: the gateway's own refusals
# (400 duplicate headers, 401, 404, 413 body too large, 429, 503/504 service down or slow)
# and the services' domain errors, whose 403 and 409 any use case can raise (FastAPI knows
# only the success status of a route).
COMMON_RESPONSES = (
    ("400", "请求无法处理（如分页游标无效、请求体无法解析）"),
    ("401", "未登录或凭证无效"),
    ("403", "没有权限执行此操作"),
    ("404", "资源不存在"),
    ("409", "操作与当前状态冲突"),
    ("413", "请求内容过大"),
    ("429", "请求过于频繁"),
    ("503", "服务暂时不可用"),
    ("504", "服务响应超时"),
)


def _service_app(service: str) -> Any:
    module = importlib.import_module(f"services.{service}.app")
    settings_mod = importlib.import_module(f"services.{service}.settings")
    # A throwaway database URL: building the schema touches no database.
    settings = settings_mod.Settings(database_url="sqlite+aiosqlite://", jwks_json='{"keys": []}')
    return module.create_app(settings)


def _service_openapi(service: str) -> dict[str, Any]:
    doc: dict[str, Any] = _service_app(service).openapi()
    return doc


def _home_operation(schemas: dict[str, Any]) -> dict[str, Any]:
    """`GET /me/home`, which the gateway assembles (gateway/home.py) from each service's
    `/internal/home` part: its schema is the parts' response models side by side."""
    from gateway import home

    properties: dict[str, Any] = {}
    required: list[str] = []
    for service in home.PARTS:
        # Each service's part is its `home` module's internal route.
        internal = importlib.import_module(f"services.{service}.home").internal
        route = next(r for r in internal.routes if getattr(r, "path", None) == home.PART_PATH.decode())
        part = route.response_model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, schema in part.pop("$defs", {}).items():
            schemas.setdefault(name, schema)
        properties.update(part["properties"])
        # Only identity's part is always there: another service's is left out when it is down.
        if service == home.PARTS[0]:
            required += part.get("required", [])
    properties["unavailable"] = {
        "type": "array",
        "items": {"type": "string", "enum": list(home.PARTS)},
        "description": "Services whose part is missing because they are down (暂不可用)",
    }
    schemas["HomeOut"] = {
        "type": "object",
        "title": "HomeOut",
        "properties": properties,
        "required": [*required, "unavailable"],
    }
    operation: dict[str, Any] = {
        "tags": ["me"],
        "summary": "Home screen",
        "description": "The caller's rooms and binding statuses in the community, unread inbox counts, "
        "the latest pinned/emergency/unread notices (3), open tickets, open votes not yet voted on "
        "and upcoming activities, in one call (assembled by the gateway). 404 when the caller is "
        "neither a member nor staff of the community.",
        "operationId": "gateway_home",
        "x-service": "gateway",
        "parameters": [
            {"name": "community_id", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 36}}
        ],
        "responses": {
            "200": {"description": "Successful Response",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HomeOut"}}}},
            "422": {"description": "请求参数不正确",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    }
    for status, label in COMMON_RESPONSES:
        operation["responses"].setdefault(
            status,
            {"description": label,
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        )
    return {"get": operation}


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                name = value.rsplit("/", 1)[-1]
                out[key] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def _is_public(path: str) -> bool:
    """What the gateway routes: internal paths never appear in the public contract."""
    try:
        routing = importlib.import_module("gateway.routing")
    except ModuleNotFoundError:
        routing = None
    if routing is not None and hasattr(routing, "is_public_path"):
        return bool(routing.is_public_path(path))
    internal = ("/events", "/internal", "/healthz", "/readyz", "/metrics", "/.well-known")
    return not path.startswith(internal)


def build() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for service in SERVICES:
        doc = _service_openapi(service)
        own = doc.get("components", {}).get("schemas", {})
        renames = {}
        for name, schema in own.items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{service.capitalize()}{name}"
        for name, schema in own.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, item in sorted(doc.get("paths", {}).items()):
            if not _is_public(path):
                continue
            item = _rename_refs(copy.deepcopy(item), renames)
            for op in item.values():
                if isinstance(op, dict):
                    op.setdefault("tags", [service])
                    op["x-service"] = service
                    if "operationId" in op:
                        op["operationId"] = f"{service}_{op['operationId']}"
                    op.setdefault("responses", {})
                    for status, label in COMMON_RESPONSES:
                        op["responses"].setdefault(
                            status,
                            {
                                "description": label,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                            },
                        )
                    # FastAPI's default 422 schema is not our shape: point at ours.
                    if "422" in op["responses"]:
                        op["responses"]["422"] = {
                            "description": "请求参数不正确",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        }
            paths[PREFIX + path] = item
    paths[PREFIX + "/me/home"] = _home_operation(schemas)
    for unused in ("HTTPValidationError", "ValidationError"):
        referenced = json.dumps(paths).count(f"/{unused}\"")
        if not referenced:
            schemas.pop(unused, None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "小区物业小程序 API",
            "version": "1.0.0",
            "description": "The public API of the Mini Program and the manager console, served by the gateway. "
            "Errors: {\"error\": {\"code\", \"message\", \"details\"}}; lists: ?limit=&cursor= → next_cursor.",
        },
        "servers": [{"url": "http://127.0.0.1:8000"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    return yaml.safe_dump(build(), allow_unicode=True, sort_keys=False, width=100)


if __name__ == "__main__":
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="openapi-"))
    sys.stdout.write(render())
