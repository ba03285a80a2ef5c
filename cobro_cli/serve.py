"""``cobro serve`` and ``cobro token``: the sync service (``server.py``) on waitress, and its per-ledger tokens.

Registered on the ``cobro`` group at the end of ``cobro/cli.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from cobro.errors import UserError

DEFAULT_PORT = 8750
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _schedule_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.time | None:
    if value is None:
        return None
    from sync.scheduler import ScheduleError, parse_hhmm

    try:
        return parse_hhmm(value)
    except ScheduleError as e:
        raise click.BadParameter(str(e)) from None


def _url(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}/"


def _tls_context(cert: str | None, key: str | None) -> Any:
    """The TLS context of ``--tls-cert``/``--tls-key`` (both or neither), or None; a clear error for a bad file."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise UserError("give both --tls-cert and --tls-key (make a local pair with `cobro addin certs`)")
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise UserError(f"--tls-cert {cert} / --tls-key {key}: cannot be used ({getattr(e, 'strerror', None) or e}); "
                        "expected a PEM certificate (chain) and its PEM private key") from None
    return context


@click.command("serve")
@click.option("--ledger", "ledgers", multiple=True, required=True, type=click.Path(dir_okay=False),
              help="A ledger workbook to serve (repeat for several).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes the service to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="TCP port (0: any free port).")
@click.option("--schedule", metavar="HH:MM", callback=_schedule_option, default=None,
              help="Run the daily cycle (refresh, plan, send, log) of every ledger at this time, "
                   "in each ledger's Settings.timezone.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Requests handled at once.")
@click.option("--quiet", is_flag=True, help="Log warnings and errors only (no line per request).")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None,
              help="Serve HTTPS with this PEM certificate (chain), e.g. for the Office add-in on this machine "
                   "(`cobro addin certs` makes one). A team puts a TLS reverse proxy in front instead.")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None, help="The private key of --tls-cert.")
def serve_cmd(ledgers: tuple[str, ...], host: str, port: int, schedule: dt.time | None, threads: int,
              quiet: bool, tls_cert: str | None = None, tls_key: str | None = None) -> None:
    """Serve ledger workbooks as a JSON API (waitress), for the spreadsheet add-ins and scripts.

    Every route but /health wants the header 'Authorization: Bearer TOKEN'; print a ledger's
    token with `cobro token LEDGER` (this command never prints tokens). The routes are described
    in openapi.yaml, also served at /api/openapi.yaml. E-mail goes to the SMTP server set in
    COBRO_SMTP_* or the config file (see `cobro remind --help`), else to a local sink that files
    .eml messages in outbox/ beside each workbook.

    \b
    Example:  cobro serve --ledger cobranza.xlsx --port 8750 --schedule 09:30
    \b
    Without a running service, cron runs the same daily cycle (cron uses the machine's time
    zone; cronie also reads CRON_TZ=Europe/Madrid):
      30 9 * * *  cd /path/to/ledgers && /path/to/venv/bin/cobro remind cobranza.xlsx >> cobro-remind.log 2>&1
    """
    from waitress.server import create_server

    from server import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TABLES_BYTES, create_app, names_for
    from sync.collector import collect_when_idle
    from sync.config import ConfigError, SmtpConfig
    from sync.tokens import TokenStoreError

    _setup_logging(quiet)
    tls = _tls_context(tls_cert, tls_key)
    try:
        smtp = SmtpConfig.from_env()
    except ConfigError as e:
        raise UserError(f"mail settings: {e}") from None
    try:
        app = create_app(list(ledgers), smtp_config=smtp, allowed_hosts=names_for(host))  # Host header check
    except TokenStoreError as e:
        raise UserError(str(e)) from None
    except ValueError as e:
        from cobro.ledger import LedgerError

        if isinstance(e, LedgerError):
            raise
        raise UserError(str(e)) from None
    service = app.extensions["cobro"]
    served = list(service.ledgers.values())
    checked = {entry.canonical: _check_ledger(entry.path) for entry in served}

    if tls is not None:
        server = _tls_server(app, host, port, tls)
        actual_port = int(server.server_port)
    else:
        try:
            # waitress refuses absurd bodies itself; anything up to the app's limit (+ slack for headers) reaches
            # the app, which answers 413 in JSON.
            server = create_server(app, host=host, port=port, threads=threads, ident="cobro",
                                   max_request_body_size=max(DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TABLES_BYTES)
                                   + 65_536)
        except OSError as e:
            raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        actual_port = int(getattr(server, "effective_port", port))

    click.echo(f"cobro {_version()} serving {len(served)} ledger(s) at "
               f"{_url(host, actual_port, 'https' if tls is not None else 'http')}")
    for entry in served:
        click.echo(f"  - {entry.name}: {entry.path}")
    click.echo("API token of a ledger: cobro token LEDGER   (routes: /api/openapi.yaml)")
    mail = f"SMTP {smtp.address()} ({smtp.source})" if smtp else "local sink (outbox/ beside each workbook)"
    click.echo(f"E-mail: {mail}")
    if tls is not None:
        click.echo(f"Office add-in manifest: {_url(host, actual_port, 'https')}addin/manifest.xml")
    if host not in LOOPBACK and tls is None:
        click.echo(f"Warning: listening on {host} over plain HTTP: tokens cross the network unencrypted. "
                   "Put a TLS reverse proxy in front, or keep --host 127.0.0.1.", err=True)

    scheduler = None
    if schedule is not None:
        scheduler = _start_scheduler(served, checked, schedule, smtp)
    collector = collect_when_idle(app)  # garbage collected between requests; the GIL handed over sooner
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()

    def _terminate(signum: int, frame: Any) -> None:
        raise SystemExit(0)  # waitress's loop catches it and shuts down its workers

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever() if tls is not None else server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        collector.stop()
        if scheduler is not None:
            scheduler.stop()
        server.server_close() if tls is not None else server.close()
        click.echo("cobro serve stopped.")


def _tls_server(app: Any, host: str, port: int, tls: Any) -> Any:
    """HTTPS for the local case (the Office add-in on this machine): werkzeug's threaded WSGI server with the TLS
    context (waitress speaks plain HTTP only). A team runs plain ``cobro serve`` behind a TLS reverse proxy."""
    from werkzeug.serving import make_server

    try:
        return make_server(host, port, app, threaded=True, ssl_context=tls)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def _start_scheduler(served: list[Any], checked: dict[str, tuple[str, Any]], at: dt.time, smtp: Any) -> Any:
    from sync.scheduler import DailyScheduler, ScheduledJob, daily_cycle, next_run
    from sync.stores import open_store

    jobs = []
    for entry in served:
        def tz_of(path: Path = entry.path) -> str:
            return open_store(path).load().settings.timezone

        def run(day: dt.date, path: Path = entry.path, lock: Any = entry.lock) -> Any:
            return daily_cycle(path, day, config=smtp, use_env=smtp is None, lock=lock)

        zone_name, window = checked[entry.canonical]
        job = ScheduledJob(name=entry.name, at=at, timezone=tz_of, run=run, last_zone=zone_name)
        jobs.append(job)
        when = next_run(dt.datetime.now(dt.UTC), at, job.last_zone)
        local = when.astimezone(job.zone())
        click.echo(f"Daily cycle of {entry.name} at {at:%H:%M} {job.last_zone}; next {local:%Y-%m-%d %H:%M %Z}")
        if window is not None and not window[0] <= at <= window[1]:
            click.echo(f"Warning: {at:%H:%M} is outside the send window of {entry.name} (Settings.send_window "
                       f"{window[0]:%H:%M}-{window[1]:%H:%M}); customers get e-mail at an hour the company chose "
                       "not to send at.", err=True)
    scheduler = DailyScheduler(jobs)
    scheduler.start()
    return scheduler


def _check_ledger(path: Path) -> tuple[str, Any]:
    """Read the ledger once at start-up: its time zone and send window, and a warning (not a refusal) if it has
    problems (its routes answer 422 until they are fixed; a running service needs no restart)."""
    from cobro.ledger import LedgerError
    from sync.gsheets import SheetsAccessError
    from sync.scheduler import ScheduleError, zone
    from sync.stores import open_store
    from sync.xlsx_store import WorkbookError

    try:
        settings = open_store(path).load().settings
    except (LedgerError, WorkbookError, SheetsAccessError) as e:
        first = e.render(e.locale, limit=3) if isinstance(e, LedgerError) else str(e)
        click.echo(f"Warning: {path} has problems; its routes answer 422 until they are fixed:\n{first}", err=True)
        return "UTC", None
    try:
        zone(settings.timezone)
    except ScheduleError:
        click.echo(f"Warning: {path}: Settings.timezone {settings.timezone!r} is not a time zone; using UTC",
                   err=True)
        return "UTC", settings.send_window
    return settings.timezone, settings.send_window


def _setup_logging(quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("cobro", "waitress"):
        logger = logging.getLogger(name)
        logger.setLevel(level if name == "cobro" else logging.WARNING)
        if not logger.handlers:
            logger.addHandler(handler)


def _version() -> str:
    from server import _version

    return _version()


@click.command("token")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--rotate", is_flag=True, help="Replace the token: the old one stops working at once.")
def token_cmd(path: str, rotate: bool) -> None:
    """Print the API token of the ledger at PATH, creating it on first use.

    The token goes with every request to `cobro serve` (Authorization: Bearer TOKEN) and selects
    the ledger. Only its SHA-256 hash is stored, in cobro's data folder ($COBRO_HOME, default
    ~/.local/share/cobro, files readable by you only), never in the workbook; the token is
    derived from a secret key there and the workbook's full path, so this command prints the
    same token every time until --rotate. Moving the workbook gives it a new token.

    \b
    Example:  cobro token cobranza.xlsx
              curl -H "Authorization: Bearer $(cobro token cobranza.xlsx)" http://127.0.0.1:8750/api/summary
    """
    from sync.gsheets import is_google_sheet
    from sync.tokens import TokenStore, TokenStoreError
    from sync.xlsx_store import store_for

    if not is_google_sheet(path):
        if not Path(path).is_file():
            raise UserError(f"{path}: the file does not exist (create one with `cobro new {path}`)")
        store_for(path)  # a workbook cobro can serve (.xlsx/.xlsm), else a clear error
    try:
        tokens = TokenStore()
        existed = tokens.has_token(path)
        token = tokens.token_for(path, rotate=rotate)
    except TokenStoreError as e:
        raise UserError(str(e)) from None
    click.echo(token)
    if rotate and existed:
        click.echo(f"New token for {path}; the previous one no longer works (a running service sees the change "
                   "at once).", err=True)
    elif not existed:
        click.echo(f"Created the token of {path} (only its hash is kept, in {tokens.home}).", err=True)
