"""The daily cycle on a clock: ``cobro serve --schedule HH:MM`` refreshes, plans, sends and logs every ledger once a
day at that wall-clock time in the ledger's own time zone (``Settings.timezone``).

- ``next_run(now_utc, hhmm, tz)`` is the pure part: the next instant, strictly after ``now_utc``, at which the
  wall clock in ``tz`` shows ``hhmm``. Daylight-saving changes move nothing: the run stays at ``hhmm`` local time
  and happens once per local day. On the day clocks spring forward, a time that does not exist (02:30 in Madrid
  on the last Sunday of March; 00:30 in Santiago de Chile in September) runs that many minutes later (03:30 /
  01:30, the time the clock shows once moved forward by the gap). On the day clocks fall back, a time that
  happens twice runs at its first occurrence only.
- ``DailyScheduler`` is the loop: one background thread that sleeps until the earliest job is due (waking at
  least every minute, so a suspended laptop or a clock correction does not make it oversleep), runs it, and goes
  on. A run that fails is logged and the scheduler continues with the next one.
- ``daily_cycle(path, as_of)`` is the job ``cobro serve`` schedules per ledger: ``sync.cycle.refresh`` (derived
  columns) then ``sync.cycle.collect`` (plan, send, log), holding the ledger's lock shared with the web routes.

A service that is not running at the scheduled time does not run the missed cycle when it starts; the next
cycle catches up whatever fell due meanwhile (the plan never skips a level and never sends twice).

Without ``cobro serve``, cron does the same (``crontab -e``; cron uses the machine's time zone)::

    30 9 * * 1-5  cd /path/to/ledgers && /path/to/venv/bin/cobro remind cobranza.xlsx >> cobro-remind.log 2>&1
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cobro.errors import UserError
from sync.gsheets import is_google_sheet

log = logging.getLogger("cobro.scheduler")

MAX_SLEEP = 60.0  # seconds: the loop re-reads the wall clock at least this often
UTC = dt.UTC


class ScheduleError(UserError, ValueError):
    """A schedule that cannot be used (a bad HH:MM, an unknown time zone)."""


def parse_hhmm(value: str | dt.time) -> dt.time:
    """``"09:30"`` -> ``time(9, 30)``; 00:00 to 23:59, one or two digits for the hour."""
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError(f"{value!r} is not a time of day; use HH:MM from 00:00 to 23:59, e.g. 09:30")
    return dt.time(int(m.group(1)), int(m.group(2)))


def zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    """A ``tzinfo`` from an IANA name (``Europe/Madrid``) or a tzinfo."""
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{tz!r} is not a time zone; use an IANA name such as Europe/Madrid") from None


def occurrence(day: dt.date, hhmm: str | dt.time, tz: str | dt.tzinfo) -> dt.datetime:
    """The UTC instant the run of local ``day`` happens at (see the module docstring for DST days)."""
    at = parse_hhmm(hhmm)
    # fold=0: an ambiguous wall time is its first occurrence; a wall time in a spring-forward gap is read with the
    # offset in force before the gap, which lands the same number of minutes after the gap's end.
    local = dt.datetime.combine(day, at, tzinfo=zone(tz))
    return local.astimezone(UTC)


def next_run_with_day(now_utc: dt.datetime, hhmm: str | dt.time, tz: str | dt.tzinfo) -> tuple[dt.datetime, dt.date]:
    """``next_run`` and the local day that run is for (the as-of date of its cycle)."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    z = zone(tz)
    day = now_utc.astimezone(z).date() - dt.timedelta(days=1)
    for _ in range(4):
        when = occurrence(day, hhmm, z)
        if when > now_utc:
            return when, day
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable: a wall time occurs every local day")  # pragma: no cover


def next_run(now_utc: dt.datetime, hhmm: str | dt.time, tz: str | dt.tzinfo) -> dt.datetime:
    """The next instant strictly after ``now_utc`` (aware) at which the wall clock in ``tz`` shows ``hhmm``;
    an aware UTC datetime."""
    return next_run_with_day(now_utc, hhmm, tz)[0]


@dataclass
class ScheduledJob:
    """Run ``run(as_of)`` every day at ``at`` in the time zone ``timezone()`` returns (re-read before each run, so a
    changed Settings.timezone is followed; if it fails, the last zone that worked is kept, else UTC)."""

    name: str
    at: dt.time
    timezone: Callable[[], str]
    run: Callable[[dt.date], Any]
    last_zone: str = field(default="UTC", repr=False)

    def zone(self) -> dt.tzinfo:
        try:
            name = self.timezone()
            z = zone(name)
            self.last_zone = name
            return z
        except Exception as e:  # a broken workbook or setting must not stop the scheduler
            log.warning("%s: cannot read the time zone (%s); using %s", self.name, e, self.last_zone)
            return zone(self.last_zone)


class DailyScheduler:
    """One background thread running ``jobs`` daily. ``now`` and ``wait`` are the clock (tests pass fakes):
    ``wait(seconds)`` sleeps and returns True when the scheduler was stopped meanwhile."""

    def __init__(self, jobs: Iterable[ScheduledJob], *, now: Callable[[], dt.datetime] | None = None,
                 wait: Callable[[float], bool] | None = None) -> None:
        self.jobs = list(jobs)
        self._stop = threading.Event()
        self._now = now or (lambda: dt.datetime.now(UTC))
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None
        self.runs: list[tuple[str, dt.date, bool]] = []  # (job, as_of, ok): the history of this process

    # ---------------------------------------------------------------------------------- control

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="cobro-scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # ---------------------------------------------------------------------------------- loop

    def upcoming(self) -> list[tuple[dt.datetime, dt.date, ScheduledJob]]:
        """Each job's next run after now, earliest first."""
        now = self._now()
        out = [(*next_run_with_day(now, j.at, j.zone()), j) for j in self.jobs]
        return sorted(out, key=lambda t: t[0])

    def run(self) -> None:
        """Loop until ``stop()``: sleep until the earliest job is due, run it, repeat."""
        if not self.jobs:
            return
        now = self._now()
        due = {id(j): next_run_with_day(now, j.at, j.zone()) for j in self.jobs}
        for j in self.jobs:
            log.info("%s: next cycle at %s (%s)", j.name, due[id(j)][0].astimezone(zone(j.last_zone)).isoformat(),
                     j.last_zone)
        while not self._stop.is_set():
            job = min(self.jobs, key=lambda j: due[id(j)][0])
            when, day = due[id(job)]
            if self._sleep_until(when):
                return
            self.run_job(job, day)
            after = max(self._now(), when)
            due[id(job)] = next_run_with_day(after, job.at, job.zone())

    def _sleep_until(self, when: dt.datetime) -> bool:
        """Sleep until ``when`` in slices; True when stopped."""
        while True:
            left = (when - self._now()).total_seconds()
            if left <= 0:
                return self._stop.is_set()
            if self._wait(min(left, MAX_SLEEP)) or self._stop.is_set():
                return True

    def run_job(self, job: ScheduledJob, day: dt.date) -> bool:
        """Run one job for ``day``; an exception is logged (never raised) and the scheduler goes on."""
        log.info("%s: daily cycle for %s starts", job.name, day)
        try:
            job.run(day)
        except Exception as e:
            log.error("%s: the daily cycle for %s failed: %s", job.name, day, _describe(e), exc_info=_unexpected(e))
            self.runs.append((job.name, day, False))
            return False
        log.info("%s: daily cycle for %s done", job.name, day)
        self.runs.append((job.name, day, True))
        return True


def _describe(e: BaseException) -> str:
    from cobro.ledger import LedgerError

    if isinstance(e, LedgerError):
        return e.render(e.locale, limit=10)
    return str(e) or type(e).__name__


def _unexpected(e: BaseException) -> bool:
    """A traceback in the log only for errors that are not a user's (a bug); user errors get their message."""
    from cobro.errors import CobroError

    return not isinstance(e, (CobroError, FileExistsError, FileNotFoundError))


# ------------------------------------------------------------------------------------------- the cycle


def daily_cycle(path: str | Path, as_of: dt.date, *, config: Any = None, use_env: bool = True,
                lock: AbstractContextManager[Any] | None = None) -> Any:
    """The scheduled cycle of one ledger: refresh the derived columns, then plan, send and log (``collect``).
    ``config``: an ``SmtpConfig`` (None: the environment/config file, else the embedded sink). ``lock``: held
    around both steps (the service's per-ledger lock). Returns the ``CycleResult``; raises what they raise."""
    from sync.cycle import collect, refresh
    from sync.stores import cycle_paths, open_store

    name = str(path) if is_google_sheet(str(path)) else Path(path).name
    with lock if lock is not None else nullcontext():
        store = open_store(str(path) if is_google_sheet(str(path)) else path)
        batch = getattr(store, "batch", None)  # a Google Sheet: one read and one write for the whole cycle
        with batch() if batch is not None else nullcontext():
            refresh(store, as_of)
            result = collect(store, as_of, config=config, use_env=use_env, **cycle_paths(str(path)))
    sent = result.batch.summary() if result.batch is not None else "no e-mail due"
    log.info("%s: %s; %d contact(s) logged", name, sent, result.logged)
    if result.batch is not None and result.batch.error:
        log.error("%s: %s", name, result.batch.error)
    return result
