"""No route of any app depends on a plain `def` function or is one: FastAPI runs those in its
threadpool, a thread hop per request (profiled on vote day: 4% of identity's CPU on logins,
issue 14). A dependency that only reads state or checks arguments is `async def`."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

APPS = ["services.identity.app", "services.repairs.app", "services.votes.app", "services.notices.app",
        "services.billing.app", "console.app"]


def api_routes(node: Any, seen: set[int] | None = None) -> Iterator[APIRoute]:
    """Every APIRoute below a router, through included routers (however FastAPI nests them)."""
    seen = seen if seen is not None else set()
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, APIRoute):
        yield node
        return
    for attr in ("routes", "router", "original_router", "app"):
        child = getattr(node, attr, None)
        for sub in child if isinstance(child, list) else [child] if child is not None else []:
            yield from api_routes(sub, seen)


def runs_in_threadpool(call: Any) -> bool:
    dunder_call = type(call).__call__ if not inspect.isroutine(call) else None  # a callable object
    return not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
                or inspect.iscoroutinefunction(dunder_call))


def sync_dependencies(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        if sub.call is not None and runs_in_threadpool(sub.call):
            yield f"{sub.call.__module__}.{sub.call.__qualname__}"
        yield from sync_dependencies(sub)


@pytest.mark.parametrize("module", APPS)
def test_no_route_runs_in_the_threadpool(module: str) -> None:
    app = importlib.import_module(module).create_app()
    routes = list(api_routes(app.router))
    assert len(routes) > 3  # the walk found the app's routes
    offenders = sorted({
        name for route in routes
        for name in [*sync_dependencies(route.dependant),
                     *([f"endpoint {route.path}"] if runs_in_threadpool(route.endpoint) else [])]
    })
    assert offenders == []
