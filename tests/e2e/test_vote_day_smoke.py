"""`python -m bench vote_day --smoke`: the vote-day bench end to end on a tiny bounded load, so
the bench keeps working (its figures are printed, never asserted: speed belongs to
`make bench`). It checks every request of the run was answered 2xx."""

from __future__ import annotations

import pytest

from tests.support import TEST_DATABASE_URL


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="the bench's SQLite part; --pg covers PostgreSQL")
def test_vote_day_bench_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.vote_day import main

    assert main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for figure in ("identity GET /me", "WeChat login (gateway)", "binding (gateway)",
                   "replica lag to votes", "replica lag to notices", "RSS after the burst"):
        assert figure in out
