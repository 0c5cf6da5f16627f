"""R1: events keep flowing while the dispatcher and the receiver are SIGKILLed at random
moments and restarted; at the end every event is applied exactly once (count, content and
per-key order checked) and none is lost.

`python -m bench.chaos [--events 10000] [--kills 10]` (`make chaos`); the test suite runs the
small form (500 events, 3 kills) through `run()`. PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.events_harness import Harness

KEYS = 50


async def run(events: int, kills: int, workdir: Path, *, seed: int | None = None,
              emit_rate: float = 400.0) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    async with Harness(workdir) as h:
        h.start_receiver()
        h.start_dispatcher()
        await h.wait_receiver_up()
        batch = 20
        window = max(events / emit_rate, 2.0)
        killed: list[str] = []

        async def emitter() -> None:
            for start in range(0, events, batch):
                await h.emit_range(start, min(start + batch, events), KEYS)
                await asyncio.sleep(batch / emit_rate)

        async def killer() -> None:
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(0.2, 1.2 * window / kills))
                target = rng.choice(["dispatcher", "receiver", "both"])
                killed.append(target)
                if target in ("dispatcher", "both"):
                    h.kill(h.dispatcher)
                if target in ("receiver", "both"):
                    h.kill(h.receiver)
                await asyncio.sleep(rng.uniform(0.05, 0.6))
                if target in ("dispatcher", "both"):
                    h.start_dispatcher()
                if target in ("receiver", "both"):
                    h.start_receiver()

        await asyncio.gather(emitter(), killer())
        await h.wait_applied(events, timeout=60 + events / 50)
        await asyncio.sleep(1.0)  # anything still in flight would land as a duplicate now
        result = await h.check_exactly_once(events, KEYS)
        assert h.producer is not None
        async with h.producer.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM event_deliveries GROUP BY status")
            )
            result["producer_deliveries"] = {status: int(n) for status, n in rows}
            result["delivery_attempts"] = int(
                (await conn.execute(text("SELECT count(*) FROM event_delivery_attempts"))).scalar()
                or 0
            )
        result.update(
            events=events, kills=killed, seconds=round(time.monotonic() - started, 1),
            database="postgresql" if h.producer_url.startswith("postgresql") else "sqlite",
        )
        return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        result = asyncio.run(run(args.events, args.kills, Path(tmp), seed=args.seed))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    ok = (
        result["distinct_events"] == args.events
        and result["duplicates"] == 0
        and result["missing"] == 0
        and result["wrong_content"] == 0
        and result["keys_out_of_order"] == 0
    )
    print("R1:", "PASS" if ok else "FAIL", f"({args.events} events, {args.kills} SIGKILLs)")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
