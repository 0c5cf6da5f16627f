"""Who receives which events, with which secret; and the retry schedule.

Subscriptions come from the producer's settings (`<SVC>_EVENT_SUBSCRIPTIONS`, a JSON list of
`{"name", "url", "types", "secret"}`, `types` being fnmatch patterns such as `"identity.*"`).
When unset, the embedded defaults apply: identity → repairs, votes, notices, billing;
repairs, votes, billing → notices; each at `service_url(consumer) + "/events"`.

Each (producer, consumer) pair has its own `whsec_` secret, so a secret that leaks out of one
service lets nobody pose as another: `<PRODUCER>_TO_<CONSUMER>_WEBHOOK_SECRET` from the
environment (e.g. `IDENTITY_TO_NOTICES_WEBHOOK_SECRET`), else, for the default pairs, one
generated once into `DATA_DIR/event-pair-secrets.json` (`{producer: {consumer: secret}}`),
which every process on the machine reads, so sender and receiver agree without
configuration. A consumer accepts deliveries only from the producers it has a secret for:
the default producers of it, and any other service whose pair variable is set.
"""

from __future__ import annotations

import base64
import fcntl
import fnmatch
import json
import logging
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
    "identity": ("repairs", "votes", "notices", "billing"),
    "repairs": ("notices",),
    "votes": ("notices",),
    "billing": ("notices",),
}

SECRETS_FILE = "event-pair-secrets.json"
# The one-secret-per-consumer file of before: removed once the pair file exists.
RETIRED_SECRETS_FILE = "event-secrets.json"

log = logging.getLogger("events.config")


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


def default_pairs() -> list[tuple[str, str]]:
    """(producer, consumer) of the embedded subscriptions."""
    return [(p, c) for p, consumers in DEFAULT_CONSUMERS.items() for c in consumers]


def secret_env_name(producer: str, consumer: str) -> str:
    return f"{producer.upper()}_TO_{consumer.upper()}_WEBHOOK_SECRET"


def _secrets_file() -> Path:
    return data_dir() / SECRETS_FILE


def _shared_secrets() -> dict[str, dict[str, str]]:
    """The machine-wide secrets file, created once (atomically: the first writer wins)."""
    path = _secrets_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        generated: dict[str, dict[str, str]] = {}
        for producer, consumer in default_pairs():
            generated.setdefault(producer, {})[consumer] = _new_secret()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_text(json.dumps(generated))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race; then read theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        # No stale secret left lying around: nothing reads the old file any more.
        (path.parent / RETIRED_SECRETS_FILE).unlink(missing_ok=True)
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    if any(c not in data.get(p, {}) for p, c in default_pairs()):
        data = _add_new_pairs(path)
    return data


def _add_new_pairs(path: Path) -> dict[str, dict[str, str]]:
    """A file written before a service joined (billing) lacks its pairs: they are added once,
    under a lock, so every process on the machine ends up reading the same secrets."""
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data: dict[str, dict[str, str]] = json.loads(path.read_text())
        missing = [(p, c) for p, c in default_pairs() if c not in data.get(p, {})]
        if missing:
            for producer, consumer in missing:
                data.setdefault(producer, {})[consumer] = _new_secret()
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            tmp.write_text(json.dumps(data))
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        return data


def secret_for(producer: str, consumer: str) -> str:
    """The `whsec_` secret `producer` signs its deliveries to `consumer` with (and the
    consumer its snapshot requests to `producer`); KeyError when there is none."""
    env = os.environ.get(secret_env_name(producer, consumer), "")
    if env:
        return env
    if (producer, consumer) not in default_pairs():
        raise KeyError(
            f"no webhook secret for {producer} -> {consumer}: set {secret_env_name(producer, consumer)}"
        )
    secret = _shared_secrets().get(producer, {}).get(consumer)
    if not secret:
        raise KeyError(f"no webhook secret for {producer} -> {consumer} in {_secrets_file()}")
    return secret


def producers_of(consumer: str) -> list[str]:
    """The services a consumer accepts deliveries from: its default producers, and any
    other whose pair secret is set in the environment."""
    return [
        p for p in SERVICE_NAMES
        if p != consumer
        and ((p, consumer) in default_pairs() or os.environ.get(secret_env_name(p, consumer)))
    ]


def default_subscriptions(producer: str) -> list[Subscription]:
    return [
        Subscription(
            name=consumer,
            url=service_url(consumer) + "/events",
            types=(f"{producer}.*",),
            secret=secret_for(producer, consumer),
        )
        for consumer in DEFAULT_CONSUMERS.get(producer, ())
    ]


def parse_subscriptions(raw: str | list[dict[str, Any]], producer: str) -> list[Subscription]:
    """`producer`'s configured subscriptions; an entry without `secret` that names a service
    uses the pair's secret (`secret_for(producer, name)`)."""
    entries = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(entries, list):
        raise ValueError("event subscriptions must be a JSON list")
    subs = []
    for entry in entries:
        name = str(entry["name"])
        types = entry.get("types") or ["*"]
        if not entry.get("url") and name not in SERVICE_NAMES:
            raise ValueError(f"event subscription {name!r} needs a url")
        secret = str(entry.get("secret") or "")
        if not secret:
            if name not in SERVICE_NAMES:
                raise ValueError(f"event subscription {name!r} needs a secret")
            try:
                secret = secret_for(producer, name)
            except KeyError as exc:
                raise ValueError(str(exc.args[0])) from exc
        subs.append(
            Subscription(
                name=name,
                url=str(entry.get("url") or service_url(name) + "/events"),
                types=tuple(str(t) for t in types),
                secret=secret,
            )
        )
    names = [s.name for s in subs]
    if len(set(names)) != len(names):
        raise ValueError("event subscription names must be unique")
    return subs


def subscriptions_from_settings(settings: Any) -> list[Subscription]:
    raw = getattr(settings, "event_subscriptions", "") or ""
    if raw.strip():
        return parse_subscriptions(raw, settings.service_name)
    return default_subscriptions(settings.service_name)


def receiver_secrets(settings: Any) -> dict[str, str]:
    """The receiver's secrets, by the producer they authenticate; empty (every delivery
    rejected) for an app that is not one of the event-exchanging services, such as the
    gateway."""
    consumer = settings.service_name
    if consumer not in SERVICE_NAMES:
        return {}
    if os.environ.get(f"{consumer.upper()}_WEBHOOK_SECRET"):
        log.warning(
            "one webhook secret per consumer is no longer read; set a secret per producer",
            extra={"expected": [secret_env_name(p, consumer) for p in producers_of(consumer)]},
        )
    return {p: secret_for(p, consumer) for p in producers_of(consumer)}


def parse_schedule(raw: str) -> tuple[timedelta, ...]:
    """`"5,300,1800"` (seconds between tries) → timedeltas; empty → the default."""
    values = [float(v) for v in raw.split(",") if v.strip()] if raw else DEFAULT_RETRY_SCHEDULE
    if any(v < 0 for v in values):
        raise ValueError("retry delays must not be negative")
    return tuple(timedelta(seconds=v) for v in values)
