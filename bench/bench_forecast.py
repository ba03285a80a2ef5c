"""Benchmark and figures of the payment forecast (issue 14): speed, and the back-test's errors.

Targets: the forecast for 100,000 open invoices ≤ 5 s; the back-test over 12 months of a 100,000-invoice history
≤ 60 s. The ledger is the demo's (``cobro.demo.generate.generate_ledger``, customers with payment habits),
generated in memory.

    .venv/bin/python bench/bench_forecast.py                                  # 100,000 invoices, 3,000 customers
    .venv/bin/python bench/bench_forecast.py --invoices 1500 --customers 60  # the demo ledger's size
    .venv/bin/python bench/bench_forecast.py --open 100000                    # + a forecast over 100,000 open ones

``--gbm`` also scores scikit-learn's HistGradientBoostingRegressor (absolute error) on the same walk-forward, trained
at each cut-off on the invoices open at the 6 earlier month ends whose payment was known by then (needs
``pip install scikit-learn``; measured worse than the model on the demo ledgers, and ~50 MB + scipy to install).

``--open N`` also generates a ledger of 5 × N invoices (about a fifth of the demo's invoices are open at its as-of
date) and times the forecast of all its open invoices, facts included.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    ap.add_argument("--gbm", action="store_true", help="also score a gradient-boosting model (scikit-learn)")
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
    if a.gbm:
        compare_gradient_boosting(led, facts, a.months)
    if a.open:
        n = a.open * 5
        t = time.perf_counter()
        big = generate_ledger(customers=max(a.customers, n // 35), invoices=n, seed=a.seed)
        print(f"generate {n:,} invoices: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        f = fc.forecast(big, DEFAULT_AS_OF)
        print(f"forecast (facts included) of {len(f.invoices):,} open invoices as of {DEFAULT_AS_OF}: "
              f"{time.perf_counter() - t:.2f} s")


def compare_gradient_boosting(led: object, f: fc.Facts, months: int) -> None:
    """Walk-forward MAE (days) of HistGradientBoostingRegressor next to the model's, on the same invoices."""
    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError:
        print("--gbm: scikit-learn is not installed (pip install scikit-learn)")
        return
    import numpy as np

    end = (DEFAULT_AS_OF - dt.date(1970, 1, 1)).days
    cuts = [(c - dt.date(1970, 1, 1)).days for c in fc.month_ends(DEFAULT_AS_OF, months + 6)]

    def features(cutoff: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        train = np.flatnonzero(f.eligible & (f.settled <= cutoff))
        delay = f.settled[train] - f.due[train]
        nc = len(f.customers)
        cnt = np.bincount(f.customer[train], minlength=nc)
        tot = np.bincount(f.customer[train], weights=delay, minlength=nc)
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        age = cutoff - f.due[rows]
        n_c, q, m = fc._conditional(f.customer[train], delay, f.customer[rows], age, (0.5,))
        p = fc.predict(f, cutoff, rows)
        c = f.customer[rows]
        x = np.column_stack([age, f.due[rows] - f.issue[rows], np.log1p(np.maximum(f.amount[rows], 1)), mean[c],
                             cnt[c], np.where(n_c > 0, q[0], np.nan), np.where(n_c > 0, m, np.nan), n_c,
                             p.expected - f.due[rows]])
        return x, p.expected

    data = {cut: (rows, *features(cut, rows)) for cut in cuts for rows in [fc.open_rows(f, cut)]}
    err_m, err_g = [], []
    t = time.perf_counter()
    for cut in cuts[6:]:
        xs, ys = [], []
        for cut2 in cuts:
            if cut2 >= cut:
                break
            rows, x, _ = data[cut2]
            act = f.settled[rows]
            ok = act <= cut
            xs.append(x[ok])
            ys.append((act - cut2 - 1)[ok])
        rows, x, pe = data[cut]
        act = f.settled[rows]
        done = act <= end
        err_m.append(np.abs(pe - act)[done])
        if sum(len(y) for y in ys) < 200:
            err_g.append(np.abs(pe - act)[done])
            continue
        g = HistGradientBoostingRegressor(loss="absolute_error", max_iter=200, random_state=0)
        g.fit(np.vstack(xs), np.concatenate(ys))
        pr = cut + 1 + np.maximum(np.rint(g.predict(x)).astype(np.int64), 0)
        err_g.append(np.abs(pr - act)[done])
    print(f"gradient boosting vs model, MAE days: {np.concatenate(err_g).mean():.2f} vs "
          f"{np.concatenate(err_m).mean():.2f} ({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
