"""``cobro statement``: a customer's statement of account as an A4 PDF (or one per customer with ``--all``).

Registered on the ``cobro`` group in ``cobro_cli/__init__.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import click

from cobro.errors import UserError
from cobro_cli.common import _as_of_option, _today_if_none, load_ledger


def _file_name(customer_id: str, as_of: dt.date) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", customer_id).strip("._") or "customer"
    return f"statement-{safe}-{as_of:%Y-%m-%d}.pdf"


def _logo(ledger_path: str, ledger: Any) -> bytes | None:
    """Settings ``logo``: a PNG or JPEG file, relative to the ledger's folder; None when absent or unreadable."""
    name = str(ledger.settings.extra.get("logo", "") or "").strip()
    if not name:
        return None
    path = Path(name)
    if not path.is_absolute():
        path = Path(ledger_path).resolve().parent / path
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg") or not path.is_file():
        click.echo(f"Settings logo {name!r}: no PNG or JPEG file there; the statements go without a logo.", err=True)
        return None
    return path.read_bytes()


def statement_pdf(ledger: Any, customer: str, as_of: dt.date, logo: bytes | None = None) -> tuple[str, bytes]:
    """(customer id, PDF bytes) of one customer's statement — what hosts (the mailer's attachment) call."""
    try:
        from cobro.pdf_statement import render_statement
    except ImportError:
        raise UserError("statements need reportlab and segno: install cobro with its letters extra "
                        "(pip install 'cobro[letters]')") from None
    from cobro.statement import statement_for

    st = statement_for(ledger, customer, as_of)
    return st.customer["customer_id"], render_statement(st, logo=logo)


@click.command("statement")
@click.argument("ledger_path", metavar="LEDGER", type=click.Path(dir_okay=False))
@click.argument("customer", required=False)
@_as_of_option
@click.option("--out", "out", type=click.Path(), default=None,
              help="The PDF to write (one customer), or the folder for --all. Default: statement-ID-DATE.pdf here, "
                   "or the folder statements-DATE.")
@click.option("--all", "all_", is_flag=True, help="One statement per customer with an open balance.")
def statement_cmd(ledger_path: str, customer: str | None, as_of: dt.date | None, out: str | None,
                  all_: bool) -> None:
    """A customer's statement of account (A4 PDF): open invoices, credits, payments with a running balance, the
    aging of what is open, how to pay (with the EPC QR code for euros), and late-payment interest when Settings
    enable it.

    \b
    Example:  cobro statement cobro.xlsx CLI-0001 --as-of 2026-11-20 --out CLI-0001.pdf
              cobro statement cobro.xlsx --all --out extractos/
    """
    from sync.fileio import atomic_write

    if bool(customer) == bool(all_):
        raise UserError("give a CUSTOMER (its Customer ID) or --all, not both")
    _store, ledger = load_ledger(ledger_path)
    day = _today_if_none(as_of, ledger)
    logo = _logo(ledger_path, ledger)
    if customer:
        cid, pdf = statement_pdf(ledger, customer, day, logo)
        target = Path(out) if out else Path(_file_name(cid, day))
        if target.is_dir():
            target = target / _file_name(cid, day)
        atomic_write(target, pdf)
        click.echo(f"Wrote the statement of {cid} as of {day:%Y-%m-%d}: {target}")
        return
    from cobro.statement import customers_with_balance, statements_for

    folder = Path(out) if out else Path(f"statements-{day:%Y-%m-%d}")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder}: with --all this must be a folder")
    ids = customers_with_balance(ledger, day)
    if ids:  # a missing PDF library is said before any file is written
        statement_pdf(ledger, ids[0], day, logo)
    folder.mkdir(parents=True, exist_ok=True)
    from cobro.pdf_statement import render_statement

    for st in statements_for(ledger, ids, day):  # the ledger's balances computed once for all of them
        atomic_write(folder / _file_name(st.customer["customer_id"], day), render_statement(st, logo=logo))
    click.echo(f"Wrote {len(ids)} statements as of {day:%Y-%m-%d} in {folder}")
