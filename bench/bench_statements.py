"""Benchmark of the statement readers (issue 15 §2 "Statements"): time per file size for hostile shapes.

    .venv/bin/python bench/bench_statements.py            # sizes 1x, 2x, 4x of 100,000 units (about a minute)
    .venv/bin/python bench/bench_statements.py --quick    # 1x, 2x, 4x of 20,000

Each shape is generated at three sizes and read with the core dispatcher (``cobro.bank._dispatch``). Printed:
the file size, the seconds, and the growth factor of time per doubling of the size: a reader linear in the
file's size doubles (about 2.0); a quadratic one quadruples. Shapes: OFX with deeply nested unclosed
aggregates (the 133 s / 600 KB report), OFX nested and closed, 400k repeated ``<MEMO>`` (the 36 s report),
an MT940 with one movement and many ``:86:`` lines, a Norma 43 with many movements, a CSV with
many rows, a CAMT.053 with many entries, and pasted rows. Nothing is asserted: read the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cobro.bank import StatementError, _dispatch, read_pasted  # noqa: E402

OFX_HEAD = b"OFXHEADER:100\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR<BANKTRANLIST>"
OFX_TAIL = b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"


def ofx_nested_unclosed(n: int) -> bytes:
    return OFX_HEAD + b"<A>" * n + b"</A>" + b"</OFX>"


def ofx_nested_closed(n: int) -> bytes:
    return OFX_HEAD + b"<A>" * n + b"</A>" * n + b"</OFX>"


def ofx_memos(n: int) -> bytes:
    return OFX_HEAD + b"<STMTTRN><TRNAMT>1<DTPOSTED>20240101" + b"<MEMO>x" * n + b"</STMTTRN>" + OFX_TAIL


def ofx_statements_nested(n: int) -> bytes:
    trn = b"<STMTTRN><TRNAMT>1<DTPOSTED>20240101<FITID>1</STMTTRN>"
    return b"OFXHEADER:100\n<OFX>" + (b"<STMTRS><CURDEF>EUR<BANKTRANLIST>" + trn) * (n // 20) + b"</OFX>"


def mt940_86(n: int) -> bytes:
    return b":20:X\n:25:A\n:60F:C240101EUR1,00\n:61:240101C1,\n" + b":86:x\n" * n + b":62F:C240101EUR2,00\n"


def n43_movements(n: int) -> bytes:
    count = n // 10
    head = (b"11" + b"2100" + b"0418" + b"0200051332" + b"240301" + b"240331" + b"2" + b"00000000500000" + b"978"
            + b"3").ljust(80) + b"\r\n"
    mov = (b"22" + b"    " + b"0418" + b"240305" + b"240305" + b"02" + b"016" + b"2" + b"00000000000100"
           + b"0" * 22 + b"REF".ljust(16)) + b"\r\n"
    concept = b"2301" + b"TRANSFERENCIA DE CLIENTE FRA 2024-0001".ljust(76) + b"\r\n"
    total = 500000 + count * 100
    tail = (b"33" + b"2100" + b"0418" + b"0200051332" + b"00000" + b"0" * 14 + b"%05d" % (count % 100000)
            + b"%014d" % (count * 100) + b"2" + b"%014d" % total + b"978").ljust(80) + b"\r\n"
    return head + (mov + concept) * count + tail + b"88" + b"9" * 18 + b"%06d" % (count * 2 + 2) + b"\r\n"


def csv_rows(n: int) -> bytes:
    return b"Fecha;Concepto;Importe;Saldo\n" + b"".join(
        b"%02d/01/2024;Cobro %d;1,00;%d,00\n" % (k % 28 + 1, k, k + 1) for k in range(n // 5))


def camt_entries(n: int) -> bytes:
    ntry = (b"<Ntry><Amt Ccy='EUR'>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
            b"<BookgDt><Dt>2024-01-01</Dt></BookgDt><AddtlNtryInf>x</AddtlNtryInf></Ntry>")
    return (b"<Document><BkToCstmrStmt><Stmt><Id>1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
            + ntry * (n // 20) + b"</Stmt></BkToCstmrStmt></Document>")


SHAPES: list[tuple[str, Callable[[int], bytes], str]] = [
    ("OFX nested unclosed", ofx_nested_unclosed, "a.ofx"),
    ("OFX nested closed", ofx_nested_closed, "a.ofx"),
    ("OFX repeated MEMO", ofx_memos, "a.ofx"),
    ("OFX nested statements", ofx_statements_nested, "a.ofx"),
    ("MT940 :86: lines", mt940_86, "a.sta"),
    ("Norma 43 movements", n43_movements, "a.n43"),
    ("CSV rows", csv_rows, "a.csv"),
    ("CAMT.053 entries", camt_entries, "a.xml"),
]


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    try:
        fn()
    except StatementError:
        pass  # a clear refusal is an answer too; its time counts
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    base = 20_000 if args.quick else 100_000
    print(f"{'shape':<24} {'size':>10} {'seconds':>8} {'x per doubling':>15}")
    for name, make, filename in SHAPES:
        previous = None
        for factor in (1, 2, 4):
            data = make(base * factor)
            seconds = _time(lambda data=data, filename=filename: _dispatch(data, filename, "EUR"))
            growth = f"{seconds / previous:.2f}" if previous else ""
            previous = max(seconds, 1e-6)
            print(f"{name:<24} {len(data) / 1024:>8.0f}KB {seconds:>8.2f} {growth:>15}")
    previous = None
    for factor in (1, 2, 4):
        rows = [["Fecha", "Concepto", "Importe"]] + [[f"{k % 28 + 1:02d}/01/2024", f"x{k}", "1,00"]
                                                    for k in range(base // 10 * factor)]
        seconds = _time(lambda rows=rows: read_pasted(rows))
        growth = f"{seconds / previous:.2f}" if previous else ""
        previous = max(seconds, 1e-6)
        print(f"{'pasted rows':<24} {len(rows):>8}rw {seconds:>8.2f} {growth:>15}")


if __name__ == "__main__":
    main()
