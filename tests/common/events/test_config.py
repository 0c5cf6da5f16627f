"""Subscriptions and secrets from configuration: the embedded defaults agree between processes."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from services.common.events import config


def _secrets_in_child(data_dir: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import os

    os.environ["DATA_DIR"] = data_dir
    for name in ("identity", "repairs", "votes", "notices"):
        os.environ.pop(f"{name.upper()}_WEBHOOK_SECRET", None)
    queue.put({s.name: s.secret for s in config.default_subscriptions("identity")})


def test_default_subscriptions_and_shared_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REPAIRS_URL", "http://127.0.0.1:9902")
    for name in ("identity", "repairs", "votes", "notices"):
        monkeypatch.delenv(f"{name.upper()}_WEBHOOK_SECRET", raising=False)
    subs = config.default_subscriptions("identity")
    assert [(s.name, s.url, s.types) for s in subs] == [
        ("repairs", "http://127.0.0.1:9902/events", ("identity.*",)),
        ("votes", "http://127.0.0.1:8003/events", ("identity.*",)),
        ("notices", "http://127.0.0.1:8004/events", ("identity.*",)),
    ]
    assert [s.name for s in config.default_subscriptions("repairs")] == ["notices"]
    assert [s.name for s in config.default_subscriptions("votes")] == ["notices"]
    assert config.default_subscriptions("notices") == []
    # Generated once into DATA_DIR; other processes read the same secrets.
    assert all(s.secret.startswith("whsec_") for s in subs)
    saved = json.loads((tmp_path / config.SECRETS_FILE).read_text())
    assert saved["repairs"] == subs[0].secret
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    children = [ctx.Process(target=_secrets_in_child, args=(str(tmp_path), queue)) for _ in range(2)]
    for c in children:
        c.start()
    results = [queue.get(timeout=60) for _ in children]
    for c in children:
        c.join()
    assert all(r == {s.name: s.secret for s in subs} for r in results)
    # The receiver side reads the same secret; an app outside the services gets none.

    class S:
        service_name = "repairs"
        webhook_secret = ""

    assert config.receiver_secret(S()) == subs[0].secret
    S.service_name = "gateway"
    assert config.receiver_secret(S()) == ""
    # The environment wins over the file.
    monkeypatch.setenv("VOTES_WEBHOOK_SECRET", "whsec_dGVzdHRlc3R0ZXN0")
    assert config.secret_for("votes") == "whsec_dGVzdHRlc3R0ZXN0"


def test_configured_subscriptions_and_schedule() -> None:
    subs = config.parse_subscriptions(
        json.dumps([{"name": "audit", "url": "http://a/events", "types": ["repairs.ticket.*"],
                     "secret": "whsec_YWJjZA=="}])
    )
    assert subs[0].matches("repairs.ticket.created")
    assert not subs[0].matches("repairs.vote.opened")
    with pytest.raises(ValueError):
        config.parse_subscriptions(json.dumps([{"name": "votes", "secret": "x"}] * 2))
    with pytest.raises(ValueError):
        config.parse_subscriptions(json.dumps([{"name": "stranger", "secret": "x"}]))
    assert [d.total_seconds() for d in config.parse_schedule("")] == [
        5, 300, 1800, 7200, 18000, 36000, 36000
    ]
    assert [d.total_seconds() for d in config.parse_schedule("0.1, 2")] == [0.1, 2]
    with pytest.raises(ValueError):
        config.parse_schedule("-1")
