"""R1 in small form: 500 events while the dispatcher and receiver processes are SIGKILLed
3 times at random moments and restarted; every event applied exactly once, none lost.
The full run (10,000 events) is `make chaos`."""

from __future__ import annotations

from pathlib import Path

from bench.chaos import run


async def test_events_survive_sigkills_exactly_once(tmp_path: Path) -> None:
    result = await run(500, 3, tmp_path)
    assert result["applied_rows"] == 500
    assert result["distinct_events"] == 500
    assert result["distinct_webhook_ids"] == 500
    assert (result["duplicates"], result["missing"], result["wrong_content"]) == (0, 0, 0)
    assert result["keys_out_of_order"] == 0
    assert result["producer_deliveries"] == {"delivered": 500}
    assert len(result["kills"]) == 3
