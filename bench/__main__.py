"""`python -m bench` (`make bench`): runs every benchmark module's `main()` in turn."""

from __future__ import annotations

import importlib
import pkgutil

import bench


def run_all() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__)):
        if module.startswith("_"):
            continue
        entry = getattr(importlib.import_module(f"bench.{module}"), "main", None)
        if callable(entry):
            print(f"== bench.{module}")
            entry()


if __name__ == "__main__":
    run_all()
