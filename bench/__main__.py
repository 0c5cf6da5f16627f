"""`python -m bench [name ...]` (`make bench`): runs the benchmarks listed in BENCHES, or only
the named ones (`python -m bench gateway`); `python -m bench <name> --option ...` passes the
options to that one benchmark's `main(argv)`.

A benchmark is a module `bench/<name>.py` with `main()` (or `main(argv)`) returning a falsy
value on success; add its name to BENCHES. Helper modules (receivers, harnesses) and
long runs that have their own make target (chaos) are not listed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# name -> what it measures. Modules not (yet) in this checkout are skipped.
# Auto-discovery would also start helper modules that have a main() (event receivers run
# until killed; chaos has its own `make chaos`), hence a list.
BENCHES = {
    "gateway": "gateway overhead: the same authenticated read direct and through the gateway",
    "identity_import": "a 20,000-room roster import through identity",
    "events": "event delivery throughput and latency",
    "repairs_stats": "repair statistics over 100,000 tickets",
    "crew_queue": "a crew member's queue (200 open tickets) in a 20,000-room community",
    "votes_tally": "art. 278 tally of a 20,000-room electorate with 15,000 ballots",
    "notices_publish": "publishing a notice to 20,000 households",
    "staff_alerts": "a repair submission to the desk's inbox entry and WeChat push",
    "home": "the owner's home screen in one call: 20,000 rooms, 100 notices, through the gateway",
    "billing": "a month's bills for 20,000 rooms, GET /me/bills, the collection rate over 12 periods",
    "vote_day": "vote day (issue 14): reads vs a minimal app, login/binding rates, replica lag, RSS",
}


def available() -> list[str]:
    return [name for name in BENCHES if importlib.util.find_spec(f"bench.{name}") is not None]


def run(name: str, options: list[str] | None = None) -> bool:
    module = importlib.import_module(f"bench.{name}")
    print(f"== bench {name}: {BENCHES[name]}", flush=True)
    takes_argv = bool(inspect.signature(module.main).parameters)
    if options and not takes_argv:
        print(f"{name} takes no options")
        return False
    result = module.main(options or []) if takes_argv else module.main()
    return not result


def main(argv: list[str]) -> int:
    # `python -m bench vote_day --pg`: options after one benchmark's name are its own.
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    argv, options = argv[:first_option], argv[first_option:]
    if options and len(argv) != 1:
        print("options go with exactly one benchmark: python -m bench <name> [options]")
        return 2
    if options:
        return 0 if run(argv[0], options) else 1
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    failed = [name for name in names if not run(name)]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
