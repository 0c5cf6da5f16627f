"""Who receives which events, with which secret; and the retry schedule.

Subscriptions come from the producer's settings (`<SVC>_EVENT_SUBSCRIPTIONS`, a JSON list of
`{"name", "url", "types", "secret"}`, `types` being fnmatch patterns such as `"identity.*"`).
When unset, the embedded defaults apply: identity → repairs, votes, notices;
repairs, votes → notices; each at `service_url(consumer) + "/events"`.

A consumer has one `whsec_` secret that every producer signs its deliveries with:
`<CONSUMER>_WEBHOOK_SECRET` from the environment, else one generated once into
`DATA_DIR/event-secrets.json`, which every process on the machine reads, so sender and
receiver agree without configuration.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from services.common.settings import SERVICE_NAMES, data_dir, service_url

# Like Svix: a first try at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)

DEFAULT_CONSUMERS: dict[str, tuple[str, ...]] = {
    "identity": ("repairs", "votes", "notices"),
    "repairs": ("notices",),
    "votes": ("notices",),
}

SECRETS_FILE = "event-secrets.json"


@dataclass(frozen=True)
class Subscription:
    name: str
    url: str
    types: tuple[str, ...]
    secret: str

    def matches(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.types)


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _secrets_file() -> Path:
    return data_dir() / SECRETS_FILE


def _shared_secrets() -> dict[str, str]:
    """The machine-wide secrets file, created once (atomically: the first writer wins)."""
    path = _secrets_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_text(json.dumps({name: _new_secret() for name in SERVICE_NAMES}))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race; then read theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    data: dict[str, str] = json.loads(path.read_text())
    return data


def secret_for(consumer: str) -> str:
    """The `whsec_` secret a consumer verifies with and every producer signs it with."""
    env = os.environ.get(f"{consumer.upper()}_WEBHOOK_SECRET", "")
    if env:
        return env
    shared = _shared_secrets()
    if consumer not in shared:
        raise KeyError(f"no webhook secret for {consumer!r}")
    return shared[consumer]


def default_subscriptions(producer: str) -> list[Subscription]:
    return [
        Subscription(
            name=consumer,
            url=service_url(consumer) + "/events",
            types=(f"{producer}.*",),
            secret=secret_for(consumer),
        )
        for consumer in DEFAULT_CONSUMERS.get(producer, ())
    ]


def parse_subscriptions(raw: str | list[dict[str, Any]]) -> list[Subscription]:
    entries = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(entries, list):
        raise ValueError("event subscriptions must be a JSON list")
    subs = []
    for entry in entries:
        name = str(entry["name"])
        types = entry.get("types") or ["*"]
        if not entry.get("url") and name not in SERVICE_NAMES:
            raise ValueError(f"event subscription {name!r} needs a url")
        subs.append(
            Subscription(
                name=name,
                url=str(entry.get("url") or service_url(name) + "/events"),
                types=tuple(str(t) for t in types),
                secret=str(entry.get("secret") or secret_for(name)),
            )
        )
    names = [s.name for s in subs]
    if len(set(names)) != len(names):
        raise ValueError("event subscription names must be unique")
    return subs


def subscriptions_from_settings(settings: Any) -> list[Subscription]:
    raw = getattr(settings, "event_subscriptions", "") or ""
    if raw.strip():
        return parse_subscriptions(raw)
    return default_subscriptions(settings.service_name)


def receiver_secret(settings: Any) -> str:
    """The receiver's secret; empty (every delivery rejected) for an app that is not one of
    the event-exchanging services, such as the gateway."""
    explicit = getattr(settings, "webhook_secret", "")
    if explicit:
        return str(explicit)
    try:
        return secret_for(settings.service_name)
    except KeyError:
        return ""


def parse_schedule(raw: str) -> tuple[timedelta, ...]:
    """`"5,300,1800"` (seconds between tries) → timedeltas; empty → the default."""
    values = [float(v) for v in raw.split(",") if v.strip()] if raw else DEFAULT_RETRY_SCHEDULE
    if any(v < 0 for v in values):
        raise ValueError("retry delays must not be negative")
    return tuple(timedelta(seconds=v) for v in values)
