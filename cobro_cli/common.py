"""What every ``cobro`` command module shares: the error handling group, the date and JSON options, the company
clock's default date, progress bars and opening a ledger. Command modules import from here — never from
``cobro_cli`` itself, which imports them (no import cycle)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from cobro.errors import EXIT_USER_ERROR, UserError

__all__ = ["EXIT_USER_ERROR", "UserError", "CobroGroup", "DATE", "DateType", "parse_date_option", "emit_json",
           "progress", "load_ledger", "as_of_option", "json_option", "today_if_none"]


def _user_errors() -> tuple[type[BaseException], ...]:
    """What ends a command with its message and exit status 2 instead of a traceback: cobro's error family, plus
    the two OS errors a path given on the command line can raise."""
    from cobro.errors import CobroError

    return (CobroError, FileExistsError, FileNotFoundError)


class CobroGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _user_errors() as e:  # noqa: B030 - computed tuple of exception classes
            from cobro.errors import CobroError

            if isinstance(e, CobroError):
                click.echo(f"cobro: {e.render(getattr(e, 'locale', 'en'))}", err=True)
                ctx.exit(e.exit_code)
            click.echo(f"cobro: {e}", err=True)
            ctx.exit(EXIT_USER_ERROR)


def parse_date_option(value: str | None) -> dt.date:
    """``--as-of`` value: ISO ``2024-03-31`` or ``31/03/2024``; today when omitted."""
    if value is None or value == "":
        return dt.date.today()
    from cobro.ledger import parse_date_text

    parsed = parse_date_text(value, day_first=True)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a date from the years 1900 to 9999; use 2024-03-31 or 31/03/2024")
    return parsed.date()


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date_option(value)
        except click.BadParameter as e:
            self.fail(e.message, param, ctx)


DATE = DateType()


def _as_of_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as-of", "as_of", type=DATE, default=None,
                        help="Compute as of this date (2024-03-31 or 31/03/2024). Default: today.")(f)


def _json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True,
                        help="Machine-readable JSON (amounts as decimal strings, e.g. \"1234.50\").")(f)


def _today_if_none(d: dt.date | None, ledger: Any = None) -> dt.date:
    """``--as-of`` when given, else today in the company's time zone (Settings) — the same day cron, the
    service and the scheduler take, wherever the machine's clock is set."""
    if d is not None:
        return d
    from sync.clock import company_today

    return company_today(ledger.settings if ledger is not None else None)


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@contextmanager
def progress(label: str, length: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (quiet when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        yield lambda n=1: None
        return
    with click.progressbar(length=max(length, 1), label=label, file=sys.stderr) as bar:
        yield bar.update


def load_ledger(path: str) -> tuple[Any, Any]:
    from sync.stores import open_store

    store = open_store(path)
    return store, store.load()


as_of_option = _as_of_option
json_option = _json_option
today_if_none = _today_if_none
