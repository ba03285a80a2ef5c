"""Benchmark of statements of account (issue 13 §4): the data for every customer with an open balance, and the A4
PDFs (with the EPC QR code) for some of them. The ledger is the demo's, generated in memory, with payment details.

    .venv/bin/python bench/bench_statement_of_account.py                          # 20,000 invoices, 600 customers
    .venv/bin/python bench/bench_statement_of_account.py --invoices 1500 --customers 60 --pdfs 60   # the demo
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger  # noqa: E402
from cobro.statement import customers_with_balance, statement_for, statements_for  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=20_000)
    ap.add_argument("--customers", type=int, default=600)
    ap.add_argument("--pdfs", type=int, default=20, help="how many statements to render as PDF")
    args = ap.parse_args()
    t = time.perf_counter()
    ledger = generate_ledger(customers=args.customers, invoices=args.invoices)
    s = ledger.settings
    ledger = ledger.replace(settings=dataclasses.replace(s, extra={**s.extra, "late_interest_enabled": "yes"}))
    print(f"ledger: {len(ledger.invoices):,} invoices, {len(ledger.customers):,} customers "
          f"({time.perf_counter() - t:.2f} s to generate)")
    t = time.perf_counter()
    ids = customers_with_balance(ledger, DEFAULT_AS_OF)
    print(f"customers with an open balance: {len(ids):,} ({(time.perf_counter() - t) * 1000:.0f} ms)")
    t = time.perf_counter()
    one = statement_for(ledger, ids[0], DEFAULT_AS_OF)
    print(f"one statement (whole ledger scanned): {(time.perf_counter() - t) * 1000:.0f} ms, "
          f"{sum(len(x.movements) for x in one.sections)} movements")
    t = time.perf_counter()
    sts = statements_for(ledger, ids, DEFAULT_AS_OF)
    dt_all = time.perf_counter() - t
    print(f"all statements (data): {len(sts):,} in {dt_all:.2f} s ({dt_all / max(len(sts), 1) * 1000:.1f} ms each)")
    from cobro.pdf_statement import render_statement

    t = time.perf_counter()
    pages = 0
    size = 0
    for st in sts[: args.pdfs]:
        pdf = render_statement(st)
        size += len(pdf)
        pages += pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>")
    n = min(args.pdfs, len(sts))
    dt_pdf = time.perf_counter() - t
    print(f"PDFs: {n} in {dt_pdf:.2f} s ({dt_pdf / max(n, 1) * 1000:.0f} ms each, {size / max(n, 1) / 1024:.0f} KiB "
          f"each)")


if __name__ == "__main__":
    main()
