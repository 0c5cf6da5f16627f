"""P6: event delivery throughput and change-to-handled latency on loopback, with the default
dispatcher settings (dispatcher as its own process on identity's database, receiver under
uvicorn on repairs' database, each event applied in the receiver's transaction).

- throughput: a backlog of `--backlog` events emitted at once, deliveries/s until all handled;
- latency: `--steady` events emitted at `--rate`/s; median (and p95) from the producer's
  commit-time timestamp to the handler running in the consumer.

`python -m bench.events` prints both; targets ≥ 500 deliveries/s, median ≤ 500 ms.
PostgreSQL when TEST_DATABASE_URL is set, else SQLite files.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.events_harness import Harness

KEYS = 500


async def run(backlog: int, steady: int, rate: float, workdir: Path) -> dict[str, Any]:
    async with Harness(workdir, retry_schedule="", lease_seconds=30.0, timeout_seconds=3.0) as h:
        h.start_receiver()
        h.start_dispatcher()
        await h.wait_receiver_up()
        await asyncio.sleep(1.0)  # let the dispatcher process come up
        # Throughput: a backlog drained as fast as the dispatcher goes.
        cpu0 = (h.cpu_seconds(h.dispatcher), h.cpu_seconds(h.receiver))
        t0 = time.monotonic()
        for start in range(0, backlog, 500):
            await h.emit_range(start, min(start + 500, backlog), KEYS)
        t1 = await h.wait_applied(backlog, timeout=120)
        throughput = backlog / (t1 - t0)
        cpu_dispatcher = (h.cpu_seconds(h.dispatcher) - cpu0[0]) / backlog * 1000
        cpu_receiver = (h.cpu_seconds(h.receiver) - cpu0[1]) / backlog * 1000
        # Latency: a steady stream.
        batch = max(1, int(rate / 20))
        for start in range(backlog, backlog + steady, batch):
            await h.emit_range(start, min(start + batch, backlog + steady), KEYS)
            await asyncio.sleep(batch / rate)
        await h.wait_applied(backlog + steady, timeout=120)
        check = await h.check_exactly_once(backlog + steady, KEYS)
        latencies = sorted(await h.latencies_ms())
        steady_lat = await _steady_latencies(h, backlog)
        return {
            "database": "postgresql" if h.producer_url.startswith("postgresql") else "sqlite",
            "backlog_events": backlog,
            "deliveries_per_second": round(throughput, 1),
            "cpu_ms_per_delivery_dispatcher": round(cpu_dispatcher, 2),
            "cpu_ms_per_delivery_receiver": round(cpu_receiver, 2),
            "steady_events": steady,
            "steady_rate_per_second": rate,
            "median_change_to_handled_ms": round(statistics.median(steady_lat), 1),
            "p95_change_to_handled_ms": round(steady_lat[int(len(steady_lat) * 0.95) - 1], 1),
            "all_events_median_ms": round(statistics.median(latencies), 1),
            "exactly_once": check["duplicates"] == 0 and check["missing"] == 0,
        }


async def _steady_latencies(h: Harness, first_n: int) -> list[float]:
    from sqlalchemy import text

    assert h.consumer is not None
    async with h.consumer.connect() as conn:
        rows = await conn.execute(
            text("SELECT latency_ms FROM bench_applied WHERE n >= :n ORDER BY latency_ms"),
            {"n": first_n},
        )
        return [float(r[0]) for r in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="P6: event delivery throughput and latency")
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--steady", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        r = asyncio.run(run(args.backlog, args.steady, args.rate, Path(tmp)))
    print(
        f"P6 events ({r['database']}): {r['deliveries_per_second']} deliveries/s "
        f"(backlog of {r['backlog_events']}; target >= 500); "
        f"median change-to-handled {r['median_change_to_handled_ms']} ms, "
        f"p95 {r['p95_change_to_handled_ms']} ms at {r['steady_rate_per_second']}/s "
        f"(target median <= 500 ms); exactly once: {r['exactly_once']}"
    )
    print(
        f"    CPU per delivery: dispatcher {r['cpu_ms_per_delivery_dispatcher']} ms, "
        f"receiver {r['cpu_ms_per_delivery_receiver']} ms"
    )
    ok = (
        r["deliveries_per_second"] >= 500
        and r["median_change_to_handled_ms"] <= 500
        and r["exactly_once"]
    )
    print("P6:", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
