"""Gateway overhead: the same authenticated read (identity's `GET /communities/{cid}`: token
check + one database read) straight to identity and through the gateway, side by side with
wrk at 64 connections. Target: gateway ≥ 0.85 × direct.

Direct and gateway runs alternate, so a change in background load hits both; the figure is
the median of the per-round ratios. It also prints the CPU each process spent per request
(from /proc), which background load disturbs far less than throughput.

`python -m bench gateway`; env: BENCH_SECONDS (6), BENCH_CONNECTIONS (64), BENCH_ROUNDS (5),
BENCH_REDIS_URL (rate-limit buckets in that Redis instead of in memory).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from bench.support import WrkResult, ensure_wrk, wrk
from scripts.stack import SERVICES, Stack, running

TARGET = 0.85
UNLIMITED = str(10**9)
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _measure(stack: Stack, url: str, headers: dict[str, str], connections: int, seconds: float) -> tuple[WrkResult, dict[str, float]]:
    pids = {name: stack.processes[name].pid for name in ("identity", "gateway")}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result = wrk(url, headers=headers, connections=connections, seconds=seconds)
    served = max(1.0, result.requests_per_second * seconds)
    per_request = {name: (cpu_seconds(pid) - before[name]) / served * 1e6 for name, pid in pids.items()}
    return result, per_request


def _line(label: str, r: WrkResult, cpu: dict[str, float]) -> str:
    return (
        f"{label:<8} {r.requests_per_second:>8.0f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:7.2f} ms  "
        f"non-2xx {r.non_2xx}  cpu/req: identity {cpu['identity']:5.0f} us, gateway {cpu['gateway']:4.0f} us"
    )


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "6"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "64"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        stack = Stack.on_free_ports(
            Path(tmp),
            names=(*SERVICES, "gateway"),
            env={
                # The limiter still runs on every request; it just never says no here.
                "GATEWAY_RATE_ACCOUNT_PER_SECOND": UNLIMITED,
                "GATEWAY_RATE_ACCOUNT_BURST": UNLIMITED,
                "GATEWAY_RATE_IP_PER_SECOND": UNLIMITED,
                "GATEWAY_RATE_IP_BURST": UNLIMITED,
                "REDIS_URL": os.environ.get("BENCH_REDIS_URL", ""),
            },
        )
        with running(stack):
            admin = stack.issue_token("bench-admin", platform_admin=True, ttl_seconds=3600)
            headers = {"Authorization": f"Bearer {admin}"}
            created = httpx.post(
                stack.url("identity") + "/communities", json={"name": "压测小区"}, headers=headers
            )
            created.raise_for_status()
            path = f"/communities/{created.json()['id']}"
            urls = {
                "direct": stack.url("identity") + path,
                "gateway": stack.url("gateway") + "/api/v1" + path,
            }
            for url in urls.values():
                check = httpx.get(url, headers=headers)
                if check.status_code != 200:
                    print(f"{url} answered {check.status_code}: {check.text}")
                    return 1
            print(
                f"read: GET {path} (platform admin token) on SQLite; wrk {connections} connections, "
                f"{seconds:.0f} s per run, {rounds} rounds; warming up",
                flush=True,
            )
            for url in urls.values():
                wrk(url, headers=headers, connections=connections, seconds=2)
            ratios: list[float] = []
            cpu_costs: list[tuple[float, float]] = []  # (identity, gateway) us per request
            bad = 0
            for i in range(rounds):
                figures = {}
                for label, url in urls.items():
                    result, cpu = _measure(stack, url, headers, connections, seconds)
                    figures[label] = result
                    bad += result.non_2xx
                    if label == "gateway":
                        cpu_costs.append((cpu["identity"], cpu["gateway"]))
                    print(f"round {i + 1}: {_line(label, result, cpu)}", flush=True)
                ratios.append(figures["gateway"].requests_per_second / figures["direct"].requests_per_second)
                print(f"round {i + 1}: ratio {ratios[-1]:.2f}", flush=True)
    ratio = statistics.median(ratios)
    service_cpu = statistics.median(c[0] for c in cpu_costs)
    gateway_cpu = statistics.median(c[1] for c in cpu_costs)
    # If every core were busy, each request would cost service + gateway CPU instead of the
    # service's alone: the ratio the hop allows at worst, whatever the background load.
    print(
        f"cpu per request: identity {service_cpu:.0f} us, gateway {gateway_cpu:.0f} us "
        f"-> ratio if the cores were saturated {service_cpu / (service_cpu + gateway_cpu):.2f}"
    )
    verdict = "meets" if ratio >= TARGET else "BELOW"
    print(f"ratio gateway/direct = {ratio:.2f} (median of {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"{verdict} the {TARGET} target)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
