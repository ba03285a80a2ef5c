"""The crash trials of ``bench/bench_crash.py`` in small (issue 15): kill -9 of the real ``cobro remind`` at random
points of a batch to an SMTP server in a separate process, and a server that drops the connection after
accepting. The full figures (20 trials of 300 messages) come from ``.venv/bin/python bench/bench_crash.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_crash", ROOT / "bench" / "bench_crash.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_kill_9_trials_and_a_dropping_server_never_duplicate_or_lose(tmp_path: Path) -> None:
    totals = bench().run_trials(trials=4, customers=40, delay=0.01, drop_rate=0.2, seed=7, folder=tmp_path,
                                echo=False)
    assert totals["killed_mid_run"] >= 3
    assert totals["duplicates"] == 0 and totals["lost"] == 0 and totals["corrupt_workbooks"] == 0
    assert totals["contact_rows_twice"] == 0 and totals["contacts_missing"] == 0
    assert totals["sent_not_received"] == 0 and totals["rerun_failures"] == 0
    assert totals["trials_with_backups"] == totals["trials"]
    drop = totals["drop"]
    assert drop["exit"] == 0 and drop["duplicates"] == 0 and drop["lost"] == 0
    assert drop["unconfirmed"] > 0 and drop["listed_unconfirmed"] == drop["unconfirmed"]  # listed for a person
    assert drop["contact_rows"] == 40 and drop["contact_rows_twice"] == 0
