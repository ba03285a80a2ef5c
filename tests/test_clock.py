"""The company clock: one "today" for the CLI, cron, the service and the scheduler — the company's, from Settings."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from cobro.ledger import Settings
from sync.clock import company_today


def test_today_is_the_date_in_the_company_zone() -> None:
    instant = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
    assert company_today(replace(Settings(), timezone="Europe/Madrid"), instant) == dt.date(2026, 12, 3)
    assert company_today(replace(Settings(), timezone="America/Lima"), instant) == dt.date(2026, 12, 2)
    assert company_today(replace(Settings(), timezone="Pacific/Kiritimati"), instant) == dt.date(2026, 12, 3)


def test_unknown_zone_falls_back_to_the_machine() -> None:
    instant = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    assert company_today(replace(Settings(), timezone="Nowhere/Atlantis"), instant) == instant.astimezone().date()


def test_cli_without_as_of_uses_the_company_today(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cobro_cli import run
    from sheets_templates import new_ledger
    from sync.xlsx_store import store_for

    path = tmp_path / "c.xlsx"
    new_ledger(path, locale="es")
    led = store_for(path).load()
    assert run(["aging", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["as_of"] == company_today(led.settings).isoformat()


def test_remind_without_as_of_plans_for_the_company_today(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    from cobro_cli import run
    from sheets_templates import new_ledger
    from sync.xlsx_store import store_for

    path = tmp_path / "c.xlsx"
    new_ledger(path, locale="en")
    led = store_for(path).load()
    assert run(["remind", str(path), "--dry-run", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["as_of"] == company_today(led.settings).isoformat()
