"""Crash safety of the in-place writer: kill -9 at random points of repeated saves never corrupts the ledger.

A child process appends one Contacts row per commit, as fast as it can, and is killed (SIGKILL) at a random moment,
most often inside a save. After every kill the ledger is a readable workbook holding every commit the child
reported done (and at most the one in flight), the newest backup is a readable workbook, and what else is in the
folder is a temporary file the next write removes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from sync.fileio import TEMP_MARK
from sync.xlsx_store import XlsxStore

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys
import pandas as pd
from sync.store import Changes
from sync.xlsx_store import XlsxStore

path, start = sys.argv[1], int(sys.argv[2])
store = XlsxStore(path)
n = start
store.load_raw()
print("ready", flush=True)
while True:  # each commit re-reads its own write's fingerprint: the loop is almost all saving
    n += 1
    row = pd.DataFrame({"timestamp": [pd.Timestamp("2026-11-20 10:00")], "customer_id": ["CLI-0001"],
                        "channel": ["phone"], "outcome": ["no_answer"], "notes": [f"commit {n}"]})
    print("saving", flush=True)
    store.commit(Changes(append={"Contacts": row}))
    print(n, flush=True)
"""


def _notes(path: Path) -> list[str]:
    led = XlsxStore(path).load()
    return [n for n in led.contacts["notes"].tolist() if isinstance(n, str) and n.startswith("commit ")]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_during_saves_never_corrupts_the_ledger(tmp_path: Path) -> None:
    from tests.test_xlsx_writer import rich_ledger

    path = rich_ledger(tmp_path / "book", invoices=1500, customers=60)
    base_notes = len(XlsxStore(path).load().contacts)
    rng = random.Random(12)
    done = 0
    killed_in_save = 0
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _trial in range(10):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(done)], cwd=REPO, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.2, 2.0))
        os.kill(child.pid, signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, err[-2000:]
        reported = [int(x) for x in out.split() if x.isdigit()]
        temps = set(path.parent.glob(f"*{TEMP_MARK}*"))
        killed_in_save += out.split()[-1:] == ["saving"]
        # the ledger is whole: a readable zip and workbook with every reported commit, at most one more
        assert zipfile.ZipFile(path).testzip() is None
        notes = _notes(path)
        last = reported[-1] if reported else done
        assert len(notes) in (last, last + 1), (len(notes), last)
        assert notes == [f"commit {i}" for i in range(1, len(notes) + 1)]  # none lost, none doubled
        done = len(notes)
        backups = sorted((path.parent / ".cobro-backups").glob(f"{path.stem}.*{path.suffix}"))
        if done:
            assert backups, "a write without a backup"
            assert len(XlsxStore(backups[-1]).load().contacts) >= base_notes + done - 1
        for tmp in temps:  # a temporary file is never mistaken for the ledger, and the next write removes it
            os.utime(tmp, (time.time() - 3600, time.time() - 3600))
    assert done >= 3, f"only {done} commits in 10 trials"
    store = XlsxStore(path)
    store.load()
    import pandas as pd

    from sync.store import Changes

    store.commit(Changes(update={"Customers": pd.DataFrame({"_row": [2], "notes": ["after the crashes"]})}))
    assert not list(path.parent.glob(f"*{TEMP_MARK}*"))
    print(f"kill -9 trials: 10, killed inside a commit: {killed_in_save}, commits kept: {done}")
    assert killed_in_save >= 5, f"only {killed_in_save} of 10 kills landed inside a commit"
