"""`/healthz` (alive), `/readyz` (database reachable, migrations at head), `/metrics`."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from services.common.errors import error_body
from services.common.migrations import current_revisions

log = logging.getLogger("health")
router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.state.settings.service_name}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await current_revisions(state.engine, state.settings.service_name)
        checks["migrations"] = "ok" if current == state.migration_heads else "behind"
    except Exception as exc:
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        checks.setdefault("database", "unreachable")
    ok = all(v == "ok" for v in checks.values())
    if ok:
        return JSONResponse({"status": "ok", "checks": checks})
    return JSONResponse(
        {**error_body("not_ready", "服务尚未就绪", checks), "status": "not_ready", "checks": checks},
        status_code=503,
    )


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
