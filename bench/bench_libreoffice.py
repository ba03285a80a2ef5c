"""Aging of 100,000 invoices: cobro vs LibreOffice recalculating the workbook's Summary formulas.

Generates a ledger (``cobro.demo.generate.generate_ledger``), writes it as a cobro workbook with
``sheets_templates.build_workbook`` (Summary as-of cell fixed to the ledger's as-of date), then in one run:

- cobro: ``cobro.aging.aging`` on the ledger in memory (best of several runs), and the .xlsx store's
  load + aging (what ``cobro aging LEDGER`` does);
- LibreOffice: the same workbook opened headless through UNO, ``calculateAll()`` timed (every formula:
  the tables' calculated helper columns and the Summary's SUMIFS), and the Summary figures read back and
  compared with cobro's to the cent. Without a Python that can ``import uno`` it falls back on timing a
  headless conversion with recalculation minus one without (load + save only).

Prints both times and the ratio (issue 2 target: cobro at least 20x faster).

    .venv/bin/python bench/bench_libreoffice.py [--invoices 100000] [--customers 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro import money  # noqa: E402
from cobro.ledger import Ledger  # noqa: E402
from sheets_templates import build_workbook, read_summary, summary_layout  # noqa: E402
from sheets_templates.libreoffice import convert, make_profile, soffice_path  # noqa: E402

AS_OF = dt.date(2025, 6, 30)

_UNO_SCRIPT = textwrap.dedent(r'''
    import json, os, subprocess, sys, time
    import uno
    from com.sun.star.beans import PropertyValue

    soffice, profile, path, pipe, sheet, first_row, ncols, nrows = sys.argv[1:9]
    first_row, ncols, nrows = int(first_row), int(ncols), int(nrows)
    proc = subprocess.Popen([soffice, "-env:UserInstallation=" + profile, "--headless", "--invisible",
                             "--norestore", "--nologo", "--nolockcheck",
                             "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = None
        for _ in range(600):
            try:
                ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
                break
            except Exception:
                time.sleep(0.1)
        if ctx is None:
            raise SystemExit("could not connect to LibreOffice")
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        def prop(name, value):
            p = PropertyValue(); p.Name = name; p.Value = value; return p
        t0 = time.perf_counter()
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0,
                                           (prop("Hidden", True),))
        t1 = time.perf_counter()
        doc.calculateAll()
        t2 = time.perf_counter()
        ws = doc.Sheets.getByName(sheet)
        rows = []
        for r in range(first_row, first_row + nrows):
            cur = ws.getCellByPosition(0, r).getString()
            rows.append([cur] + [ws.getCellByPosition(c, r).getValue() for c in range(1, ncols)])
        doc.close(True)
        print(json.dumps({"load": t1 - t0, "calculate": t2 - t1, "rows": rows}))
    finally:
        try:
            desktop.terminate()
        except Exception:
            pass
        try:
            proc.wait(timeout=30)
        except Exception:
            proc.kill()
''')


def uno_python() -> str | None:
    """A Python interpreter that can ``import uno`` (Debian's python3-uno), or None."""
    for cand in (sys.executable, "/usr/bin/python3", shutil.which("python3") or ""):
        if cand and Path(cand).exists():
            ok = subprocess.run([cand, "-c", "import uno"], capture_output=True, check=False)
            if ok.returncode == 0:
                return cand
    return None


def make_ledger(customers: int, invoices: int, seed: int, synthetic: bool = False, sort: bool = True) -> Ledger:
    if synthetic:
        return _synthetic(customers, invoices, seed)
    try:
        from cobro.demo.generate import generate_ledger
    except ImportError:  # pragma: no cover - before the generator existed
        return _synthetic(customers, invoices, seed)
    led = generate_ledger(customers=customers, invoices=invoices, seed=seed, locale="es", as_of=AS_OF)
    return in_id_order(led) if sort else led


def in_id_order(led: Ledger) -> Ledger:
    """Invoices listed by number (credit-note series after invoices), as an invoice register usually is.

    The Summary's lookups from Payments to Invoices are a binary search when the Invoices table is in id
    order and a linear scan per payment otherwise (LibreOffice 7.4 has no faster exact lookup), so the
    order decides whether LibreOffice needs seconds or tens of minutes; cobro does not care.
    """
    inv = led.invoices
    key = inv["invoice_id"].str.casefold()
    return led.replace(invoices=inv.iloc[key.argsort(kind="stable")].reset_index(drop=True))


def _synthetic(customers: int, invoices: int, seed: int) -> Ledger:
    import numpy as np
    import pandas as pd

    from cobro.defaults import default_levels, default_templates
    from cobro.ledger import Settings, empty_frame, make_frame
    from cobro.schema import CONTACTS, CUSTOMERS, INVOICES, PAYMENTS, PLANS

    rng = np.random.default_rng(seed)
    cust_ids = [f"C{i:05d}" for i in range(customers)]
    cur = np.where(rng.random(customers) < 0.85, "EUR", "USD")
    cust = make_frame(CUSTOMERS, pd.DataFrame({"customer_id": cust_ids, "name": [f"Cliente {i}" for i in
                                                                                   range(customers)],
                                               "currency": cur}))
    who = rng.integers(0, customers, invoices)
    issue = pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 365, invoices), unit="D")
    amount = rng.integers(1000, 500000, invoices)
    amount[rng.random(invoices) < 0.03] *= -1
    inv = make_frame(INVOICES, pd.DataFrame({
        "invoice_id": [f"F{i:07d}" for i in range(invoices)], "customer_id": np.array(cust_ids)[who],
        "issue_date": issue, "due_date": issue + pd.Timedelta(days=30), "currency": cur[who], "amount": amount}))
    paid = np.flatnonzero((rng.random(invoices) < 0.7) & (amount > 0))
    pay = make_frame(PAYMENTS, pd.DataFrame({
        "date": inv["due_date"].to_numpy()[paid] + pd.to_timedelta(rng.integers(-20, 60, len(paid)), unit="D"),
        "customer_id": inv["customer_id"].to_numpy()[paid], "invoice_id": inv["invoice_id"].to_numpy()[paid],
        "amount": amount[paid], "currency": cur[who][paid]}))
    return Ledger(customers=cust, invoices=inv, payments=pay, contacts=empty_frame(CONTACTS),
                  plans=empty_frame(PLANS), levels=default_levels("es"), templates=default_templates(),
                  settings=Settings())


def best_of(fn, runs: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="folder to keep the workbook in (default: a temporary folder)")
    ap.add_argument("--synthetic", action="store_true", help="a plain synthetic ledger instead of cobro.demo.generate")
    ap.add_argument("--as-generated", action="store_true",
                    help="keep the generator's invoice order (credit notes interleaved): LibreOffice falls back on a "
                         "linear lookup per payment and takes far longer")
    args = ap.parse_args()

    from cobro.aging import aging
    from sync.xlsx_store import XlsxStore

    if soffice_path() is None:
        raise SystemExit("LibreOffice (soffice) is not installed: nothing to compare with")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cobro-bench-lo-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ledger = make_ledger(args.customers, args.invoices, args.seed, args.synthetic, not args.as_generated)
    t_gen = time.perf_counter() - t0
    path = work / "bench-aging.xlsx"
    t0 = time.perf_counter()
    build_workbook(path, locale="es", ledger=ledger, as_of=AS_OF)
    t_build = time.perf_counter() - t0
    print(f"ledger: {len(ledger.invoices):,} invoices, {len(ledger.payments):,} payments, "
          f"{len(ledger.customers):,} customers (generated in {t_gen:.1f} s)")
    print(f"workbook: {path} ({path.stat().st_size / 1e6:.1f} MB, built in {t_build:.1f} s)")

    t_mem, report = best_of(lambda: aging(ledger, AS_OF), 5)
    t_file, _ = best_of(lambda: aging(XlsxStore(path).load(), AS_OF), 2)
    totals = report.totals
    currencies = [ledger.settings.base_currency] + sorted(c for c in totals.index if c !=
                                                          ledger.settings.base_currency)
    layout = summary_layout(currencies, ledger.settings.aging_buckets)

    pyuno = uno_python()
    soffice = soffice_path()
    assert soffice is not None
    with tempfile.TemporaryDirectory(prefix="cobro-lo-profile-") as prof:
        if pyuno:
            make_profile(prof, recalc=False)  # load as saved; calculateAll() does every formula, timed
            pipe = f"cobro_bench_{os.getpid()}"
            res = subprocess.run([pyuno, "-c", _UNO_SCRIPT, soffice, Path(prof).resolve().as_uri(), str(path), pipe,
                                  "Resumen", str(layout.first_currency_row), str(len(layout.columns)),
                                  str(len(currencies))], capture_output=True, text=True, check=False, timeout=3600)
            if res.returncode != 0:
                raise SystemExit(f"LibreOffice via UNO failed: {res.stderr[-2000:]}")
            data = json.loads(res.stdout.strip().splitlines()[-1])
            t_lo, t_lo_load = data["calculate"], data["load"]
            sheet = {r[0]: dict(zip(layout.columns[1:], r[1:], strict=True)) for r in data["rows"]}
            how = "UNO calculateAll() on the loaded workbook"
        else:
            make_profile(prof, recalc=False)
            plain = convert(path, work / "plain", prof, "xlsx", timeout=3600)
        if not pyuno:
            with tempfile.TemporaryDirectory(prefix="cobro-lo-profile-") as prof2:
                make_profile(prof2, recalc=True)
                recalced = convert(path, work / "recalc", prof2, "xlsx", timeout=3600)
            t_lo, t_lo_load = recalced.seconds - plain.seconds, plain.seconds
            sheet = read_summary(recalced.path)
            how = "headless conversion with recalculation minus one without"

    mismatches = 0
    for cur in currencies:
        for col in layout.columns[1:]:
            want = int(totals.loc[cur, col]) if cur in totals.index else 0
            got = money.round_to_minor(Decimal(repr(float(sheet[cur][col]))), cur)
            if got != want:
                mismatches += 1
                print(f"  MISMATCH {cur} {col}: LibreOffice {sheet[cur][col]!r}, cobro "
                      f"{money.format_decimal(want, cur)}")
    print(f"figures: {len(currencies)} currencies x {len(layout.columns) - 1} columns, "
          f"{'all equal to the cent' if not mismatches else f'{mismatches} MISMATCHES'}")
    print()
    print(f"{'':40s}{'seconds':>10s}")
    print(f"{'cobro aging (in memory)':40s}{t_mem:10.3f}")
    print(f"{'cobro load .xlsx + aging':40s}{t_file:10.3f}")
    print(f"{'LibreOffice load (no recalculation)':40s}{t_lo_load:10.3f}")
    print(f"{'LibreOffice recalculation':40s}{t_lo:10.3f}   ({how})")
    print()
    print(f"ratio LibreOffice recalculation / cobro aging in memory: {t_lo / t_mem:8.1f}x  (target >= 20x)")
    print(f"ratio LibreOffice recalculation / cobro load + aging:    {t_lo / t_file:8.1f}x")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
