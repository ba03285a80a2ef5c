"""Benchmark of the pure core: aging, KPIs and the worklist on a large ledger held in memory.

Issue 2 target: aging + KPIs on 1,000,000 invoices in at most 1 s on the project's 2-core machine.

    .venv/bin/python bench/bench_core.py                         # 1,000,000 invoices, ~800,000 payments
    .venv/bin/python bench/bench_core.py --invoices 100000       # smaller
    .venv/bin/python bench/bench_core.py --generator synthetic   # the quick numpy ledger below

The ledger is generated in memory by ``cobro.demo.generate.generate_ledger`` (the demo's generator:
a year of invoices, realistic payments, contact history) or, with ``--generator synthetic``, by
``synthetic_ledger`` below (vectorized numpy, typed exactly as ``cobro.ledger`` frames: str text,
datetime64 dates, int64 minor units; two years, three currencies). Each step is run ``--repeat``
times; the best and the median are printed, with the machine's load average (other work on the
machine inflates every figure).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro.ledger import CONTACTS, CUSTOMERS, Ledger, Settings, empty_ledger, make_frame  # noqa: E402

AS_OF = dt.date(2025, 6, 30)


def _text(values: np.ndarray) -> pd.Series:
    return pd.Series(values.astype(object), dtype="str")


def synthetic_ledger(customers: int, invoices: int, seed: int = 1, as_of: dt.date = AS_OF) -> Ledger:
    """A realistic-looking ledger built with numpy: two years of invoices, 3 currencies (EUR, USD,
    CLP), credit notes, disputes, cancelled and written-off invoices, late, partial and future-dated
    payments, advances, promises to pay, and the default escalation ladder."""
    from cobro.defaults import default_levels

    rng = np.random.default_rng(seed)
    t = np.datetime64(as_of, "D")

    # Customers
    cust_ids = np.array([f"C{i:06d}" for i in range(customers)], dtype=object)
    cust_cur = rng.choice(np.array(["EUR", "USD", "CLP"], dtype=object), customers, p=[0.8, 0.15, 0.05])
    terms = rng.choice([30, 60], customers)
    status = rng.choice(np.array(["active", "paused", "legal"], dtype=object), customers, p=[0.97, 0.02, 0.01])
    no_contact = rng.random(customers) < 0.01
    cust = pd.DataFrame({
        "customer_id": _text(cust_ids),
        "name": _text(np.array([f"Cliente {i} S.L." for i in range(customers)], dtype=object)),
        "email": pd.Series([() if nc else (f"pagos{i}@example.com",) for i, nc in enumerate(no_contact)],
                           dtype=object),
        "phone": _text(np.where(no_contact, "", "+34 600 000 000").astype(object)),
        "currency": _text(cust_cur), "payment_terms_days": pd.array(terms, dtype="Int64"),
        "status": _text(status), "_row": np.arange(2, customers + 2, dtype=np.int64),
    })
    cust = make_frame(CUSTOMERS, cust)

    # Invoices: skewed towards big customers, 0.5 % issued after the as-of date.
    who = np.minimum((rng.pareto(1.2, invoices) * customers / 20).astype(np.int64), customers - 1)
    issue = t - rng.integers(0, 730, invoices).astype("timedelta64[D]")
    later = rng.random(invoices) < 0.005
    issue = np.where(later, t + rng.integers(1, 20, invoices).astype("timedelta64[D]"), issue)
    due = issue + terms[who].astype("timedelta64[D]")
    cur = cust_cur[who]
    scale = np.where(cur == "CLP", 1, 100)
    amount = (np.exp(rng.normal(6.5, 1.2, invoices)) * scale).astype(np.int64) + 1
    credit = rng.random(invoices) < 0.02
    amount = np.where(credit, -amount // 3 - 1, amount)
    u = rng.random(invoices)
    inv_status = np.where(u < 0.01, "disputed", np.where(u < 0.015, "cancelled",
                                                          np.where(u < 0.018, "written_off", "open"))).astype(object)
    inv_ids = np.char.add(np.char.add("F", issue.astype("datetime64[Y]").astype(str)),
                          np.char.add("-", np.char.zfill(np.arange(invoices).astype(str), 7))).astype(object)
    inv = pd.DataFrame({
        "invoice_id": _text(inv_ids), "customer_id": _text(cust_ids[who]),
        "issue_date": issue.astype("datetime64[ns]"), "due_date": due.astype("datetime64[ns]"),
        "currency": _text(cur), "amount": amount, "status": _text(inv_status),
        "_row": np.arange(2, invoices + 2, dtype=np.int64),
    })
    for c in ("description", "reference", "dispute_reason", "reminder_level"):
        inv[c] = _text(np.full(invoices, "", dtype=object))
    inv["reminder_level"] = _text(rng.choice(np.array(["", "due", "r1", "call"], dtype=object), invoices))
    for c in ("paid", "balance", "days_overdue"):
        inv[c] = pd.array(np.zeros(invoices, dtype=np.int64), dtype="Int64")
    inv["last_contact"] = np.full(invoices, np.datetime64("NaT"), dtype="datetime64[ns]")

    # Payments: 78 % of (positive, not cancelled) invoices paid in full with realistic lateness,
    # 5 % partially; some dated after the as-of date; plus advances (no invoice).
    payable = np.flatnonzero((amount > 0) & (inv_status != "cancelled"))
    r = rng.random(len(payable))
    full = payable[r < 0.78]
    part = payable[(r >= 0.78) & (r < 0.83)]
    rows = np.concatenate([full, part])
    p_amount = np.concatenate([amount[full], amount[part] // 2])
    late = rng.normal(8, 20, len(rows)).astype(np.int64)
    p_date = np.maximum(due[rows] + late.astype("timedelta64[D]"), issue[rows])
    n_adv = max(1, len(rows) // 50)
    adv_who = rng.integers(0, customers, n_adv)
    adv_date = t - rng.integers(0, 400, n_adv).astype("timedelta64[D]")
    adv_amount = (np.exp(rng.normal(6, 1, n_adv)) * np.where(cust_cur[adv_who] == "CLP", 1, 100)).astype(np.int64) + 1
    n_pay = len(rows) + n_adv
    pay = pd.DataFrame({
        "payment_id": _text(np.char.add("P", np.char.zfill(np.arange(n_pay).astype(str), 7)).astype(object)),
        "date": np.concatenate([p_date, adv_date]).astype("datetime64[ns]"),
        "customer_id": _text(np.concatenate([cust_ids[who[rows]], cust_ids[adv_who]])),
        "invoice_id": _text(np.concatenate([inv_ids[rows], np.full(n_adv, "", dtype=object)])),
        "amount": np.concatenate([p_amount, adv_amount]).astype(np.int64),
        "currency": _text(np.concatenate([cur[rows], cust_cur[adv_who]])),
        "method": _text(np.full(n_pay, "transfer", dtype=object)),
        "reference": _text(np.full(n_pay, "", dtype=object)),
        "source": _text(np.full(n_pay, "import", dtype=object)),
        "statement_line": _text(np.full(n_pay, "", dtype=object)),
        "_row": np.arange(2, n_pay + 2, dtype=np.int64),
    })

    # Contacts: promises to pay (some pending, some broken), reminders sent.
    n_con = max(1, customers // 2)
    c_who = rng.integers(0, customers, n_con)
    c_ts = t - rng.integers(0, 60, n_con).astype("timedelta64[D]")
    c_prom = c_ts + rng.integers(1, 20, n_con).astype("timedelta64[D]")
    is_prom = rng.random(n_con) < 0.5
    contacts = make_frame(CONTACTS, pd.DataFrame({
        "timestamp": c_ts.astype("datetime64[ns]") + np.timedelta64(10, "h"),
        "customer_id": cust_ids[c_who],
        "channel": np.where(is_prom, "phone", "email").astype(object),
        "direction": np.full(n_con, "out", dtype=object),
        "outcome": np.where(is_prom, "promise", "sent").astype(object),
        "promise_date": np.where(is_prom, c_prom, np.datetime64("NaT")).astype("datetime64[ns]"),
        "user": np.full(n_con, "ana", dtype=object),
    }))
    base = empty_ledger(Settings(locale="es"))
    return base.replace(customers=cust, invoices=inv[[c for c in base.invoices.columns]], payments=pay,
                        contacts=contacts, levels=default_levels())


def timed(fn: Callable[[], Any], repeat: int, cold: bool = True) -> tuple[float, float, Any]:
    """Best and median wall time of ``fn``; ``cold`` forgets remembered joins before each run (untimed)."""
    from cobro.joins import clear_cache

    times, result = [], None
    for _ in range(repeat):
        if cold:
            clear_cache()
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--generator", choices=["cobro", "synthetic"], default="cobro")
    args = ap.parse_args(argv)
    from cobro.aging import aging
    from cobro.kpis import kpis
    from cobro.worklist import worklist

    t0 = time.perf_counter()
    if args.generator == "cobro":
        from cobro.demo.generate import generate_ledger

        led = generate_ledger(customers=args.customers, invoices=args.invoices, seed=args.seed, as_of=AS_OF)
    else:
        led = synthetic_ledger(args.customers, args.invoices, args.seed)
    print(f"ledger: {len(led.customers):,} customers, {len(led.invoices):,} invoices, {len(led.payments):,} "
          f"payments, {len(led.contacts):,} contacts ({args.generator}, built in {time.perf_counter() - t0:.1f} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} before the runs; best and median of {args.repeat} runs")

    def both() -> tuple[Any, Any]:
        return aging(led, AS_OF), kpis(led, AS_OF, months=3)

    def line(label: str, best: float, med: float, extra: str = "") -> None:
        print(f"{label:52s} best {best:6.3f} s   median {med:6.3f} s{extra}")

    a = timed(lambda: aging(led, AS_OF), args.repeat)
    k = timed(lambda: kpis(led, AS_OF, months=3), args.repeat)
    ak = timed(both, args.repeat)
    w = timed(lambda: worklist(led, AS_OF), args.repeat)
    akw = timed(lambda: (*both(), worklist(led, AS_OF)), args.repeat)
    i = timed(lambda: aging(led, AS_OF, by="invoice"), args.repeat)
    j = timed(lambda: a[2].to_json(), 1, cold=False)  # type: ignore[attr-defined]
    line(f"aging by customer alone ({len(a[2].frame):,} rows)", a[0], a[1])  # type: ignore[attr-defined]
    line("kpis (3 months) alone", k[0], k[1])
    line("aging + kpis, one after the other (one shared join)", ak[0], ak[1], "   <- target <= 1 s")
    line(f"worklist alone ({len(w[2].rows):,} customers)", w[0], w[1])  # type: ignore[attr-defined]
    line("aging + kpis + worklist (the summary)", akw[0], akw[1])
    line("aging by invoice (open items) alone", i[0], i[1])
    line("aging to_json (by customer)", j[0], j[1])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} after the runs (other work on the machine inflates every figure)")


if __name__ == "__main__":
    main()
