"""Route dependencies for what an app keeps in `app.state` (its settings, its clients, the
image decode slots), typed: one accessor instead of a hand-written one per service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from services.common.images import DecodeSlots

T = TypeVar("T")


def app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency that answers `request.app.state.<name>` (set at startup) as a `kind`."""

    # async: FastAPI runs a plain `def` dependency in its threadpool, a thread hop per request.
    async def read(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    read.__name__ = f"app_state_{name}"
    return read


# Repairs' photos and notices' attachments share the one bound on concurrent image decodes.
DecodeSlotsDep = Annotated[DecodeSlots, Depends(app_state("decode_slots", DecodeSlots))]
