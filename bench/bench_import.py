"""Import a CSV export of N invoices (default 1,000,000) for 1,000 customers into a fresh ledger.

Target (issue 15): 1,000,000 rows in at most 60 s with memory in proportion to the columns kept (the old import
took 0.48 ms a row and was still running at 600 s). The import is timed as the user waits for it: read, validated
with the ledger, writes planned and the workbook saved. Prints the time of each phase and the peak resident memory.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--dry-run]

``--dry-run`` stops before the save (``import --dry-run``: the plan alone).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro.schema import INVOICES  # noqa: E402
from sheets_templates import build_workbook  # noqa: E402
from sync.imports import import_files, read_table  # noqa: E402
from sync.xlsx_store import XlsxStore  # noqa: E402


def export(rows: int, customers: int, seed: int = 7) -> tuple[bytes, bytes]:
    """An ERP's CSV exports as Spanish accountants get them: semicolons, day-first dates, decimal commas."""
    rng = random.Random(seed)
    cust = ["ID cliente;Nombre;Email;Moneda"]
    cust += [f"C{i:05d};Cliente {i} S.L.;pagos{i}@cliente.example;EUR" for i in range(customers)]
    inv = ["Factura;ID cliente;Fecha emisión;Vencimiento;Importe"]
    for i in range(rows):
        d, m = rng.randint(1, 28), rng.randint(1, 12)
        inv.append(f"F-{i:07d};C{rng.randrange(customers):05d};{d:02d}/{m:02d}/2025;{d:02d}/{m:02d}/2026;"
                   f"{rng.randint(1, 99_999)},{rng.randint(0, 99):02d}")
    return ("\n".join(cust) + "\n").encode("cp1252"), ("\n".join(inv) + "\n").encode("cp1252")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=1_000)
    ap.add_argument("--dry-run", action="store_true", help="plan the import only; do not save the workbook")
    args = ap.parse_args()

    t = time.perf_counter()
    cust_csv, inv_csv = export(args.rows, args.customers)
    mib = len(inv_csv) / 2**20
    print(f"generated {args.rows:,} invoice rows ({mib:.1f} MiB CSV) in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "cobranza.xlsx"
        build_workbook(book, locale="es")
        t = time.perf_counter()
        frame, _ = read_table(INVOICES, inv_csv, "facturas.csv")
        read_s = time.perf_counter() - t
        print(f"read (decode, CSV, raw table): {read_s:.1f} s — {read_s / args.rows * 1e6:.1f} µs a row")
        del frame
        t = time.perf_counter()
        report = import_files(XlsxStore(book), {"customers": ("clientes.csv", cust_csv),
                                                "invoices": ("facturas.csv", inv_csv)}, dry_run=args.dry_run)
        total = time.perf_counter() - t
        assert report.added.get("invoices") == args.rows, report.to_json()
        what = "read + validate + plan (dry run)" if args.dry_run else "read + validate + plan + save"
        print(f"import {what}: {total:.1f} s — {total / args.rows * 1e6:.1f} µs a row "
              f"(target: 1,000,000 rows in 60 s = 60 µs a row)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory: {peak:.0f} MiB ({len(inv_csv) / 2**20:.0f} MiB of CSV)")


if __name__ == "__main__":
    main()
