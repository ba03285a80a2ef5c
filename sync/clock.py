"""The company clock: "today" is the date in the company's time zone (Settings.timezone), for the command line,
cron, the service and the scheduler alike — so they never disagree on the as-of date, wherever the machine's clock
is set. The core never reads a clock; hosts call this and pass the date in."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def company_now(settings: Any = None, now: dt.datetime | None = None) -> dt.datetime:
    """The current time in the company's zone (``settings.timezone``; the machine's zone without settings)."""
    utc = now.astimezone(dt.UTC) if now is not None and now.tzinfo else (
        now.replace(tzinfo=dt.UTC) if now is not None else dt.datetime.now(dt.UTC))
    name = getattr(settings, "timezone", "") if settings is not None else ""
    if name:
        try:
            return utc.astimezone(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return utc.astimezone()


def company_today(settings: Any = None, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the company's time zone (see ``company_now``)."""
    return company_now(settings, now).date()
