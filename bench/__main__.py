"""`make bench`: runs every benchmark module in bench/ (each has a `main()` printing its
figures), one after the other, with its default arguments."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parent
    for module in sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")
    ):
        print(f"== bench.{module}", flush=True)
        saved, sys.argv = sys.argv, [f"bench.{module}"]
        try:
            importlib.import_module(f"bench.{module}").main()
        finally:
            sys.argv = saved


if __name__ == "__main__":
    main()
