"""`make run` (scripts/run.py): everything starts, and Ctrl-C or SIGTERM leaves no process."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from scripts.stack import ROOT


def _free_consecutive_ports(count: int = 8) -> int:
    for _ in range(100):
        base = random.randint(20000, 60000)
        try:
            socks = []
            for port in range(base, base + count):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free port range")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces and parentheses: fields start after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _run_until_ready(data: Path, port: int) -> tuple[subprocess.Popen[str], list[int], list[str]]:
    """Starts run.py; returns once it printed that everything is ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_ADMIN_")}
    env.update({"DATA_DIR": str(data), "GATEWAY_PORT": str(port), "LOG_LEVEL": "WARNING"})
    proc = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("ready in"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        raise AssertionError("not ready within 60 s: " + "".join(lines))
    assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    return proc, _children(proc.pid), lines


def _stop(proc: subprocess.Popen[str], sig: signal.Signals, lines: list[str]) -> str:
    proc.send_signal(sig)
    proc.wait(timeout=30)
    time.sleep(0.1)  # let the reader take the last lines
    return "".join(lines)


def test_run_starts_everything_and_ctrl_c_or_sigterm_stops_it_all(tmp_path: Path) -> None:
    port = _free_consecutive_ports(8)
    proc, children, lines = _run_until_ready(tmp_path, port)
    # The gateway, the five services and (when present) the WeChat stand-in.
    assert len(children) >= 5
    # The gateway's metrics: on its internal listener after the stand-in, not the public port.
    metrics = httpx.get(f"http://127.0.0.1:{port + 7}/metrics", timeout=5)
    assert metrics.status_code == 200 and "http_requests_total" in metrics.text
    assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
    # The manager's console, through the gateway at /console/ (its own process on port + 7).
    console = httpx.get(f"http://127.0.0.1:{port}/console/login", timeout=5)
    assert console.status_code == 200 and "物业管理后台登录" in console.text
    output = _stop(proc, signal.SIGINT, lines)
    assert proc.returncode == 0, output
    assert not [pid for pid in children if _alive(pid)]
    assert f"gateway   http://127.0.0.1:{port}" in output
    assert f"identity  http://127.0.0.1:{port + 1}" in output
    assert f"billing   http://127.0.0.1:{port + 6}" in output
    assert f"http://127.0.0.1:{port + 7}/metrics" in output
    assert f"console   http://127.0.0.1:{port}/console/" in output
    assert "platform admin: admin / " in output
    assert (tmp_path / "identity.db").exists()

    # A second run on the same data: the admin exists, no new password is printed.
    proc, children, lines = _run_until_ready(tmp_path, port)
    output = _stop(proc, signal.SIGTERM, lines)
    assert proc.returncode == 0, output
    assert not [pid for pid in children if _alive(pid)]
    assert "platform admin: admin / " not in output
