"""docker-compose.yml is checked for structure (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.common.events.config import default_pairs, secret_env_name

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "repairs", "votes", "notices", "billing")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_every_service_has_its_own_postgres_database_and_a_health_check():
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    init_sql = (ROOT / "deploy" / "postgres-init.sql").read_text()
    for name in SERVICES:
        svc = services[name]
        url = svc["environment"][f"{name.upper()}_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and url.endswith(f"/{name}")
        assert f"CREATE DATABASE {name};" in init_sql
        assert "/readyz" in " ".join(svc["healthcheck"]["test"])
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert f"services.{name}.app:create_app" in " ".join(svc["command"])
        assert f"migrations upgrade {name}" in " ".join(svc["command"])
        # Signed webhooks, one secret per (producer, consumer) pair (no shared data dir
        # there): a container holds the secrets of its own pairs and no other.
        secrets = {k for k in svc["environment"] if k.endswith("_WEBHOOK_SECRET")}
        assert secrets == {
            secret_env_name(p, c) for p, c in default_pairs() if name in (p, c)
        }, name


def test_gateway_waits_for_healthy_services_and_shares_rate_limits_in_redis():
    gateway = _compose()["services"]["gateway"]
    assert "gateway.app:create_app" in " ".join(gateway["command"])
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
    for name in SERVICES:
        assert gateway["depends_on"][name]["condition"] == "service_healthy"
        assert gateway["environment"][f"{name.upper()}_URL"] == f"http://{name}:8000"
    assert gateway["environment"]["REDIS_URL"].startswith("redis://")
    # Only the public API is published; /metrics is on the internal listener, not published.
    assert gateway["ports"] == ["${GATEWAY_PORT:-8000}:8000"]
    metrics_port = gateway["environment"]["GATEWAY_METRICS_PORT"]
    assert metrics_port != "8000" and metrics_port in gateway["expose"]
    assert not any(metrics_port in str(p) for s in _compose()["services"].values()
                   for p in s.get("ports", []))


def test_one_dockerfile_builds_every_container():
    images = {s.get("build") for n, s in _compose()["services"].items() if n not in ("postgres", "redis")}
    assert images == {"."}
    assert (ROOT / "Dockerfile").read_text().startswith("# One image")


def test_the_console_is_served_through_the_gateway_and_not_published():
    services = _compose()["services"]
    console = services["console"]
    assert "console.app:create_app" in " ".join(console["command"])
    assert console["environment"]["GATEWAY_URL"] == "http://gateway:8000"
    assert "/readyz" in " ".join(console["healthcheck"]["test"])
    assert "ports" not in console
    assert services["gateway"]["environment"]["CONSOLE_URL"] == "http://console:8000"
    assert "COPY console ./console" in (ROOT / "Dockerfile").read_text()
