"""Benchmark and figures of the payment forecast (issue 14): speed, and the back-test's errors.

Targets: the forecast for 100,000 open invoices ≤ 5 s; the back-test over 12 months of a 100,000-invoice history
≤ 60 s. The ledger is the demo's (``cobro.demo.generate.generate_ledger``, customers with payment habits),
generated in memory.

    .venv/bin/python bench/bench_forecast.py                                  # 100,000 invoices, 3,000 customers
    .venv/bin/python bench/bench_forecast.py --invoices 1500 --customers 60  # the demo ledger's size
    .venv/bin/python bench/bench_forecast.py --open 100000                    # + a forecast over 100,000 open ones

``--open N`` also generates a ledger of 5 × N invoices (about a fifth of the demo's invoices are open at its as-of
date) and times the forecast of all its open invoices, facts included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro import forecast as fc  # noqa: E402
from cobro.demo.generate import DEFAULT_AS_OF, generate_ledger  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=3_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--open", type=int, default=0, help="also time a forecast with at least this many open invoices")
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    t = time.perf_counter()
    led = generate_ledger(customers=a.customers, invoices=a.invoices, seed=a.seed)
    print(f"generate {a.invoices:,} invoices, {a.customers:,} customers: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    facts = fc.facts(led)
    t_facts = time.perf_counter() - t
    t = time.perf_counter()
    f = fc.forecast(led, DEFAULT_AS_OF, f=facts)
    t_fc = time.perf_counter() - t
    print(f"facts {t_facts:.2f} s; forecast of {len(f.invoices):,} open invoices as of {DEFAULT_AS_OF}: "
          f"{t_fc:.2f} s (facts + forecast {t_facts + t_fc:.2f} s)")
    t = time.perf_counter()
    bt = fc.backtest(led, DEFAULT_AS_OF, months=a.months, f=facts)
    print(f"back-test over {a.months} month ends: {time.perf_counter() - t:.2f} s (+ facts {t_facts:.2f} s)")
    d = bt.to_json()
    d.pop("per_cutoff")
    d.pop("cutoffs")
    print(json.dumps(d, indent=1))
    if a.open:
        n = a.open * 5
        t = time.perf_counter()
        big = generate_ledger(customers=max(a.customers, n // 35), invoices=n, seed=a.seed)
        print(f"generate {n:,} invoices: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        f = fc.forecast(big, DEFAULT_AS_OF)
        print(f"forecast (facts included) of {len(f.invoices):,} open invoices as of {DEFAULT_AS_OF}: "
              f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
