"""The ``cobro`` command line: a thin host over the core (``cobro/``) and the stores (``sync/``).

Every user mistake ends with a message and exit status 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from cobro.errors import EXIT_USER_ERROR, UserError
from cobro_cli.common import (  # noqa: E402,F401 - re-exported: tests and hosts import them from cobro_cli
    DATE,
    CobroGroup,
    DateType,
    _as_of_option,
    _json_option,
    _today_if_none,
    _user_errors,
    emit_json,
    load_ledger,
    parse_date_option,
    progress,
)

# ------------------------------------------------------------------------------------ group


@click.group(cls=CobroGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="cobro")
def main() -> None:
    """cobro — collections that live in your spreadsheet.

    \b
    Start with the demo:      cobro demo
    A new empty ledger:       cobro new cobro.xlsx --locale es
    Pour in ERP exports:      cobro import cobro.xlsx --customers clientes.csv --invoices facturas.csv
    Who owes what, how old:   cobro aging cobro.xlsx --as-of 2026-11-20
    KPIs:                     cobro kpis cobro.xlsx --as-of 2026-11-20
    Whom to call first:       cobro worklist cobro.xlsx
    Write derived columns:    cobro refresh cobro.xlsx
    """


# ------------------------------------------------------------------------------------ new


@main.command("new")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--locale", type=click.Choice(["es", "en"]), default="es", show_default=True,
              help="Language of sheet names, headers and drop-downs.")
@click.option("--google-sheet", "google_sheet", is_flag=True,
              help="Create the ledger as a Google Sheet titled PATH (credentials: COBRO_GOOGLE_CREDENTIALS).")
@click.option("--share", "share", multiple=True, metavar="EMAIL",
              help="With --google-sheet: share it (as editor) with this person; repeat for more.")
def new_cmd(path: str, locale: str, google_sheet: bool, share: tuple[str, ...]) -> None:
    """Create a new, empty cobro ledger: a workbook at PATH, or a Google Sheet titled PATH.

    \b
    Example:  cobro new cobranza.xlsx --locale es
              cobro new "Cobranza 2027" --google-sheet --share ana@empresa.es --share luis@empresa.es
    """
    if google_sheet:
        from cobro.addresses import is_valid_email
        from sheets_templates.gsheet import create_google_sheet
        from sync.gsheets import client

        bad = [e for e in share if not is_valid_email(e)]
        if bad:
            raise UserError(f"--share: not an e-mail address: {', '.join(bad)}")
        key = create_google_sheet(client(), path, locale=locale, share_with=share)
        click.echo(f"Created the Google Sheet {path!r} ({locale}): https://docs.google.com/spreadsheets/d/{key}/edit\n"
                   f"Use it as the ledger of any command, e.g. `cobro worklist {key}`.")
        return
    if share:
        raise UserError("--share goes with --google-sheet")
    from sheets_templates import new_ledger

    new_ledger(path, locale)
    click.echo(f"Created {path} ({locale}). Open it in Excel or LibreOffice, or import your exports with "
               f"`cobro import {path} --customers … --invoices …`.")


# ------------------------------------------------------------------------------------ import


@main.command("import")
@click.argument("ledger", type=click.Path(dir_okay=False))
@click.option("--customers", type=click.Path(exists=True, dir_okay=False), help="Customers export (CSV or XLSX).")
@click.option("--invoices", type=click.Path(exists=True, dir_okay=False), help="Invoices export (CSV or XLSX).")
@click.option("--payments", type=click.Path(exists=True, dir_okay=False), help="Payments export (CSV or XLSX).")
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@_json_option
def import_cmd(ledger: str, customers: str | None, invoices: str | None, payments: str | None, dry_run: bool,
               as_json: bool) -> None:
    """Upsert CSV/XLSX exports into LEDGER by id. All or nothing.

    Headers may be canonical keys or the Spanish/English headers; delimiter and encoding
    (UTF-8, UTF-8 with BOM, Latin-1/cp1252) are detected; 1.234,56 and 1,234.56 amounts and
    31/03/2024 or ISO dates are read (an ambiguous date column is settled by the whole column).
    A file with any bad row changes nothing: every problem is listed with file, line and column.

    \b
    Example:  cobro import cobranza.xlsx --customers clientes.csv --invoices facturas.csv
    """
    from cobro.ledger import LedgerError
    from sync.imports import import_files, read_import_file
    from sync.stores import open_store

    files = {k: read_import_file(v) for k, v in
             (("customers", customers), ("invoices", invoices), ("payments", payments)) if v}
    if not files:
        raise UserError("nothing to import: give --customers, --invoices and/or --payments")
    store = open_store(ledger)
    try:
        report = import_files(store, files, dry_run=dry_run)
    except LedgerError as e:
        rejected = len({(p.sheet, p.row) for p in e.problems})
        if as_json:
            emit_json({"ok": False, "rejected_rows": rejected, "problems": [p.as_dict(e.locale) for p in e.problems]})
            sys.exit(EXIT_USER_ERROR)
        click.echo(f"cobro: {rejected} row(s) rejected; nothing was imported.", err=True)
        raise
    if as_json:
        emit_json({"ok": True, "dry_run": dry_run, **report.to_json()})
        return
    rows = [[k, report.added.get(k, 0), report.updated.get(k, 0), report.unchanged.get(k, 0),
             report.rejected.get(k, 0)] for k in files]
    from cobro.textable import render_table

    click.echo(render_table(["sheet", "added", "updated", "unchanged", "rejected"], rows,
                            [False, True, True, True, True]))
    for k, cols in report.ignored_columns.items():
        if cols:
            click.echo(f"{k}: columns not in the ledger schema were ignored: {', '.join(cols)}")
    _echo_terms_warnings(report.warnings, store)
    click.echo("Dry run: nothing written." if dry_run else f"Saved {ledger}.")


# ------------------------------------------------------------------------------------ reports


@main.command("aging")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of_option
@click.option("--buckets", default=None, help="Bucket bounds in days, e.g. 30,60,90,120. Default: Settings.")
@click.option("--basis", type=click.Choice(["due_date", "issue_date"]), default=None,
              help="Age from the due date (default) or the issue date.")
@click.option("--by", type=click.Choice(["customer", "invoice"]), default="customer", show_default=True,
              help="One row per customer and currency, or one per open item (invoice, credit note, advance).")
@_json_option
def aging_cmd(ledger: str, as_of: dt.date | None, buckets: str | None, basis: str | None, by: str,
              as_json: bool) -> None:
    """Accounts-receivable aging per customer and currency (or per open item).

    \b
    Example:  cobro aging cobranza.xlsx --as-of 2026-11-20 --buckets 30,60,90 --by customer
    """
    from cobro.aging import aging

    _, led = load_ledger(ledger)
    bounds = None
    if buckets:
        try:
            bounds = [int(x) for x in buckets.split(",") if x.strip()]
        except ValueError:
            raise UserError(f"--buckets {buckets!r}: expected increasing whole numbers such as 30,60,90,120") from None
        if not bounds or bounds != sorted(set(bounds)) or bounds[0] <= 0:
            raise UserError(f"--buckets {buckets!r}: expected increasing whole numbers such as 30,60,90,120")
    report = aging(led, _today_if_none(as_of, led), buckets=bounds, basis=basis, by=by)
    data = report.to_json()
    if as_json:
        emit_json(data)
        return
    click.echo(format_aging(data, by))


def _render(table: list[list[Any]], **kw: Any) -> str:
    """A report table as text: headers spelled for people, numbers right-aligned."""
    from cobro.textable import render_table

    header, *rows = table
    right = [bool(rows) and all(_numeric(r[i]) for r in rows) for i in range(len(header))]
    return render_table([str(h).replace("_", " ") for h in header], rows, right, **kw)


def _numeric(v: object) -> bool:
    text = str(v)
    return v is None or text == "" or text.lstrip("-").replace(".", "", 1).isdigit()


def format_aging(data: dict[str, Any], by: str) -> str:
    from cobro.report_tables import aging_table, aging_totals_table

    out = [f"Aging as of {data['as_of']}", _render(aging_table(data, by))]
    if data.get("totals"):
        out += ["", "Totals per currency", _render(aging_totals_table(data))]
    return "\n".join(out)


@main.command("kpis")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of_option
@click.option("--months", type=click.IntRange(1, 36), default=3, show_default=True,
              help="Length of the period in calendar months, ending with the as-of date's month.")
@_json_option
def kpis_cmd(ledger: str, as_of: dt.date | None, months: int, as_json: bool) -> None:
    """Collection KPIs per currency: DSO, countback DSO, best possible DSO, ADD and CEI.

    \b
    Example:  cobro kpis cobranza.xlsx --as-of 2026-11-20 --months 3
    """
    from cobro.kpis import kpis

    _, led = load_ledger(ledger)
    data = kpis(led, _today_if_none(as_of, led), months=months).to_json()
    if as_json:
        emit_json(data)
        return
    click.echo(format_kpis(data))


def format_kpis(data: dict[str, Any]) -> str:
    from cobro.report_tables import kpi_table

    period = data["period"]
    out = [f"KPIs as of {data['as_of']} over {data['months']} month(s) ({period['start']} – {period['end']})",
           _render(kpi_table(data))]
    out += [f"Note: {note}" for note in data["notes"]]
    return "\n".join(out)


@main.command("worklist")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of_option
@click.option("--limit", type=int, default=25, show_default=True, help="How many customers to show (0 = all).")
@_json_option
def worklist_cmd(ledger: str, as_of: dt.date | None, limit: int, as_json: bool) -> None:
    """Customers ranked by whom to contact first, with the reason and the next action.

    \b
    Example:  cobro worklist cobranza.xlsx --as-of 2026-11-20 --limit 10
    """
    from cobro.worklist import worklist

    _, led = load_ledger(ledger)
    data = worklist(led, _today_if_none(as_of, led)).to_json()
    if as_json:
        emit_json(data)
        return
    click.echo(format_worklist(data, limit))


def format_worklist(data: dict[str, Any], limit: int = 25) -> str:
    from cobro.report_tables import worklist_table

    header, *rows = worklist_table(data, limit)
    at = header.index("score")  # two decimals in every row (8.00, not 8.0), as the other figures
    rows = [[*r[:at], f"{float(r[at]):.2f}", *r[at + 1:]] for r in rows]
    numbered = [["#", *header]] + [[i, *r] for i, r in enumerate(rows, 1)]
    return f"Worklist as of {data['as_of']}\n" + _render(numbered)


@main.command("refresh")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of_option
def refresh_cmd(ledger: str, as_of: dt.date | None) -> None:
    """Write the derived columns (paid, balance, days overdue, level, last contact) into LEDGER.

    Also gives an id to payment rows that have none. Only changed cells are written; the user's
    own columns, formats and formulas are kept; a backup is made first.

    \b
    Example:  cobro refresh cobranza.xlsx --as-of 2026-11-20
    """
    from cobro.interest import terms_warnings
    from sync.cycle import foreign_dashboard
    from sync.cycle import refresh as refresh_store

    store, led = load_ledger(ledger)
    n = refresh_store(store, _today_if_none(as_of, led), led)
    click.echo(f"Refreshed {ledger}: {n} invoice row(s) updated.")
    taken = foreign_dashboard(store)
    if taken is not None:
        lang = str(led.settings.locale or "es")
        click.echo(f"warning: la hoja «{taken}» no es el panel de cobro (sus encabezados no son Sección, Concepto, "
                   "Importe, Cifra): se ha dejado como estaba; renómbrela para que cobro añada su panel."
                   if lang == "es" else
                   f"warning: the sheet '{taken}' is not cobro's Dashboard (its headers are not Section, Item, "
                   "Amount, Figure): left as it is; rename it for cobro to add its Dashboard.", err=True)
    _echo_terms_warnings(terms_warnings(led), store, led.settings.locale)


def _echo_terms_warnings(warnings: list[Any], store: Any, locale: str | None = None, limit: int = 10) -> None:
    """Issue 13: invoices whose payment term exceeds the legal maximum, on stderr (warnings: nothing refused)."""
    if not warnings:
        return
    lang = locale or str(getattr(store, "locale", None) or "en")
    for w in warnings[:limit]:
        click.echo(f"warning: {w.message(lang)}", err=True)
    if len(warnings) > limit:
        more = len(warnings) - limit
        click.echo(f"warning: … y {more} factura(s) más con un plazo de pago superior al legal" if lang == "es"
                   else f"warning: … and {more} more invoice(s) with a payment term over the legal maximum", err=True)


def refresh(ledger: str, as_of: dt.date | None) -> int:
    """Write the derived invoice columns of ``ledger`` as of ``as_of`` (None: the company's today); the number of
    invoice rows updated."""
    from sync.cycle import refresh as refresh_store

    store, led = load_ledger(ledger)
    return refresh_store(store, _today_if_none(as_of, led), led)


# ------------------------------------------------------------------------------------ demo


@main.command("demo")
@click.argument("directory", type=click.Path(file_okay=False), default="cobro-demo")
@click.option("--customers", type=click.IntRange(1, 1_000_000), default=60, show_default=True,
              help="How many customers to generate.")
@click.option("--invoices", type=click.IntRange(1, 10_000_000), default=1500, show_default=True,
              help="How many invoices (a year of them, ending on the as-of date).")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same ledger.")
@click.option("--locale", type=click.Choice(["es", "en"]), default="es", show_default=True,
              help="Spanish company (names, tax ids, sheets) or an English-speaking one.")
@_as_of_option
def demo_cmd(directory: str, customers: int, invoices: int, seed: int, locale: str, as_of: dt.date | None) -> None:
    """Build a realistic demo ledger in DIRECTORY, show aging, KPIs and the worklist, and send its reminders.

    The reminders go to a local SMTP sink (outbox/ in DIRECTORY), never to real addresses. Without
    --as-of the demo runs as of the latest working day, so there is always something to send.

    \b
    Example:  cobro demo ./demo --customers 80 --invoices 2000 --seed 3 --locale es
    """
    from cobro.aging import aging
    from cobro.demo.generate import generate_ledger
    from cobro.kpis import kpis
    from cobro.worklist import worklist
    from sheets_templates import build_workbook

    day = as_of if as_of is not None else last_working_day(dt.date.today(), "ES" if locale == "es" else "US")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("cobranza-demo.xlsx" if locale == "es" else "collections-demo.xlsx")
    _reset_demo(path)
    click.echo(f"Generating {customers} customers and {invoices} invoices (seed {seed}) as of {day} …")
    with progress("Building the demo ledger", 3) as tick:
        led = generate_ledger(customers=customers, invoices=invoices, seed=seed, locale=locale, as_of=day)
        tick(1)
        build_workbook(path, locale=locale, ledger=led, as_of=day, dashboard=True)
        tick(1)
        n = refresh(str(path), day)
        tick(1)
    click.echo(f"Wrote {path} ({n} invoice rows with derived columns).\n")
    _, led = load_ledger(str(path))
    click.echo(format_aging(aging(led, day).to_json(), "customer"))
    click.echo("")
    click.echo(format_kpis(kpis(led, day).to_json()))
    click.echo("")
    click.echo(format_worklist(worklist(led, day).to_json(), limit=10))
    _demo_reminders(path, day, locale)


def last_working_day(day: dt.date, country: str) -> dt.date:
    """``day`` or the working day before it: a demo run on a Sunday still has reminders to show."""
    from cobro.workdays import is_workday

    while not is_workday(day, country):
        day -= dt.timedelta(days=1)
    return day


def _reset_demo(path: Path) -> None:
    """A rebuilt demo starts clean: the previous demo's journal, outbox and letters belong to the old workbook."""
    import shutil

    from sync.cycle import letters_dir_for, outbox_for
    from sync.journal import journal_path_for

    journal = journal_path_for(path)
    for f in (journal, Path(f"{journal}-wal"), Path(f"{journal}-shm"), Path(f"{journal}.lock"), path):
        f.unlink(missing_ok=True)
    for d in (outbox_for(path), letters_dir_for(path, dt.date.today()).parent):
        if d.is_dir():
            shutil.rmtree(d)


def _demo_reminders(path: Path, day: dt.date, locale: str) -> None:
    from sync.cycle import collect
    from sync.xlsx_store import XlsxStore

    click.echo("\nReminders due today (delivered to a local SMTP sink, never to real addresses):")
    result = collect(XlsxStore(path), day, use_env=False)
    click.echo(format_remind(result.to_json(locale), limit=10))
    if result.outbox:
        click.echo(f"\nOpen the messages in {result.outbox}/ (.eml files: any mail program opens them).")
    if result.letters:
        click.echo(f"Letters to print: {result.letters[0].parent}/")
    click.echo(f"The Contacts sheet of {path} now logs every contact.")


# ------------------------------------------------------------------------------------ reconcile


@main.command("reconcile")
@click.argument("ledger", type=click.Path(dir_okay=False))
@click.argument("statement_file", required=False, type=click.Path(exists=True, dir_okay=False))
@_as_of_option
@click.option("--auto", is_flag=True, help="Mark proposals backed by a reference (or an unambiguous customer and "
              "exact amount) as accepted.")
@click.option("--apply", "do_apply", is_flag=True,
              help="Turn every Matches row with action=accept into Payments rows (once; re-running adds nothing).")
@click.option("--clear", "clear_statement", is_flag=False, flag_value="", default=None, metavar="[STATEMENT]",
              help="Remove the Matches rows of one statement (its file name or id), or of all when none is given.")
@_json_option
def reconcile_cmd(ledger: str, statement_file: str | None, as_of: dt.date | None, auto: bool, do_apply: bool,
                  as_json: bool, clear_statement: str | None = None) -> None:
    """Match a bank statement to open invoices (Matches sheet), then apply what was accepted.

    STATEMENT_FILE may be Norma 43 (AEB/CSB 43), CAMT.053, MT940, OFX or a CSV export; without it the
    lines pasted in the Statement sheet are read. Review the Matches sheet (action: accept/reject),
    then run with --apply.

    \b
    Example:  cobro reconcile cobranza.xlsx extracto.n43 --auto
              cobro reconcile cobranza.xlsx --apply
    """
    from sync.reconcile import apply, propose
    from sync.stores import open_store

    store = open_store(ledger)
    if clear_statement is not None:
        from sync.reconcile import clear

        removed = clear(store, clear_statement or (Path(statement_file).name if statement_file else ""))
        if as_json:
            emit_json({"cleared_rows": removed})
        else:
            click.echo(f"Removed {removed} Matches row(s) from {ledger}.")
        return
    if do_apply:
        if statement_file:
            raise UserError("--apply reads the Matches sheet; run it without a statement file")
        res = apply(store, as_of)
        data = res.to_json()
        if as_json:
            emit_json(data)
        else:
            click.echo(f"Applied {data['applied_lines']} statement line(s): {data['payments_added']} payment row(s) "
                       f"added to {ledger}.")
        return
    stmt = None
    if statement_file:
        from sync.bank_files import read_statement_bytes

        stmt = read_statement_bytes(Path(statement_file))  # a FIFO or device: a clear error, never a hang
    data = propose(store, stmt, as_of, auto).to_json()
    if as_json:
        emit_json(data)
        return
    from cobro.textable import render_table

    rows = [[p["date"], p["amount"], p["currency"], p["text"], ", ".join(a["invoice_id"] for a in p["allocations"])
             + (f" +advance {p['advance']}" if p["advance"] else ""), p["customer_id"] or "", p["confidence"],
             "auto" if p["auto"] else p["status"], p["reason"]] for p in data["proposals"]]
    click.echo(render_table(["date", "amount", "cur", "text", "invoices", "customer", "conf", "status", "reason"],
                            rows, [False, True, False, False, False, False, True, False, False], max_width=40))
    click.echo(f"\n{data['lines']} line(s): {data['proposed']} proposed ({data['auto_accepted']} auto), "
               f"{data['unmatched']} unmatched, {data['already_applied']} already applied. Written to the Matches "
               f"sheet{'; auto-acceptable ones marked accept' if auto else ''}.")
    for w in data["warnings"]:
        click.echo(f"Warning: {w}")
    click.echo(f"Review the Matches sheet, then: cobro reconcile {ledger} --apply")


# ------------------------------------------------------------------------------------ reminders


@main.command("remind")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of_option
@click.option("--dry-run", is_flag=True, help="Show the plan; send and write nothing.")
@click.option("--resend-unconfirmed", is_flag=True,
              help="Also resend the e-mails whose delivery is unconfirmed (your choice; same Message-ID).")
@click.option("--accept-unconfirmed", is_flag=True,
              help="Settle the unconfirmed e-mails without resending them (they stop being listed).")
@_json_option
def remind_cmd(ledger: str, as_of: dt.date | None, dry_run: bool, resend_unconfirmed: bool, accept_unconfirmed: bool,
               as_json: bool) -> None:
    """Plan and send the reminders due, exactly once, and log every contact in the workbook.

    SMTP comes from COBRO_SMTP_HOST, COBRO_SMTP_PORT, COBRO_SMTP_SECURITY (ssl|starttls|none),
    COBRO_SMTP_USER, COBRO_SMTP_PASSWORD (or the system keyring), or the same keys in
    ~/.config/cobro/config.toml. With none configured, messages go to a local SMTP sink that
    files them as .eml in outbox/ beside the workbook. --as-of D behaves exactly as the run of D.

    \b
    Example:  cobro remind cobranza.xlsx --dry-run
              cobro remind cobranza.xlsx --as-of 2026-11-20
    """
    from sync.cycle import collect
    from sync.stores import cycle_paths, open_store

    if resend_unconfirmed and accept_unconfirmed:
        raise UserError("--resend-unconfirmed and --accept-unconfirmed exclude each other: choose one")
    store = open_store(ledger)
    with progress("Sending", 100) as tick:  # as_of None: the company's today, read with the ledger
        result = collect(store, as_of, dry_run=dry_run, progress=tick, resend_unconfirmed=resend_unconfirmed,
                         accept_unconfirmed=accept_unconfirmed, **cycle_paths(ledger))
    data = result.to_json(getattr(store, "locale", "en"))
    if as_json:
        emit_json(data)
    else:
        click.echo(format_remind(data))
    if result.batch is not None and result.batch.error:
        sys.exit(1)


def format_remind(data: dict[str, Any], limit: int = 0) -> str:
    from cobro.textable import render_table

    plan = data["plan"]
    out = [f"Reminders as of {plan['as_of']}"]
    if not plan.get("working_day", True):
        nxt = plan.get("next_working_day")
        out.append(f"Not a working day{' (' + plan['holiday'] + ')' if plan.get('holiday') else ''}; "
                   f"nothing is sent today{'; next working day ' + nxt if nxt else ''}.")
    items = plan["items"][: limit or None]
    rows = [[i["customer_id"], i["level"], i["channel"], ", ".join(i["invoice_ids"]),
             ", ".join(i["to"]) or i.get("phone") or "", i["subject"]] for i in items]
    if rows:
        out.append(render_table(["customer", "level", "channel", "invoices", "to", "subject"], rows))
        if limit and len(plan["items"]) > limit:
            out.append(f"… and {len(plan['items']) - limit} more")
    else:
        out.append("Nothing is due.")
    if plan.get("fixes"):
        out.append(f"\nFix contact data ({len(plan['fixes'])}):")
        out.extend(f"  - {f.get('customer_id', '')} {f.get('customer_name', '')} ({f.get('level', '')}, "
                   f"{', '.join(f.get('invoice_ids') or ())}): {f.get('message', f)}" for f in plan["fixes"][:20])
        if len(plan["fixes"]) > 20:
            out.append(f"  … and {len(plan['fixes']) - 20} more (--json lists them all)")
    if plan.get("handovers"):
        ids = list(dict.fromkeys(h["customer_id"] for h in plan["handovers"]))
        count = f"{len(ids)} customers" + (f", {len(plan['handovers'])} cases" if len(ids) != len(plan["handovers"])
                                           else "")
        out.append(f"\nHanded to a person ({count}): " + ", ".join(ids[:20])
                   + (f" … and {len(ids) - 20} more" if len(ids) > 20 else ""))
    if plan.get("skipped"):
        out.append(f"Skipped: {len(plan['skipped'])} (use --json for the reasons)")
    if data.get("unconfirmed"):
        out.append(f"\nUnconfirmed e-mails ({len(data['unconfirmed'])}): the server may or may not have them; they are "
                   "not resent unless you run again with --resend-unconfirmed")
        out.extend(f"  - {u['customer_id']} {u['level']} ({u['as_of']}) to {', '.join(u['to'])}"
                   for u in data["unconfirmed"][:20])
    steps = data.get("next_steps") or []
    if steps:
        out.append(f"\nNothing due today for {len(steps)} customer(s); what comes next:")
        out.extend(f"  - {s['customer_id']}  {s['customer_name']}: {s['message']}" for s in steps[: limit or 50])
        if len(steps) > (limit or 50):
            out.append(f"  … and {len(steps) - (limit or 50)} more (--json lists them all)")
    if data.get("dry_run"):
        out.append("\nDry run: nothing sent, nothing written.")
    elif data.get("send"):
        out.append(f"\nE-mail: {data['send']['summary']}")
    if data.get("letters"):
        out.append(f"Letters written: {len(data['letters'])}")
    if not data.get("dry_run"):
        out.append(f"Contacts logged: {data.get('logged_contacts', 0)}"
                   + (f" (+{data['caught_up_contacts']} from an interrupted run)" if data.get("caught_up_contacts")
                      else ""))
    return "\n".join(out)


@main.command("log")
@click.argument("ledger", type=click.Path(dir_okay=False))
@click.argument("customer")
@click.option("--outcome", required=True,
              type=click.Choice(["promise", "dispute", "reached", "no_answer", "note", "paid"]),
              help="What the collector learned.")
@click.option("--promise-date", type=DATE, help="With --outcome promise: the day the customer promised to pay.")
@click.option("--amount", help="With --outcome promise: the amount promised (in the customer's currency).")
@click.option("--invoices", help="Invoices concerned, comma-separated (default: the whole account).")
@click.option("--channel", type=click.Choice(["phone", "email", "whatsapp", "sms", "letter", "visit", "other"]),
              default="phone", show_default=True, help="How the contact happened.")
@click.option("--notes", default="", help="Free text.")
@click.option("--user", default=None, help="Who made the contact (default: your login name).")
@_as_of_option
def log_cmd(ledger: str, customer: str, outcome: str, promise_date: dt.date | None, amount: str | None,
            invoices: str | None, channel: str, notes: str, user: str | None, as_of: dt.date | None) -> None:
    """Record what a collector learned; the next reminder plan respects it.

    \b
    Example:  cobro log cobranza.xlsx C0042 --outcome promise --promise-date 2026-12-05 --amount 1.250,00
              cobro log cobranza.xlsx C0042 --outcome dispute --invoices F-2026-000123 --notes "precio"
    """
    import getpass

    from sync.stores import open_store

    if outcome == "promise" and promise_date is None:
        raise UserError("--outcome promise needs --promise-date (the day the customer promised to pay)")
    store = open_store(ledger)
    prefetch = getattr(store, "prefetch", None)
    if prefetch is not None:
        prefetch()  # the file is read and its large parts inflated on a thread while the modules below load
    from cobro import money
    from sync.cycle import contact_time, log_contact

    listed = tuple(x.strip() for x in (invoices or "").split(",") if x.strip())
    # a file ledger reads only what the contact concerns (issue 12: one contact in a 100,000-invoice ledger)
    partial = getattr(store, "load_concerning", None)
    led = partial(customer, listed) if partial is not None else store.load()
    cust = led.customers[led.customers["customer_id"] == customer]
    if cust.empty:
        raise UserError(f"customer {customer!r} is not in the Customers sheet of {ledger}")
    currency = str(cust["currency"].iloc[0])
    minor = None
    if amount:
        try:
            minor = money.parse_money(amount, currency)
        except money.MoneyError as e:
            raise UserError(f"--amount: {e}") from None  # e quotes the value (shortened when long)
    day = _today_if_none(as_of, led)
    row = {"timestamp": pd_timestamp(contact_time(led, day)), "customer_id": customer,
           "invoice_ids": listed, "channel": channel,
           "direction": "out" if channel != "other" else "in", "level": "", "outcome": outcome,
           "promise_date": pd_timestamp(promise_date) if promise_date else None, "promise_amount": minor,
           "user": user or getpass.getuser(), "subject": "", "notes": notes, "message_id": ""}
    log_contact(store, row, day, led)
    what = f"promise to pay on {promise_date}" if outcome == "promise" else outcome
    click.echo(f"Logged for {customer}: {what}.")


def pd_timestamp(value: Any) -> Any:
    import pandas as pd

    return pd.Timestamp(value)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process (tests): returns the exit status."""
    try:
        rc = main.main(args=list(argv) if argv is not None else None, prog_name="cobro", standalone_mode=False)
        if isinstance(rc, int):
            return rc
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except SystemExit as e:
        return int(e.code or 0)
    return 0


from cobro_cli.serve import serve_cmd, token_cmd  # noqa: E402

main.add_command(serve_cmd)
main.add_command(token_cmd)

from cobro_cli.addin import addin_cmd  # noqa: E402

main.add_command(addin_cmd)

from cobro_cli.report import forecast_cmd, report_cmd  # noqa: E402

main.add_command(report_cmd)
main.add_command(forecast_cmd)

from cobro_cli.statement import statement_cmd  # noqa: E402

main.add_command(statement_cmd)
