"""Load a 100,000-invoice / 100,000-payment ledger from .xlsx: cobro vs a bare python-calamine read.

Target (issue 2): cobro's full load (read + validate + type) in at most 1.5x the bare read.

    .venv/bin/python bench/bench_load.py [--invoices 100000] [--payments 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from cobro.demo.generate import generate_ledger
from cobro.ledger import make_frame
from cobro.schema import PAYMENTS
from sheets_templates import build_workbook
from sync.xlsx_store import XlsxStore


def bare_read(path: Path) -> int:
    wb = CalamineWorkbook.from_path(str(path))
    n = 0
    for name in wb.sheet_names:
        n += len(wb.get_sheet_by_name(name).to_python())
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--payments", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    as_of = dt.date(2026, 11, 20)
    t0 = time.perf_counter()
    led = generate_ledger(customers=max(50, args.invoices // 50), invoices=args.invoices, seed=1, as_of=as_of)
    pay = led.payments
    if len(pay) > args.payments:
        pay = pay.iloc[: args.payments]
    elif len(pay) < args.payments:  # top up with advances so the sheet has the size asked for
        extra = args.payments - len(pay)
        rng = np.random.default_rng(2)
        cust = led.customers[["customer_id", "currency"]].sample(extra, replace=True, random_state=3)
        pay = pd.concat([pay, make_frame(PAYMENTS, pd.DataFrame({
            "payment_id": [f"PX{i:07d}" for i in range(extra)],
            "date": pd.Timestamp(as_of) - pd.to_timedelta(rng.integers(0, 300, extra), unit="D"),
            "customer_id": cust["customer_id"].to_numpy(), "invoice_id": "", "currency": cust["currency"].to_numpy(),
            "amount": rng.integers(100, 100_000, extra), "method": "transfer", "source": "manual"}))],
            ignore_index=True)
    led = led.replace(payments=pay.reset_index(drop=True))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.xlsx"
        build_workbook(path, locale="es", ledger=led, as_of=as_of)
        t_build = time.perf_counter() - t0
        size = path.stat().st_size / 1e6
        print(f"workbook: {len(led.invoices):,} invoices, {len(led.payments):,} payments, {size:.1f} MB "
              f"(generated and written in {t_build:.1f} s)")
        bare, full = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            bare_read(path)
            bare.append(time.perf_counter() - t)
            t = time.perf_counter()
            loaded = XlsxStore(path).load()
            full.append(time.perf_counter() - t)
        assert len(loaded.invoices) == len(led.invoices)
        b, f = min(bare), min(full)
        print(f"bare python-calamine read : {b:6.2f} s (best of {args.repeat})")
        print(f"cobro load + validate     : {f:6.2f} s (best of {args.repeat})")
        print(f"ratio                     : {f / b:6.2f}x   (target <= 1.5x)")


if __name__ == "__main__":
    main()
