"""Working days, public holidays and the company's clock — pure: the caller passes every date and instant.

How dates and times are used by the reminders
=============================================

- **The plan is per calendar date in the company's time zone** (``Settings.timezone``, an IANA name such as
  ``Europe/Madrid`` or ``America/Mexico_City``). ``plan_reminders(ledger, as_of)`` takes that date; nothing in the
  plan depends on the hour. A host that runs on a clock turns "now" into that date with ``local_date(now_utc,
  settings)``. Contacts timestamps are naive local times of the same zone (see ``cobro.ledger``).
- **Business days.** With ``Settings.business_days_only`` a send whose day is a weekend or a public holiday of
  ``Settings.country`` (the ``holidays`` package; ``ES`` or with a region, ``ES-MD``) moves to the next working
  day: on a non-working date the plan is empty, and the next working day's plan includes everything that fell due
  meanwhile (a missed day is always caught up). Weekends are the country's (Saturday and Sunday for ES and MX).
- **The send window** (``Settings.send_window``, e.g. ``08:00-18:00``) is local wall-clock time in the company's
  zone and only tells a *scheduler* when to run the daily cycle: ``in_send_window(now_utc, settings)``. A person
  running ``cobro remind`` sends when asked; ``--as-of DATE`` behaves exactly as the run of that day.
- **DST changes move nothing**: the window is compared with the local wall-clock time that ``zoneinfo`` computes
  for the instant, so 08:00 stays 08:00 on both sides of a switch, and the date of a run never depends on the UTC
  offset of the day. A zone without DST (Mexico since 2022) simply has a constant offset.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    import holidays

from cobro.errors import InputError

from .ledger import Settings

__all__ = [
    "WorkdaysError",
    "check_country",
    "company_zone",
    "holiday_name",
    "in_send_window",
    "is_workday",
    "local_date",
    "local_now",
    "next_workday",
    "send_day",
]


class WorkdaysError(InputError, ValueError):
    """A Settings value (country, time zone) that cannot be used; the message says which and why."""


def _split_country(country: str) -> tuple[str, str | None]:
    code = country.strip().upper().replace("_", "-")
    if "-" in code:
        c, sub = code.split("-", 1)
        return c, sub or None
    return code, None


@lru_cache(maxsize=64)
def _calendar(country: str, year: int, language: str) -> holidays.HolidayBase:
    import holidays  # on first use: commands that plan nothing (cobro log) do not pay for its import

    code, subdiv = _split_country(country)
    try:
        probe = holidays.country_holidays(code, subdiv=subdiv)
        langs = getattr(probe, "supported_languages", ()) or ()
        lang = language if language in langs else None
        return holidays.country_holidays(code, subdiv=subdiv, years=year, language=lang)
    except NotImplementedError:
        raise WorkdaysError(
            f"Settings country {country!r} has no public-holiday calendar: expected an ISO 3166 code such as "
            f"ES, MX or CO (optionally with a region, e.g. ES-MD)") from None


def check_country(country: str) -> None:
    """Raise ``WorkdaysError`` when ``country`` has no holiday calendar."""
    _calendar(country, 2000, "")


def holiday_name(day: dt.date, country: str, language: str = "es") -> str | None:
    """The name of the public holiday on ``day`` in ``country`` (``None`` on an ordinary day)."""
    name = _calendar(country, day.year, language).get(day)
    return None if name is None else str(name)


def is_workday(day: dt.date, country: str) -> bool:
    """True when ``day`` is neither a weekend day nor a public holiday of ``country``."""
    cal = _calendar(country, day.year, "")
    weekend = getattr(cal, "weekend", None) or {5, 6}
    return day.weekday() not in weekend and day not in cal


def next_workday(day: dt.date, country: str, include_today: bool = True) -> dt.date:
    """The first working day on or after ``day`` (strictly after it with ``include_today=False``)."""
    d = day if include_today else day + dt.timedelta(days=1)
    for _ in range(400):
        if is_workday(d, country):
            return d
        d += dt.timedelta(days=1)
    raise WorkdaysError(f"no working day in the year after {day.isoformat()} for country {country!r}")


def send_day(day: dt.date, settings: Settings) -> dt.date:
    """The day on which a send due on ``day`` happens: ``day`` itself, or with ``business_days_only`` the next
    working day."""
    return next_workday(day, settings.country) if settings.business_days_only else day


def company_zone(settings: Settings) -> ZoneInfo:
    """The company's time zone. Raises ``WorkdaysError`` for a name that is not an IANA zone."""
    name = (settings.timezone or "").strip()
    try:
        if not name:
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkdaysError(f"Settings timezone {settings.timezone!r} is not a time zone: expected an IANA name "
                            f"such as Europe/Madrid or America/Mexico_City") from None


def _aware_utc(now_utc: dt.datetime) -> dt.datetime:
    return now_utc.replace(tzinfo=dt.UTC) if now_utc.tzinfo is None else now_utc


def local_now(now_utc: dt.datetime, settings: Settings) -> dt.datetime:
    """``now_utc`` (aware, or naive meaning UTC) as the company's local wall-clock time (aware)."""
    return _aware_utc(now_utc).astimezone(company_zone(settings))


def local_date(now_utc: dt.datetime, settings: Settings) -> dt.date:
    """The company's calendar date at the instant ``now_utc``: the ``as_of`` of a run at that instant."""
    return local_now(now_utc, settings).date()


def in_send_window(now_utc: dt.datetime, settings: Settings) -> bool:
    """True when the company's local wall-clock time at ``now_utc`` is inside ``Settings.send_window``
    (start included, end excluded; a window whose end is before its start spans midnight)."""
    t = local_now(now_utc, settings).time().replace(tzinfo=None)
    start, end = settings.send_window
    if end == dt.time(23, 59):  # "…-24:00" is read as 23:59 by Settings: the whole last minute counts
        end = dt.time.max
    if start <= end:
        return start <= t < end
    return t >= start or t < end
