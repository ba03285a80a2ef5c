"""Google Sheets store against the local fake of the Sheets v4 API (real gspread HTTP client, loopback):
calls of a full daily cycle on a 10-row and a 10,000-row sheet (target: <= 2 reads, <= 3 writes, the same for both),
and the time to read and parse 10,000 invoice rows (target <= 2 s).

    .venv/bin/python bench/bench_sheets.py
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cobro.demo.generate import generate_ledger  # noqa: E402
from sheets_templates.gsheet import create_google_sheet  # noqa: E402
from sync.gsheet_store import GoogleSheetStore  # noqa: E402
from sync.gsheets import client  # noqa: E402
from sync.scheduler import daily_cycle  # noqa: E402
from tests.fake_sheets import FakeSheetsApi  # noqa: E402

AS_OF = dt.date(2026, 11, 20)


def main() -> None:
    with FakeSheetsApi() as api, tempfile.TemporaryDirectory() as home:
        os.environ["COBRO_SHEETS_API_URL"] = api.url
        os.environ["COBRO_HOME"] = home
        gc = client()
        print(f"{'invoices':>9} {'reads':>6} {'writes':>7} {'sent':>5} {'cycle s':>8}")
        keys = {}
        for n in (10, 10_000):
            led = generate_ledger(customers=max(3, n // 25), invoices=n, seed=5, locale="es", as_of=AS_OF)
            keys[n] = create_google_sheet(gc, f"bench {n}", locale="es", ledger=led, as_of=AS_OF)
            api.reset_counts()
            t = time.perf_counter()
            result = daily_cycle(keys[n], AS_OF, use_env=False)
            took = time.perf_counter() - t
            c = api.counts()
            sent = len(result.batch.sent) if result.batch is not None else 0
            print(f"{n:>9} {c['read']:>6} {c['write']:>7} {sent:>5} {took:>8.2f}")
        times = []
        for _ in range(5):
            t = time.perf_counter()
            led = GoogleSheetStore(keys[10_000], gclient=gc).load()
            times.append(time.perf_counter() - t)
        print(f"read + parse {len(led.invoices):,} invoices: best {min(times):.2f} s, "
              f"median {statistics.median(times):.2f} s (target <= 2 s)")


if __name__ == "__main__":
    main()
