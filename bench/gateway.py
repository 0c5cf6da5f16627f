"""Gateway overhead: the same authenticated read (identity's `GET /communities/{cid}`: token
check + one SQLite read) straight to identity and through the gateway, side by side with wrk
at 64 connections. Target: gateway ≥ 0.85 × direct.

`python -m bench gateway` (env: BENCH_SECONDS, default 10; BENCH_CONNECTIONS, default 64;
BENCH_ROUNDS, default 2: direct and gateway alternate, the best of each is kept).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import httpx

from bench.support import WrkResult, ensure_wrk, wrk
from scripts.stack import SERVICES, Stack, running

TARGET = 0.85
UNLIMITED = str(10**9)


def _line(label: str, r: WrkResult) -> str:
    return (
        f"{label:<8} {r.requests_per_second:>9.0f} req/s   p50 {r.p50_ms:6.2f} ms   "
        f"p99 {r.p99_ms:6.2f} ms   non-2xx {r.non_2xx}   socket errors {r.errors}"
    )


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "64"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
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
            cid = created.json()["id"]
            path = f"/communities/{cid}"
            direct_url = stack.url("identity") + path
            gateway_url = stack.url("gateway") + "/api/v1" + path
            for url in (direct_url, gateway_url):
                check = httpx.get(url, headers=headers)
                if check.status_code != 200:
                    print(f"{url} answered {check.status_code}: {check.text}")
                    return 1
            print(f"read: GET {path} (platform admin token), {connections} connections, "
                  f"{seconds:.0f} s per run, {rounds} round(s); warming up", flush=True)
            wrk(direct_url, headers=headers, connections=connections, seconds=2)
            wrk(gateway_url, headers=headers, connections=connections, seconds=2)
            best: dict[str, WrkResult] = {}
            for i in range(rounds):
                for label, url in (("direct", direct_url), ("gateway", gateway_url)):
                    result = wrk(url, headers=headers, connections=connections, seconds=seconds)
                    print(f"round {i + 1}: {_line(label, result)}", flush=True)
                    if label not in best or result.requests_per_second > best[label].requests_per_second:
                        best[label] = result
    ratio = best["gateway"].requests_per_second / best["direct"].requests_per_second
    print(_line("direct", best["direct"]))
    print(_line("gateway", best["gateway"]))
    verdict = "meets" if ratio >= TARGET else "BELOW"
    print(f"ratio gateway/direct = {ratio:.2f} ({verdict} the {TARGET} target)")
    bad = best["gateway"].non_2xx + best["direct"].non_2xx
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
