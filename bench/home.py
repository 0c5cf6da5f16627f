"""Benchmark: the owner's home screen in one call (`GET /me/home`) through the gateway, on a
community of 20,000 rooms with 100 published notices, an open vote over the whole community
and an open repair ticket; every process real, on loopback (scripts/stack.py), SQLite.

The owner is verified on a room of it, with a ticket under way and the vote to cast, so each
part has something to assemble. The figure is
the latency of sequential calls on one keep-alive connection (what one phone sees), then of
8 concurrent callers. Target: median ≤ 100 ms.

`python -m bench home`; env: BENCH_HOME_CALLS (200), BENCH_HOME_ROOMS (20000),
BENCH_HOME_NOTICES (100).
"""

from __future__ import annotations

import concurrent.futures
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.identity_import import roster_csv
from scripts.stack import Stack, running
from tests.e2e.seed import eventually, png

TARGET_MS = 100.0
SETUP_TIMEOUT_S = 900.0
UNLIMITED = str(10**9)


def _ok(r: httpx.Response, status: int = 200) -> Any:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    return r.json()


def _wait_for(probe: Any, what: str) -> Any:
    return eventually(probe, what, timeout=SETUP_TIMEOUT_S)


def _setup(stack: Stack, gw: httpx.Client, rooms: int, notices: int) -> tuple[str, dict[str, str]]:
    admin = {"Authorization": "Bearer " + stack.issue_token("bench-admin", platform_admin=True)}
    cid = _ok(gw.post("/api/v1/communities", json={"name": "基准小区", "city": "杭州市"}, headers=admin), 201)["id"]
    t = time.perf_counter()
    _ok(gw.post(f"/api/v1/communities/{cid}/roster", headers=admin,
                files={"file": ("roster.csv", roster_csv(rooms), "text/csv")}))
    print(f"setup: {rooms} rooms imported in {time.perf_counter() - t:.1f} s", flush=True)
    staff = {"username": "benchmgr", "password": "bench-pass-123", "name": "经理", "phone": "13700000000",
             "role": "manager", "department": None}
    _ok(gw.post(f"/api/v1/communities/{cid}/staff", json=staff, headers=admin), 201)
    mgr_login = _ok(gw.post("/api/v1/auth/staff-login", json={"username": "benchmgr", "password": "bench-pass-123"}))
    manager = {"Authorization": "Bearer " + mgr_login["access_token"]}
    _ok(gw.put("/api/v1/notices/settings", params={"community_id": cid}, json={"single_manager": True},
               headers=admin))

    # The owner of the roster's first room (业主0, 13900000000), verified by WeChat's phone.
    with httpx.Client(base_url=stack.url("wechat"), trust_env=False) as wechat:
        code = wechat.post("/_standin/login-codes", json={"openid": "o-bench-owner"}).json()["code"]
        login = _ok(gw.post("/api/v1/auth/wechat-login", json={"code": code}))
        owner = {"Authorization": "Bearer " + login["access_token"]}
        phone_code = wechat.post("/_standin/phone-codes", json={"phone": "13900000000"}).json()["code"]
        _ok(gw.post("/api/v1/me/phone", json={"code": phone_code}, headers=owner))
    buildings = _ok(gw.get(f"/api/v1/communities/{cid}/buildings", params={"rooms": "false"}, headers=owner))
    first = _ok(gw.get(f"/api/v1/communities/{cid}/buildings/{buildings['buildings'][0]['id']}", headers=owner))
    room = first["units"][0]["rooms"][0]["id"]
    bound = _ok(gw.post("/api/v1/me/bindings", json={"room_id": room, "relation": "owner"}, headers=owner), 201)
    assert bound["status"] == "verified", bound
    # Notices and votes address the households their replicas know when a notice is published
    # or a vote opens; the binding reaches them as an event. Wait until notices has it (its
    # welcome entry is in the owner's inbox) so the 100 notices below reach this owner.
    _wait_for(lambda: _ok(gw.get("/api/v1/inbox/unread-count", headers=owner))
          .get("by_kind", {}).get("binding_verified"), "notices to learn the binding")

    closes = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    vote = _ok(gw.post("/api/v1/votes", headers=manager, json={
        "community_id": cid, "kind": "vote", "title": "更换电梯", "closes_at": closes,
        "motions": [{"title": "使用维修资金更换电梯", "matter": "major"}]}), 201)
    _wait_for(lambda: gw.post(f"/api/v1/votes/{vote['id']}/open", headers=manager).status_code == 200,
          "votes to learn the 20,000 rooms")
    upload = _wait_for(lambda: (r := gw.post("/api/v1/uploads", files={"file": ("p.png", png(), "image/png")},
                                         headers=owner)).status_code == 201 and r.json(),
                   "repairs to learn the binding")
    _ok(gw.post("/api/v1/repairs", headers=owner, json={
        "community_id": cid, "kind": "repair", "category": "water", "room_id": room,
        "description": "厨房水管漏水", "contact_phone": "13900000000", "photo_ids": [upload["id"]]}), 201)

    t = time.perf_counter()
    for i in range(notices):
        n = _ok(gw.post("/api/v1/notices", headers=manager, json={
            "community_id": cid, "title": f"通知 {i}", "body": "基准测试通知内容", "category": "announcement",
            "pinned": i == 0}), 201)
        for action in ("submit", "approve", "publish"):
            _ok(gw.post(f"/api/v1/notices/{n['id']}/{action}", headers=manager))
    print(f"setup: {notices} notices published in {time.perf_counter() - t:.1f} s", flush=True)

    seen: dict[str, Any] = {}

    def ready() -> bool:
        home = _ok(gw.get("/api/v1/me/home", params={"community_id": cid}, headers=owner))
        seen.update(unread=home["unread_inbox"], votes=len(home["votes_to_do"]),
                    tickets=len(home["open_tickets"]), unavailable=home["unavailable"])
        return home["unread_inbox"] >= notices and bool(home["votes_to_do"]) and bool(home["open_tickets"])

    try:
        _wait_for(ready, "the notices' inbox entries and the vote to reach the home screen")
    except AssertionError as exc:
        raise RuntimeError(f"{exc}; last seen: {seen}") from exc
    return cid, owner


def _calls(base: str, cid: str, owner: dict[str, str], n: int, path: str = "/api/v1/me/home") -> list[float]:
    out = []
    with httpx.Client(base_url=base, headers=owner, trust_env=False, timeout=10) as c:
        for _ in range(n):
            t = time.perf_counter()
            r = c.get(path, params={"community_id": cid})
            out.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                raise RuntimeError(r.text)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    calls = int(os.environ.get("BENCH_HOME_CALLS", "200"))
    rooms = int(os.environ.get("BENCH_HOME_ROOMS", "20000"))
    notices = int(os.environ.get("BENCH_HOME_NOTICES", "100"))
    env = {"GATEWAY_RATE_IP_PER_SECOND": UNLIMITED, "GATEWAY_RATE_IP_BURST": UNLIMITED,
           "GATEWAY_RATE_ACCOUNT_PER_SECOND": UNLIMITED, "GATEWAY_RATE_ACCOUNT_BURST": UNLIMITED,
           "GATEWAY_UPSTREAM_TIMEOUT_SECONDS": "300", "LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as tmp:
        stack = Stack.on_free_ports(Path(tmp), env=env)
        with running(stack), httpx.Client(base_url=stack.url("gateway"), trust_env=False, timeout=120) as gw:
            cid, owner = _setup(stack, gw, rooms, notices)
            base = stack.url("gateway")
            _calls(base, cid, owner, 20)  # warm-up
            seq = _calls(base, cid, owner, calls)
            # The same machine's baseline at the same moment: one service's simplest read.
            baseline = _calls(base, cid, owner, calls, "/api/v1/inbox/unread-count")
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                parallel = [ms for batch in pool.map(lambda _: _calls(base, cid, owner, calls // 8), range(8))
                            for ms in batch]
    median = statistics.median(seq)
    print(f"GET /me/home, {rooms} rooms, {notices} notices, sequential ({calls} calls): "
          f"p50 {median:.1f} ms  p95 {_pct(seq, 0.95):.1f} ms  p99 {_pct(seq, 0.99):.1f} ms")
    print(f"baseline GET /inbox/unread-count through the gateway ({calls} calls): "
          f"p50 {statistics.median(baseline):.1f} ms  p95 {_pct(baseline, 0.95):.1f} ms")
    print(f"GET /me/home, 8 concurrent callers ({len(parallel)} calls): "
          f"p50 {statistics.median(parallel):.1f} ms  p95 {_pct(parallel, 0.95):.1f} ms")
    ok = median <= TARGET_MS
    print(f"target p50 <= {TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
