"""Benchmark of the translation catalogue on the paths that call it per row: one ``i18n.text`` lookup, the
number marks of ``money.format_money``, and the worklist (a few texts per customer) on a generated ledger.

    .venv/bin/python bench/bench_i18n.py                        # 20,000 customers, 100,000 invoices
    .venv/bin/python bench/bench_i18n.py --invoices 20000 --customers 4000

The ledger comes from ``bench_core.synthetic_ledger`` (vectorized numpy, made in memory). Best and median of
``--repeat`` runs are printed with the load average (other work on the machine inflates every figure).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import AS_OF, synthetic_ledger  # noqa: E402

from cobro import i18n, money  # noqa: E402
from cobro.worklist import worklist  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the runs")
    pair = {"k": ("{n} invoices {a}–{b} days overdue ({amounts})",
                  "{n} facturas vencidas hace {a}–{b} días ({amounts})")}
    for name, fn in (
        ("positional pair (before)", lambda: pair["k"][1].format(n=3, a=1, b=2, amounts="x")),
        ("i18n.text (es)", lambda: i18n.text("worklist.reason.overdue_n", "es", n=3, a=1, b=2, amounts="x")),
        ("format_money (es)", lambda: money.format_money(123456789, "EUR", "es")),
    ):
        per = min(timeit.repeat(fn, number=100_000, repeat=3)) * 10
        print(f"{name:40s} {per:6.2f} µs per call")
    led = synthetic_ledger(a.customers, a.invoices)
    for locale in ("es", "en"):
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            report = worklist(led, AS_OF, locale)
            times.append(time.perf_counter() - t)
        print(f"worklist {locale} ({len(report.rows):,} customers){'':16s}best {min(times):6.3f} s   "
              f"median {statistics.median(times):6.3f} s")
    print(f"load average {os.getloadavg()[0]:.2f} after the runs")


if __name__ == "__main__":
    main()
