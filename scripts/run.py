"""`make run`: the whole system on loopback. Applies every service's migrations, starts the
gateway on 127.0.0.1:$GATEWAY_PORT (8000) and identity, repairs, votes, notices, the
WeChat (and WeChat Pay) stand-in and billing on the ports after it (then the gateway's internal
/metrics listener, then the manager's console, which browsers open through the gateway at
/console/), waits until all are ready and prints where they are.
Ctrl-C (or SIGTERM) stops every process it started.

Data (SQLite files, keys, uploads, logs) lives under $DATA_DIR (./data); `<SERVICE>_DATABASE_URL`
(e.g. IDENTITY_DATABASE_URL=postgresql+asyncpg://...) moves a service to PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.stack import SERVICES, Stack, wechat_standin_available  # noqa: E402
from services.common.settings import DEFAULT_PORTS, data_dir  # noqa: E402

ADMIN_MARKER = ".platform-admin-created"


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def platform_admin(data: Path, env: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """The PLATFORM_ADMIN_* environment for identity, and a password to print once.

    Given credentials are passed through as they are. Without them, a first run generates
    `admin` with a random password; later runs pass nothing (identity created it, and never
    overwrites an existing admin). A marker under DATA_DIR remembers the first run.
    """
    if env.get("PLATFORM_ADMIN_USERNAME") and env.get("PLATFORM_ADMIN_PASSWORD"):
        return {}, None
    marker = data / ADMIN_MARKER
    sqlite_db = data / "identity.db"
    if marker.exists() and not env.get("IDENTITY_DATABASE_URL") and not sqlite_db.exists():
        marker.unlink()  # the identity database was deleted: the admin is gone with it
    if marker.exists():
        return {}, None
    password = secrets.token_urlsafe(12)
    return {"PLATFORM_ADMIN_USERNAME": "admin", "PLATFORM_ADMIN_PASSWORD": password}, password


def template_ids() -> dict[str, str]:
    """Subscribe-message template ids as notices will use them (its settings, else env)."""
    found: dict[str, str] = {}
    try:
        from services.notices.settings import Settings

        settings: Any = Settings()
        if callable(getattr(settings, "templates", None)):
            found = {str(k): str(v) for k, v in settings.templates().items()}
        else:
            found = {
                name.removeprefix("wechat_template_"): str(value)
                for name, value in settings.model_dump().items()
                if name.startswith("wechat_template_")
            }
    except Exception:  # a notices without template settings yet: fall back to the env
        found = {}
    for name, value in os.environ.items():
        if name.startswith("WECHAT_TEMPLATE_"):
            found.setdefault(name.removeprefix("WECHAT_TEMPLATE_").lower(), value)
    return found


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    data = data_dir()
    gateway_port = int(os.environ.get("GATEWAY_PORT", DEFAULT_PORTS["gateway"]))
    admin_env, admin_password = platform_admin(data, dict(os.environ))
    stack = Stack.consecutive(data, gateway_port, env=admin_env)
    ports = {**stack.ports, "gateway-metrics": stack.metrics_port}
    busy = [f"{n}:{p}" for n, p in ports.items() if p is not None and _port_in_use(stack.host, p)]
    if busy:
        print(f"ports already in use: {', '.join(busy)}; stop what runs there or set GATEWAY_PORT")
        return 1

    # SIGTERM ends the run like Ctrl-C does: every child is stopped in the finally below.
    # SIGINT is set explicitly too: a launcher started in the background by a non-interactive
    # shell inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    started = time.monotonic()
    try:
        print(f"data: {data}", flush=True)
        print("applying migrations ...", flush=True)
        stack.migrate()
        stack.start()
        stack.wait_ready(timeout=120)
        if admin_password is not None:
            (data / ADMIN_MARKER).write_text("admin\n")
        _print_summary(stack, admin_password, time.monotonic() - started)
        while True:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see {data / 'logs' / (name + '.log')}")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"start-up failed: {exc}", flush=True)
        return 1
    finally:
        # Signals during the clean-up must not cut it short and leave children behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("all processes stopped", flush=True)


def _print_summary(stack: Stack, admin_password: str | None, seconds: float) -> None:
    print(f"\nready in {seconds:.1f} s", flush=True)
    print(f"  gateway   {stack.url('gateway')}   (public API under /api/v1; /healthz, /readyz)")
    print(f"            {stack.metrics_url()}   (gateway metrics, internal listener)")
    print(f"  console   {stack.url('gateway')}/console/   (manager's console, through the gateway)")
    for name in SERVICES:
        print(f"  {name:<9} {stack.url(name)}")
    if "wechat" in stack.processes:
        print(f"  wechat    {stack.url('wechat')}   (WeChat API and WeChat Pay v3 stand-in)")
    elif not wechat_standin_available():
        print("  wechat    (stand-in not installed in this checkout: not started)")
    if admin_password is not None:
        print(f"\nplatform admin: admin / {admin_password}   (shown once; created on this first run)")
    elif os.environ.get("PLATFORM_ADMIN_USERNAME"):
        print(f"\nplatform admin: {os.environ['PLATFORM_ADMIN_USERNAME']} (from PLATFORM_ADMIN_*)")
    templates = template_ids()
    if templates:
        print("\nsubscribe-message templates:")
        for purpose, tid in templates.items():
            print(f"  {purpose:<9} {tid}")
    print(f"\nlogs: {stack.data_dir / 'logs'}   Ctrl-C stops everything.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
