"""Subscriptions and secrets from configuration: the embedded defaults agree between processes."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from services.common.events import config

SERVICES = ("identity", "repairs", "votes", "notices", "billing")


def _clear_secret_env(environ: Any) -> None:
    for name in list(environ):
        if name.endswith("_WEBHOOK_SECRET"):
            del environ[name]


def _secrets_in_child(data_dir: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import os

    os.environ["DATA_DIR"] = data_dir
    _clear_secret_env(os.environ)
    queue.put({s.name: s.secret for s in config.default_subscriptions("identity")})


def test_default_subscriptions_and_shared_pair_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REPAIRS_URL", "http://127.0.0.1:9902")
    for name in [n for n in os.environ if n.endswith("_WEBHOOK_SECRET")]:
        monkeypatch.delenv(name)
    (tmp_path / config.RETIRED_SECRETS_FILE).write_text('{"repairs": "whsec_b2xk"}')
    subs = config.default_subscriptions("identity")
    assert [(s.name, s.url, s.types) for s in subs] == [
        ("repairs", "http://127.0.0.1:9902/events", ("identity.*",)),
        ("votes", "http://127.0.0.1:8003/events", ("identity.*",)),
        ("notices", "http://127.0.0.1:8004/events", ("identity.*",)),
        ("billing", "http://127.0.0.1:8006/events", ("identity.*",)),
    ]
    assert [s.name for s in config.default_subscriptions("repairs")] == ["notices"]
    assert [s.name for s in config.default_subscriptions("votes")] == ["notices"]
    assert [s.name for s in config.default_subscriptions("billing")] == ["notices"]
    assert config.default_subscriptions("notices") == []
    # Generated once into DATA_DIR, keyed by (producer, consumer); the old file is gone.
    assert all(s.secret.startswith("whsec_") for s in subs)
    saved = json.loads((tmp_path / config.SECRETS_FILE).read_text())
    assert saved["identity"]["repairs"] == subs[0].secret
    assert not (tmp_path / config.RETIRED_SECRETS_FILE).exists()
    # One secret per pair: notices verifies identity, repairs, votes and billing each with its own.
    pairs = [(p, c) for p in SERVICES for c in SERVICES if (p, c) in config.default_pairs()]
    assert len({config.secret_for(p, c) for p, c in pairs}) == len(pairs) == 7
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    children = [ctx.Process(target=_secrets_in_child, args=(str(tmp_path), queue)) for _ in range(2)]
    for c in children:
        c.start()
    results = [queue.get(timeout=60) for _ in children]
    for c in children:
        c.join()
    assert all(r == {s.name: s.secret for s in subs} for r in results)

    # The receiver side reads the same secrets, by producer; an app outside the services
    # gets none.
    class S:
        service_name = "notices"

    assert config.receiver_secrets(S()) == {
        "identity": config.secret_for("identity", "notices"),
        "repairs": config.secret_for("repairs", "notices"),
        "votes": config.secret_for("votes", "notices"),
        "billing": config.secret_for("billing", "notices"),
    }
    S.service_name = "repairs"
    assert config.receiver_secrets(S()) == {"identity": subs[0].secret}
    S.service_name = "gateway"
    assert config.receiver_secrets(S()) == {}
    # A pair outside the defaults exists only when configured; the environment wins.
    with pytest.raises(KeyError, match="NOTICES_TO_REPAIRS_WEBHOOK_SECRET"):
        config.secret_for("notices", "repairs")
    monkeypatch.setenv("NOTICES_TO_REPAIRS_WEBHOOK_SECRET", "whsec_bm90aWNlcw==")
    monkeypatch.setenv("IDENTITY_TO_VOTES_WEBHOOK_SECRET", "whsec_dGVzdHRlc3R0ZXN0")
    assert config.secret_for("identity", "votes") == "whsec_dGVzdHRlc3R0ZXN0"
    S.service_name = "repairs"
    assert config.receiver_secrets(S()) == {
        "identity": subs[0].secret, "notices": "whsec_bm90aWNlcw=="
    }


def test_a_secrets_file_from_before_billing_gets_its_pairs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    for name in [n for n in os.environ if n.endswith("_WEBHOOK_SECRET")]:
        monkeypatch.delenv(name)
    old = {"identity": {"repairs": "whsec_cmVw", "votes": "whsec_dm90", "notices": "whsec_bm90"},
           "repairs": {"notices": "whsec_cjJu"}, "votes": {"notices": "whsec_djJu"}}
    (tmp_path / config.SECRETS_FILE).write_text(json.dumps(old))
    added = config.secret_for("identity", "billing")
    assert added.startswith("whsec_") and config.secret_for("identity", "billing") == added
    saved = json.loads((tmp_path / config.SECRETS_FILE).read_text())
    # The pairs that existed keep their secrets: running services still agree.
    assert saved["identity"]["repairs"] == "whsec_cmVw" and saved["votes"]["notices"] == "whsec_djJu"
    assert saved["billing"]["notices"] == config.secret_for("billing", "notices")


def test_configured_subscriptions_and_schedule() -> None:
    subs = config.parse_subscriptions(
        json.dumps([{"name": "audit", "url": "http://a/events", "types": ["repairs.ticket.*"],
                     "secret": "whsec_YWJjZA=="}]),
        "repairs",
    )
    assert subs[0].matches("repairs.ticket.created")
    assert not subs[0].matches("repairs.vote.opened")
    with pytest.raises(ValueError):
        config.parse_subscriptions(json.dumps([{"name": "votes", "secret": "x"}] * 2), "identity")
    with pytest.raises(ValueError):
        config.parse_subscriptions(json.dumps([{"name": "stranger", "secret": "x"}]), "identity")
    with pytest.raises(ValueError):  # outside the services, a secret must be given
        config.parse_subscriptions(json.dumps([{"name": "audit", "url": "http://a"}]), "identity")
    # A service named without a secret gets the pair's.
    (votes,) = config.parse_subscriptions(json.dumps([{"name": "votes"}]), "identity")
    assert votes.secret == config.secret_for("identity", "votes")
    assert [d.total_seconds() for d in config.parse_schedule("")] == [
        5, 300, 1800, 7200, 18000, 36000, 36000
    ]
    assert [d.total_seconds() for d in config.parse_schedule("0.1, 2")] == [0.1, 2]
    with pytest.raises(ValueError):
        config.parse_schedule("-1")
