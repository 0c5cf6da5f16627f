"""Starts and stops the whole system as real processes on loopback: the gateway, the five
services, the manager's console and the WeChat stand-in, each its own uvicorn process in its
own process group.

Used by `make run` (scripts/run.py), the end-to-end tests (tests/e2e/) and the benchmarks
(bench/), so all three run the system the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "repairs", "votes", "notices", "billing")
# Start order: identity first (it publishes the keys the others verify with), gateway last.
ORDER = ("identity", "repairs", "votes", "notices", "billing", "wechat", "console", "gateway")
# The `make run` port layout (services.common.settings.DEFAULT_PORTS): billing came after the
# stand-in, so it takes the port after it.
LAYOUT = ("gateway", "identity", "repairs", "votes", "notices", "wechat", "billing")
FACTORIES = {
    **{name: f"services.{name}.app:create_app" for name in SERVICES},
    "wechat": "wechat_standin.app:create_app",
    "console": "console.app:create_app",
    "gateway": "gateway.app:create_app",
}
URL_ENV = {
    "identity": "IDENTITY_URL",
    "repairs": "REPAIRS_URL",
    "votes": "VOTES_URL",
    "notices": "NOTICES_URL",
    "billing": "BILLING_URL",
    "wechat": "WECHAT_API_BASE",
    "console": "CONSOLE_URL",
    "gateway": "GATEWAY_URL",
}


def wechat_standin_available() -> bool:
    """The WeChat stand-in is built on its own branch; the stack runs without it until merged."""
    return importlib.util.find_spec("wechat_standin") is not None and (
        importlib.util.find_spec("wechat_standin.app") is not None
    )


# Listeners take ports below Linux's ephemeral range (32768-60999): a port the kernel hands out
# for port 0 is one it may next give an outgoing connection (a database or HTTP client), and a
# service that starts a moment later then fails with "address already in use".
_LISTEN_PORTS = range(20000, 32000)


def free_port(host: str = "127.0.0.1") -> int:
    for _ in range(200):
        port = random.choice(_LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    # If the launcher dies without cleaning up (SIGKILL), the kernel stops the child too.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Stack:
    """A set of processes sharing one DATA_DIR; `ports` maps each name to its port."""

    data_dir: Path
    ports: dict[str, int]
    host: str = "127.0.0.1"
    # Extra environment for every process (e.g. rate limits, PLATFORM_ADMIN_*).
    env: dict[str, str] = field(default_factory=dict)
    # Per-service database URLs; SQLite files under data_dir when absent.
    database_urls: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    # The gateway's internal listener for /metrics (GATEWAY_METRICS_PORT); none when unset.
    metrics_port: int | None = None
    python: str = sys.executable
    # uvicorn worker processes per name (1 when absent); PostgreSQL only for the services.
    workers: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def consecutive(cls, data_dir: Path, base_port: int = 8000, **kwargs: object) -> Stack:
        """The `make run` layout: gateway on base_port, the others on the ports after it,
        then the gateway's internal metrics listener, then the console (which browsers reach
        through the gateway at /console/)."""
        names = LAYOUT
        ports = {name: base_port + offset for offset, name in enumerate(names)}
        kwargs.setdefault("metrics_port", base_port + len(names))
        ports["console"] = base_port + len(names) + 1
        return cls(data_dir=data_dir, ports=ports, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def on_free_ports(cls, data_dir: Path, names: tuple[str, ...] = ORDER, **kwargs: object) -> Stack:
        if "gateway" in names:
            kwargs.setdefault("metrics_port", free_port())
        return cls(data_dir=data_dir, ports={n: free_port() for n in names}, **kwargs)  # type: ignore[arg-type]

    @property
    def names(self) -> list[str]:
        wanted = [n for n in ORDER if n in self.ports]
        if "wechat" in wanted and not wechat_standin_available():
            wanted.remove("wechat")
        return wanted

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def metrics_url(self) -> str | None:
        """The gateway's /metrics, on its internal listener."""
        return None if self.metrics_port is None else f"http://{self.host}:{self.metrics_port}/metrics"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATA_DIR": str(self.data_dir),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name, port in self.ports.items():
            env[URL_ENV[name]] = f"http://{self.host}:{port}"
        if "gateway" in self.ports:
            env["GATEWAY_PORT"] = str(self.ports["gateway"])
            if self.metrics_port is not None:
                env["GATEWAY_METRICS_HOST"] = self.host
                env["GATEWAY_METRICS_PORT"] = str(self.metrics_port)
        for service, url in self.database_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        env.update(self.env)
        return env

    def issue_token(
        self,
        account_id: str,
        *,
        platform_admin: bool = False,
        staff: dict[str, dict[str, object]] | None = None,
        ttl_seconds: int = 900,
    ) -> str:
        """An access token signed with the key identity generated under DATA_DIR (tests and
        benches use it to act as any account without a login flow)."""
        from services.common.tokens import AccessClaims, issue_access_token
        from services.identity.keys import load_or_create_signing_key

        key = load_or_create_signing_key(self.data_dir / "identity-signing-key.json")
        claims = AccessClaims(account_id=account_id, platform_admin=platform_admin, staff=staff or {})
        return issue_access_token(key, claims, ttl_seconds=ttl_seconds)

    def migrate(self) -> None:
        """Applies every service's migrations (both histories) to its database."""
        services = [n for n in SERVICES if n in self.ports]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [self.python, "-m", "services.common.migrations", "upgrade", *services],
            env=self.environment(),
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self, names: list[str] | None = None) -> None:
        env = self.environment()
        log_dir = self.log_dir or self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        for name in names or self.names:
            if name in self.processes and self.processes[name].poll() is None:
                continue
            log_file = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
            cmd = [
                self.python, "-m", "uvicorn", "--factory", FACTORIES[name],
                "--host", self.host, "--port", str(self.ports[name]),
                "--no-access-log", "--log-level", "warning",
            ]
            if self.workers.get(name, 1) > 1:
                cmd += ["--workers", str(self.workers[name])]
            self.processes[name] = subprocess.Popen(
                cmd,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup,
            )
            log_file.close()

    def wait_ready(self, timeout: float = 60.0, names: list[str] | None = None) -> None:
        """Until every process answers 200 on /readyz (the stand-in and gateway included)."""
        pending = list(names or self.names)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while pending:
                for name in list(pending):
                    proc = self.processes.get(name)
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {proc.returncode}; see its log in {self.log_dir or self.data_dir / 'logs'}"
                        )
                    path = "/healthz" if name == "wechat" else "/readyz"
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(self.url(name) + path).status_code == 200:
                            pending.remove(name)
                if pending and time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
                if pending:
                    time.sleep(0.1)

    def stop(self, names: list[str] | None = None, timeout: float = 10.0) -> None:
        """SIGTERM to each process group, SIGKILL to what is left after `timeout`."""
        chosen = [n for n in reversed(ORDER) if n in self.processes and (names is None or n in names)]
        for name in chosen:
            proc = self.processes[name]
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name in chosen:
            proc = self.processes.pop(name)
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Still there: kill the whole group (workers, reloaders) before reaping.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(stack: Stack, *, migrate: bool = True, timeout: float = 60.0) -> Iterator[Stack]:
    """Migrated, started and ready; stopped on exit, whatever happens."""
    try:
        if migrate:
            stack.migrate()
        stack.start()
        stack.wait_ready(timeout)
        yield stack
    finally:
        stack.stop()

