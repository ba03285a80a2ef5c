"""Benchmark of the table store: a ledger posted as JSON tables (as the Office add-in / Apps Script will) against
the same ledger read from its .xlsx file, and the writes of a refresh.

    .venv/bin/python bench/bench_tables.py                      # 20,000 invoices
    .venv/bin/python bench/bench_tables.py --invoices 100000    # the size a big accountant has

Generates its ledger (``cobro.demo.generate``), writes it as a workbook, reads it as a host does
(``sync.table_store.tables_of_workbook``) and prints: the body's size, JSON decoding with exact decimals (what the
service does), ``TableStore.load`` (payload check + the file store's parse path), ``XlsxStore.load`` of the same
workbook, a refresh's writes (edits, JSON size, time) and the host's ``apply_writes``. Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro.demo.generate import generate_ledger  # noqa: E402
from sheets_templates import build_workbook  # noqa: E402
from sync.cycle import refresh  # noqa: E402
from sync.table_store import TableStore, apply_writes, request_body, tables_of_workbook  # noqa: E402
from sync.xlsx_store import XlsxStore  # noqa: E402

AS_OF = dt.date(2026, 11, 20)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    customers = max(10, args.invoices // 25)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        t = time.perf_counter()
        led = generate_ledger(customers=customers, invoices=args.invoices, seed=11, locale="es", as_of=AS_OF)
        build_workbook(path, locale="es", ledger=led, as_of=AS_OF)
        print(f"ledger: {len(led.customers):,} customers, {len(led.invoices):,} invoices, {len(led.payments):,} "
              f"payments, {len(led.contacts):,} contacts (made in {time.perf_counter() - t:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f})")
        tables = tables_of_workbook(path)
        text = json.dumps(request_body(tables), ensure_ascii=False)
        print(f"request body: {len(text.encode()) / 1e6:.1f} MB of JSON")
        s_json, body = best(lambda: json.loads(text, parse_float=Decimal), args.repeat)
        print(f"JSON decode (exact decimals):      {s_json:7.3f} s")
        s_tables, _ = best(lambda: TableStore(body).load(), args.repeat)
        print(f"TableStore(body).load():           {s_tables:7.3f} s")
        s_file, _ = best(lambda: XlsxStore(path).load(), args.repeat)
        print(f"XlsxStore(file).load():            {s_file:7.3f} s   (tables/file = {s_tables / s_file:.2f}x)")

        def do_refresh() -> TableStore:
            store = TableStore(body)
            refresh(store, AS_OF)
            return store

        s_refresh, store = best(do_refresh, args.repeat)
        writes = store.writes()
        out = json.dumps(writes, ensure_ascii=False)
        print(f"refresh -> writes (load included): {s_refresh:7.3f} s   {len(writes['edits']):,} edits, "
              f"{len(out.encode()) / 1e6:.1f} MB of JSON")
        parsed = json.loads(out)
        s_apply, _ = best(lambda: apply_writes(tables, parsed), args.repeat)
        print(f"apply_writes (the host's part):    {s_apply:7.3f} s")


if __name__ == "__main__":
    main()
