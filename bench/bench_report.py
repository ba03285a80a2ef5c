"""Benchmark of the collections report (issue 14): target ≤ 10 s for a 100,000-invoice ledger with a 12-month trend.

    .venv/bin/python bench/bench_report.py                         # 100,000 invoices, 3,000 customers
    .venv/bin/python bench/bench_report.py --invoices 20000 --render   # + HTML and PDF rendering

Times the pure figures (``cobro.report.build``: aging and KPIs at 12 month ends, worklist, flows, work, levels,
recommendations), the forecast and back-test the report shows, and with ``--render`` the HTML and PDF files
(matplotlib + reportlab), written to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro import forecast as fc  # noqa: E402
from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger  # noqa: E402
from cobro.report import build  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=3_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--render", action="store_true", help="also render HTML and PDF")
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    t = time.perf_counter()
    led = generate_ledger(customers=a.customers, invoices=a.invoices)
    print(f"generate {a.invoices:,} invoices, {a.customers:,} customers, {len(led.contacts):,} contacts: "
          f"{time.perf_counter() - t:.2f} s")
    t0 = time.perf_counter()
    facts = fc.facts(led)
    f = fc.forecast(led, DEFAULT_AS_OF, f=facts)
    b = fc.backtest(led, DEFAULT_AS_OF, months=a.months, f=facts)
    t1 = time.perf_counter()
    rep = build(led, DEFAULT_AS_OF, months=a.months, forecast=f, backtest=b)
    t2 = time.perf_counter()
    print(f"forecast + back-test: {t1 - t0:.2f} s; report figures ({a.months}-month trend): {t2 - t1:.2f} s; "
          f"total {t2 - t0:.2f} s")
    print(f"recommendations: {len(rep.recommendations)}; MAE days {b.mae_days}")
    if a.render:
        from sync.report_files import write_report

        with tempfile.TemporaryDirectory() as d:
            for name in ("report.html", "report.pdf"):
                t = time.perf_counter()
                p = write_report(rep, Path(d) / name)
                print(f"render {name}: {time.perf_counter() - t:.2f} s ({p.stat().st_size / 1e6:.2f} MB)")
        print(f"end to end (figures + forecast + HTML/PDF): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
