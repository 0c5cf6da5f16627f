"""Files a service keeps on disk (repairs' photos, notices' attachments), written off the
event loop under a name made from the row's id."""

from __future__ import annotations

import asyncio
from pathlib import Path


async def save_file(folder: str | Path, file_id: str, extension: str, data: bytes) -> str:
    """Writes `data` to `<folder>/<file_id>.<extension>` (making the folder if need be) in a
    thread; returns the file's name."""
    filename = f"{file_id}.{extension}"
    path = Path(folder)

    def write() -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / filename).write_bytes(data)

    await asyncio.to_thread(write)
    return filename
