"""``cobro report`` and ``cobro forecast``: the collections report (HTML/PDF/text) and when the money comes in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from cobro.errors import UserError


def _cli() -> Any:
    """The command-line host's shared helpers (``cobro_cli.common``: never the package, which imports us)."""
    from cobro_cli import common

    return common


def _as_of(f: Any) -> Any:
    from cobro_cli.common import _as_of_option

    return _as_of_option(f)


@click.command("report")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of
@click.option("--months", type=click.IntRange(1, 36), default=12, show_default=True,
              help="Months of trend (one point per month end; the last is the as-of date).")
@click.option("--kpi-months", type=click.IntRange(1, 36), default=3, show_default=True,
              help="Months each KPI is computed over, as in `cobro kpis --months`.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the report to FILE.html (self-contained) or FILE.pdf (A4). Default: text on the terminal.")
@click.option("--locale", type=click.Choice(["es", "en"]), default=None, help="Language. Default: Settings.")
@click.option("--no-forecast", is_flag=True, help="Leave out the forecast and its back-test.")
@click.option("--json", "as_json", is_flag=True, help="The report's figures as JSON.")
def report_cmd(ledger: str, as_of: dt.date | None, months: int, kpi_months: int, out: str | None,
               locale: str | None, no_forecast: bool, as_json: bool) -> None:
    """The collections report: how we are doing, what the team did, what to do next, when the money comes in.

    \b
    Example:  cobro report cobranza.xlsx --as-of 2026-11-20 --out informe.html
              cobro report cobranza.xlsx --out informe.pdf --locale en
    """
    from cobro import forecast as fc
    from cobro.report import build

    cli = _cli()
    if out and not out.lower().endswith((".html", ".htm", ".pdf")):
        raise UserError(f"--out {out}: expected a file name ending in .html or .pdf")
    _, led = cli.load_ledger(ledger)
    day = cli._today_if_none(as_of, led)
    f_cast = back = None
    if not no_forecast:
        facts = fc.facts(led)
        f_cast = fc.forecast(led, day, f=facts)
        back = fc.backtest(led, day, months=min(months, 12), f=facts)
    rep = build(led, day, months=months, kpi_months=kpi_months, locale=locale, forecast=f_cast, backtest=back)
    if as_json:
        cli.emit_json(rep.to_json())
        return
    if out:
        from sync.report_files import write_report

        path = write_report(rep, out)
        click.echo(f"Report written to {path}")
        return
    click.echo(format_report(rep))


def format_report(rep: Any) -> str:
    """The report's key figures as terminal text (the HTML/PDF hold the charts)."""
    from cobro import money
    from cobro.i18n import text

    loc = rep.locale
    lines = [f"{text('report.title', loc)} — {rep.as_of.isoformat()}", ""]
    for cur, t in rep.aging.totals.iterrows():
        c = str(cur)
        lines.append(f"{c}: " + ", ".join(f"{lab} {money.format_money(int(t[lab]), c, loc)}"
                                          for lab in ["not_due", *rep.aging.labels]))
    for k in rep.kpis.currencies:
        lines.append(f"{k.currency}: DSO {k.dso}, countback {k.countback_dso}, best {k.best_dso}, ADD {k.add}, "
                     f"CEI {k.cei}")
    lines += ["", text("report.next", loc)]
    lines += [f"- {r.action}: {r.reason}" for r in rep.recommendations] or [text("report.no_recs", loc)]
    if rep.backtest is not None and rep.backtest.evaluated:
        from cobro.report import backtest_sentence

        lines += ["", f"{text('report.forecast', loc)}: {backtest_sentence(rep.backtest, loc)}"]
    return "\n".join(lines)


@click.command("forecast")
@click.argument("ledger", type=click.Path(dir_okay=False))
@_as_of
@click.option("--weeks", type=click.IntRange(1, 104), default=13, show_default=True,
              help="Weeks of expected inflow (week 1 starts the day after the as-of date).")
@click.option("--backtest", "do_backtest", is_flag=True,
              help="Replay the last --months month ends with what was known then and print the errors next to "
                   "the due-date and customer-average baselines.")
@click.option("--months", type=click.IntRange(1, 36), default=12, show_default=True,
              help="Month ends the back-test replays.")
@click.option("--limit", type=int, default=25, show_default=True, help="Invoices listed in text output (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON (amounts as decimal strings).")
def forecast_cmd(ledger: str, as_of: dt.date | None, weeks: int, do_backtest: bool, months: int, limit: int,
                 as_json: bool) -> None:
    """When the money will come in: an expected payment date (and range) per open invoice, weekly inflow per
    currency; --backtest measures the model's error.

    \b
    Example:  cobro forecast cobranza.xlsx --as-of 2026-11-20 --weeks 13
              cobro forecast cobranza.xlsx --backtest --json
    """
    from cobro import forecast as fc

    cli = _cli()
    _, led = cli.load_ledger(ledger)
    day = cli._today_if_none(as_of, led)
    facts = fc.facts(led)
    if do_backtest:
        b = fc.backtest(led, day, months=months, weeks=weeks, f=facts)
        if as_json:
            cli.emit_json(b.to_json())
            return
        click.echo(format_backtest(b))
        return
    f = fc.forecast(led, day, weeks=weeks, f=facts)
    if as_json:
        cli.emit_json(f.to_json())
        return
    click.echo(format_forecast(f, limit))


def format_backtest(b: Any) -> str:
    imp = b.improvement()
    lines = [f"Back-test as of {b.as_of}: {len(b.cutoffs)} month ends ({b.cutoffs[0] if b.cutoffs else '-'} .. "
             f"{b.cutoffs[-1] if b.cutoffs else '-'}), {b.evaluated} invoice forecasts compared with their payment "
             f"({b.unsettled} never paid by {b.as_of}, left out)",
             "",
             "Mean absolute error, days per invoice:",
             f"  model             {b.mae_days['model']:7.2f}",
             f"  due date          {b.mae_days['due_date']:7.2f}   (model {imp['due_date']:+.1f} % better)",
             f"  customer average  {b.mae_days['customer_average']:7.2f}   "
             f"(model {imp['customer_average']:+.1f} % better)",
             "",
             f"Late/on-time accuracy over {b.classified} invoices not yet due at the cut-off: "
             + ", ".join(f"{k} {v:.1f} %" for k, v in b.accuracy.items()),
             "Weekly inflow error (WAPE, 13 weeks):"]
    for cur, w in b.wape.items():
        lines.append(f"  {cur}: " + ", ".join(f"{k} {v:.1f} %" for k, v in w.items()))
    for k, v in b.variants.items():
        lines.append(f"Model {k.replace('_', ' ')}: MAE {v:.2f} days")
    return "\n".join(lines)


def format_forecast(f: Any, limit: int) -> str:
    from cobro import money

    lines = [f"Expected inflow per week as of {f.as_of}:"]
    curs = list(f.inflow)
    for k, s in enumerate(f.week_starts()):
        lines.append(f"  {s.isoformat()}  " + "  ".join(f"{money.format_decimal(f.inflow[c][k], c):>14} {c}"
                                                        for c in curs))
    lines.append("  later       " + "  ".join(f"{money.format_decimal(f.later[c], c):>14} {c}" for c in curs))
    lines += ["", "invoice           customer    balance           due         expected    range"]
    rows = f.invoices if not limit else f.invoices.head(limit)
    for r in rows.itertuples(index=False):
        lines.append(f"{r.invoice_id:<17} {r.customer_id:<11} {money.format_decimal(int(r.balance), r.currency):>12} "
                     f"{r.currency}  {r.due_date}  {r.expected}  {r.low}..{r.high} ({r.source})")
    if limit and len(f.invoices) > limit:
        lines.append(f"… {len(f.invoices) - limit} more (--limit 0 for all, --json for machines)")
    lines += ["", f.note]
    return "\n".join(lines)
