"""The daily scheduler (``sync.scheduler``): the next-run arithmetic across DST changes, the loop on a fake clock,
and the real daily cycle (refresh, plan, send, log) against a real SMTP server."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sync.scheduler import (
    MAX_SLEEP,
    DailyScheduler,
    ScheduledJob,
    ScheduleError,
    daily_cycle,
    next_run,
    next_run_with_day,
    occurrence,
    parse_hhmm,
)

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------------- HH:MM


@pytest.mark.parametrize("text,expected", [("09:30", dt.time(9, 30)), ("0:00", dt.time(0, 0)),
                                           (" 23:59 ", dt.time(23, 59)), (dt.time(7, 5, 30), dt.time(7, 5))])
def test_parse_hhmm(text: Any, expected: dt.time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "9:60", "930", "9h30", "", "09:30:00", "-1:00", "nine"])
def test_parse_hhmm_refuses_what_is_not_a_time(text: str) -> None:
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_hhmm(text)


def test_an_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ScheduleError, match="Europe/Madrid"):
        next_run(utc(2026, 1, 1), "09:00", "Europe/Mardid")
    with pytest.raises(ValueError, match="aware"):
        next_run(dt.datetime(2026, 1, 1), "09:00", "UTC")


# ------------------------------------------------------------------------------------------- next_run


def test_later_today_or_tomorrow_never_now() -> None:
    assert next_run(utc(2026, 11, 20, 7, 0), "09:30", "Europe/Madrid") == utc(2026, 11, 20, 8, 30)
    assert next_run(utc(2026, 11, 20, 8, 30), "09:30", "Europe/Madrid") == utc(2026, 11, 21, 8, 30)  # exactly now
    assert next_run(utc(2026, 11, 20, 9, 0), "09:30", "Europe/Madrid") == utc(2026, 11, 21, 8, 30)
    # Local date differs from the UTC date: 23:30 in Madrid on the 20th is 22:30 UTC of the 20th.
    assert next_run_with_day(utc(2026, 11, 20, 23, 0), "00:15", "Europe/Madrid") == (
        utc(2026, 11, 20, 23, 15), dt.date(2026, 11, 21))
    # Mexico City has had no DST since 2022: always UTC-6.
    assert next_run(utc(2026, 4, 5, 0, 0), "09:00", "America/Mexico_City") == utc(2026, 4, 5, 15, 0)


def test_daily_runs_keep_the_local_time_across_both_changes_in_madrid() -> None:
    runs = [utc(2026, 3, 27, 12, 0)]
    for _ in range(4):
        runs.append(next_run(runs[-1], "09:00", "Europe/Madrid"))
    madrid = ZoneInfo("Europe/Madrid")
    assert [r.astimezone(madrid).strftime("%m-%d %H:%M") for r in runs[1:]] == [
        "03-28 09:00", "03-29 09:00", "03-30 09:00", "03-31 09:00"]
    assert [(b - a) for a, b in zip(runs[1:], runs[2:], strict=False)] == [
        dt.timedelta(hours=23), dt.timedelta(hours=24), dt.timedelta(hours=24)]  # spring forward: a 23 h day
    autumn = [utc(2026, 10, 23, 12, 0)]
    for _ in range(3):
        autumn.append(next_run(autumn[-1], "09:00", "Europe/Madrid"))
    assert [(b - a) for a, b in zip(autumn[1:], autumn[2:], strict=False)] == [
        dt.timedelta(hours=25), dt.timedelta(hours=24)]  # fall back: a 25 h day


def test_a_time_that_does_not_exist_runs_as_much_later() -> None:
    # Madrid, 29 March 2026: 02:00 -> 03:00. 02:30 does not exist; the run is at 03:30 CEST, once.
    when, day = next_run_with_day(utc(2026, 3, 28, 12, 0), "02:30", "Europe/Madrid")
    assert (when, day) == (utc(2026, 3, 29, 1, 30), dt.date(2026, 3, 29))
    assert when.astimezone(ZoneInfo("Europe/Madrid")).strftime("%H:%M %Z") == "03:30 CEST"
    assert next_run(when, "02:30", "Europe/Madrid") == utc(2026, 3, 30, 0, 30)  # 02:30 CEST the day after
    # Santiago, 6 September 2026: midnight -> 01:00. 00:30 runs at 01:30 -03.
    assert next_run(utc(2026, 9, 5, 12, 0), "00:30", "America/Santiago") == utc(2026, 9, 6, 4, 30)


def test_a_time_that_happens_twice_runs_at_the_first_only() -> None:
    # Madrid, 25 October 2026: 03:00 CEST -> 02:00 CET. 02:30 happens at 00:30 and 01:30 UTC.
    first = next_run(utc(2026, 10, 24, 12, 0), "02:30", "Europe/Madrid")
    assert first == utc(2026, 10, 25, 0, 30)
    assert next_run(first, "02:30", "Europe/Madrid") == utc(2026, 10, 26, 1, 30)  # not the second 02:30 that day
    assert next_run(first + dt.timedelta(minutes=59), "02:30", "Europe/Madrid") == utc(2026, 10, 26, 1, 30)
    # Santiago, 4-5 April 2026: midnight -03 -> 23:00 -04 of the 4th, so 23:30 of the 4th happens twice.
    first = next_run(utc(2026, 4, 4, 12, 0), "23:30", "America/Santiago")
    assert first == utc(2026, 4, 5, 2, 30)
    assert next_run(first, "23:30", "America/Santiago") == utc(2026, 4, 6, 3, 30)


@pytest.mark.parametrize("tz", ["Europe/Madrid", "America/Santiago", "America/New_York", "Australia/Lord_Howe",
                                "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("hhmm", ["00:00", "00:30", "01:45", "02:00", "02:15", "02:30", "09:30", "23:30", "23:59"])
def test_exactly_one_run_per_local_day_for_a_whole_year(tz: str, hhmm: str) -> None:
    z = ZoneInfo(tz)
    at = parse_hhmm(hhmm)
    now = utc(2025, 12, 31, 12, 0)
    when, day = next_run_with_day(now, hhmm, tz)
    expected_day = day
    for _ in range(370):
        assert when > now
        assert day == expected_day  # every local day once, in order, none skipped
        local = when.astimezone(z)
        wall = dt.datetime.combine(day, at)
        if local.replace(tzinfo=None) != wall:  # only where the wall time does not exist that day
            assert local.date() == day and dt.timedelta(0) < local.replace(tzinfo=None) - wall <= dt.timedelta(hours=1)
            assert wall.replace(tzinfo=z).astimezone(UTC).astimezone(z).replace(tzinfo=None) != wall
        now = when
        when, day = next_run_with_day(now, hhmm, tz)
        expected_day += dt.timedelta(days=1)


def test_occurrence_is_the_instant_of_a_given_day() -> None:
    assert occurrence(dt.date(2026, 7, 1), "09:30", "Europe/Madrid") == utc(2026, 7, 1, 7, 30)
    assert occurrence(dt.date(2026, 1, 1), dt.time(9, 30), ZoneInfo("Europe/Madrid")) == utc(2026, 1, 1, 8, 30)


# ------------------------------------------------------------------------------------------- the loop


class FakeClock:
    """``now`` and ``wait``: waiting moves the clock; records how long each sleep was."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.t

    def wait(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.t += dt.timedelta(seconds=seconds)
        return False


def test_the_loop_runs_each_ledger_at_its_own_local_time(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(utc(2026, 3, 27, 12, 0))  # Santiago's 09:00 (12:00 UTC) is now: not run until tomorrow
    seen: list[tuple[str, dt.date, dt.datetime]] = []
    sched: DailyScheduler

    def job(name: str) -> Any:
        def run(day: dt.date) -> None:
            seen.append((name, day, clock.now()))
            if len(seen) == 6:
                sched.stop()
        return run

    sched = DailyScheduler([ScheduledJob("madrid", dt.time(9, 0), lambda: "Europe/Madrid", job("madrid")),
                            ScheduledJob("santiago", dt.time(9, 0), lambda: "America/Santiago", job("santiago"))],
                           now=clock.now, wait=clock.wait)
    with caplog.at_level(logging.INFO, logger="cobro.scheduler"):
        sched.run()
    assert seen == [
        ("madrid", dt.date(2026, 3, 28), utc(2026, 3, 28, 8, 0)),
        ("santiago", dt.date(2026, 3, 28), utc(2026, 3, 28, 12, 0)),
        ("madrid", dt.date(2026, 3, 29), utc(2026, 3, 29, 7, 0)),  # summer time from today in Spain
        ("santiago", dt.date(2026, 3, 29), utc(2026, 3, 29, 12, 0)),
        ("madrid", dt.date(2026, 3, 30), utc(2026, 3, 30, 7, 0)),
        ("santiago", dt.date(2026, 3, 30), utc(2026, 3, 30, 12, 0)),
    ]
    assert max(clock.sleeps) <= MAX_SLEEP  # wakes at least every minute: clock changes cannot make it oversleep
    assert [ok for _, _, ok in sched.runs] == [True] * 6
    assert "next cycle" in caplog.text


def test_a_failing_run_is_logged_and_the_scheduler_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    from cobro.ledger import LedgerError, Problem

    clock = FakeClock(utc(2026, 11, 18, 12, 0))
    calls: list[dt.date] = []
    sched: DailyScheduler

    def run(day: dt.date) -> None:
        calls.append(day)
        if len(calls) == 1:
            raise LedgerError([Problem("Invoices", 7, "amount", "abc", "money", {})], "en")
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        sched.stop()

    sched = DailyScheduler([ScheduledJob("cobranza", dt.time(9, 30), lambda: "Europe/Madrid", run)],
                           now=clock.now, wait=clock.wait)
    with caplog.at_level(logging.INFO, logger="cobro.scheduler"):
        sched.run()
    assert calls == [dt.date(2026, 11, 19), dt.date(2026, 11, 20), dt.date(2026, 11, 21)]
    assert [ok for _, _, ok in sched.runs] == [False, False, True]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "row 7" in errors[0].getMessage() and not errors[0].exc_info  # a user's error: its message
    assert "disk on fire" in errors[1].getMessage() and errors[1].exc_info is not None  # a bug: the traceback


def test_a_time_zone_that_cannot_be_read_keeps_the_last_one(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(utc(2026, 11, 18, 12, 0))
    zones = iter(["America/Santiago", "Not/AZone"])
    seen: list[dt.datetime] = []
    sched: DailyScheduler

    def run(day: dt.date) -> None:
        seen.append(clock.now())
        if len(seen) == 2:
            sched.stop()

    sched = DailyScheduler([ScheduledJob("x", dt.time(9, 0), lambda: next(zones), run)], now=clock.now,
                           wait=clock.wait)
    sched.run()
    assert seen == [utc(2026, 11, 19, 12, 0), utc(2026, 11, 20, 12, 0)]  # Santiago's 09:00 (-03) both days
    assert "cannot read the time zone" in caplog.text


def test_start_and_stop_a_real_thread_promptly() -> None:
    ran = threading.Event()
    sched = DailyScheduler([ScheduledJob("x", dt.time(3, 0), lambda: "UTC", lambda day: ran.set())])
    thread = sched.start()
    assert thread.daemon and thread.is_alive()
    t0 = time.monotonic()
    sched.stop(timeout=5)
    assert not thread.is_alive() and time.monotonic() - t0 < 2 and sched.stopped
    assert DailyScheduler([]).run() is None  # nothing to schedule: returns at once


# ------------------------------------------------------------------------------------------- the real cycle


def test_the_scheduled_daily_cycle_refreshes_sends_and_logs_once(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sync.xlsx_store import XlsxStore
    from tests.smtp_helpers import SmtpTestServer
    from tests.test_server import AS_OF, small_ledger

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    path = small_ledger(tmp_path / "cobranza.xlsx")
    lock = threading.Lock()
    with SmtpTestServer() as smtp:
        cfg = smtp.config(already_delivered=smtp.already_delivered)
        clock = FakeClock(utc(2026, 11, 19, 12, 0))
        results: list[Any] = []
        sched: DailyScheduler

        def run(day: dt.date) -> None:
            assert not lock.locked()
            results.append(daily_cycle(path, day, config=cfg, use_env=False, lock=lock))
            if len(results) == 2:
                sched.stop()

        sched = DailyScheduler([ScheduledJob("cobranza", dt.time(9, 30), lambda: "Europe/Madrid", run)],
                               now=clock.now, wait=clock.wait)
        clock.t = utc(2026, 11, 19, 12, 0)
        first_day = next_run_with_day(clock.t, "09:30", "Europe/Madrid")[1]
        assert first_day == AS_OF
        sched.run()
        assert [r.plan.as_of for r in results] == [AS_OF, AS_OF + dt.timedelta(days=1)]
        assert len(smtp.received) == 3 and len(set(smtp.received)) == 3  # the second day sends nothing again
    led = XlsxStore(path).load()
    assert sorted(led.contacts["customer_id"]) == ["C1", "C2", "C3"]
    inv = led.invoices.set_index("invoice_id")
    assert (inv["days_overdue"] > 0).all() and (inv["reminder_level"] != "").all()  # refreshed and logged
    assert not lock.locked()
