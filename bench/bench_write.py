"""Writing the ledger in place (issue 12): time and peak memory of the commands that write, against those that read.

Builds the demo ledger (``cobro demo``'s generator and template; 100,000 invoices and 2,000 customers by default),
then runs each command in a fresh process and prints wall time and peak RSS:

- ``cobro log`` of one contact (target: ≤ 2 s and ≤ 400 MB);
- ``cobro remind`` (send to the local sink + log the contacts + derived columns) vs ``remind --dry-run``
  (target: ≤ 2×);
- ``cobro refresh`` vs ``cobro aging --json`` (target: ≤ 3×).

Every write starts from a fresh copy of the built ledger. Usage::

    .venv/bin/python bench/bench_write.py                      # 100,000 invoices
    .venv/bin/python bench/bench_write.py --invoices 5000 --customers 200
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 20)

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from cobro_cli import run
rc = run(sys.argv[1:])
seconds = time.perf_counter() - t0
# VmHWM is this program's own peak (ru_maxrss would carry the parent's peak across exec)
with open("/proc/self/status") as fh:
    hwm = next((int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")), 0)
rss = hwm or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stdout.flush()
print("\n@@BENCH@@" + json.dumps({"rc": rc, "seconds": seconds, "rss_mb": rss / 1024}), file=sys.stderr)
"""


def build(folder: Path, invoices: int, customers: int) -> Path:
    sys.path.insert(0, str(REPO))
    from cobro.demo.generate import generate_ledger
    from sheets_templates import build_workbook
    from sync.cycle import refresh
    from sync.xlsx_store import XlsxStore

    path = folder / "ledger.xlsx"
    led = generate_ledger(customers=customers, invoices=invoices, seed=7, locale="es", as_of=AS_OF)
    build_workbook(path, locale="es", ledger=led, as_of=AS_OF)
    store = XlsxStore(path)
    refresh(store, AS_OF, store.load())
    return path


def measure(args: list[str], env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("@@BENCH@@")), None)
    if line is None:
        raise SystemExit(f"cobro {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    out = json.loads(line[len("@@BENCH@@"):])
    out["note"] = "; ".join(ln for ln in proc.stdout.splitlines() if ln.startswith(("Contacts logged", "E-mail:")))
    if out["rc"] not in (0, 1):
        raise SystemExit(f"cobro {' '.join(args)} exited {out['rc']}:\n{proc.stderr[-2000:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=2_000)
    ap.add_argument("--keep", help="folder to build in and keep (default: a temporary one)")
    ap.add_argument("--ledger", help="reuse a ledger built by an earlier --keep run instead of building one")
    ns = ap.parse_args()
    folder = Path(ns.keep) if ns.keep else Path(tempfile.mkdtemp(prefix="cobro-bench-write-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COBRO_SMTP")}
    env["HOME"] = str(folder / "home")
    env["PYTHONPATH"] = str(REPO)
    try:
        import time

        t0 = time.perf_counter()
        built = Path(ns.ledger) if ns.ledger else build(folder, ns.invoices, ns.customers)
        size = built.stat().st_size
        print(f"ledger: {ns.invoices:,} invoices, {ns.customers:,} customers, {size / 1e6:.1f} MB "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        day = AS_OF.isoformat()

        def fresh() -> Path:
            work = folder / "work"
            if work.exists():
                shutil.rmtree(work)
            work.mkdir()
            path = work / "ledger.xlsx"
            shutil.copy2(built, path)
            return path

        rows: list[tuple[str, dict[str, float]]] = []
        p = fresh()
        rows.append(("aging --json", measure(["aging", str(p), "--as-of", day, "--json"], env)))
        rows.append(("remind --dry-run", measure(["remind", str(p), "--as-of", day, "--dry-run"], env)))
        rows.append(("log (one contact)", measure(["log", str(p), "CLI-0001", "--outcome", "no_answer", "--as-of",
                                                   day, "--user", "bench"], env)))
        p = fresh()
        rows.append(("remind (send + log)", measure(["remind", str(p), "--as-of", day], env)))
        p = fresh()
        rows.append(("refresh", measure(["refresh", str(p), "--as-of", day], env)))
        print(f"{'command':<22}{'seconds':>10}{'peak MB':>10}")
        for name, r in rows:
            print(f"{name:<22}{r['seconds']:>10.2f}{r['rss_mb']:>10.0f}  {r.get('note', '')}")
        by = dict(rows)
        print(f"log: {by['log (one contact)']['seconds']:.2f} s, {by['log (one contact)']['rss_mb']:.0f} MB "
              "(target ≤ 2 s, ≤ 400 MB)")
        print(f"remind / dry-run: {by['remind (send + log)']['seconds'] / by['remind --dry-run']['seconds']:.2f}x "
              "(target ≤ 2x)")
        print(f"refresh / aging: {by['refresh']['seconds'] / by['aging --json']['seconds']:.2f}x (target ≤ 3x)")
    finally:
        if not ns.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
