"""Apps Script (addin/gsheets/Code.gs) under Node, its UrlFetchApp calling the real cobro service on loopback,
which reads and writes a Google Sheet held by the local fake of the Sheets API and sends through a loopback
SMTP server. Only Google's own servers are replaced."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.fake_sheets import FakeSheetsApi
from tests.smtp_helpers import SmtpTestServer

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
AS_OF = dt.date(2026, 11, 20)  # a Friday

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the README's ./run test installs it)")


def _node(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NODE, "--test", *extra, str(ROOT / "tests/js/gsheets.test.mjs")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_apps_script_offline_parts() -> None:
    proc = _node({**os.environ, "COBRO_URL": "", "COBRO_TOKEN": ""})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    from cobro.demo.generate import generate_ledger
    from server import create_app
    from sheets_templates.gsheet import create_google_sheet
    from sync.clock import company_today
    from sync.gsheets import client
    from sync.tokens import TokenStore

    home = tmp_path / "home"
    monkeypatch.setenv("COBRO_HOME", str(home))
    with FakeSheetsApi() as api, SmtpTestServer() as smtp:
        monkeypatch.setenv("COBRO_SHEETS_API_URL", api.url)
        # The script asks for "today" (the company's): a ledger as of today that also sends on weekends.
        today = company_today()
        led = generate_ledger(customers=40, invoices=600, seed=3, locale="es", as_of=today)
        led = led.replace(settings=replace(led.settings, business_days_only=False))
        key = create_google_sheet(client(), "Cobranza equipo", locale="es", ledger=led, as_of=today)
        tokens = TokenStore(home)
        app = create_app({"equipo": f"gsheet:{key}"}, token_store=tokens, smtp_config=smtp.config())
        http = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"url": f"http://127.0.0.1:{http.server_port}", "token": tokens.token_for(f"gsheet:{key}"),
                   "api": api, "key": key, "smtp": smtp, "ledger": led, "home": home,
                   "as_of": today}
        finally:
            http.shutdown()


def test_menu_send_goes_through_the_service_to_smtp_and_the_sheet(service: dict[str, Any]) -> None:
    from sync.gsheet_store import GoogleSheetStore
    from sync.gsheets import client

    before = len(service["ledger"].contacts)
    env = {**os.environ, "COBRO_URL": service["url"], "COBRO_TOKEN": service["token"],
           "COBRO_AS_OF": service["as_of"].isoformat()}
    proc = _node(env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# skipped 0" in proc.stdout, proc.stdout[-2000:]
    received = service["smtp"].received
    assert received, "no message reached the SMTP server"
    after = GoogleSheetStore(service["key"], gclient=client()).load()
    assert set(received) <= set(after.contacts["message_id"])  # every message sent is logged in the sheet
    assert len(after.contacts) >= before + len(received)


def test_send_while_a_run_holds_the_ledger_shows_409(service: dict[str, Any]) -> None:
    from sync.journal import Journal
    from sync.stores import cycle_paths

    jpath = cycle_paths(f"gsheet:{service['key']}")["journal_path"]
    env = {**os.environ, "COBRO_URL": service["url"], "COBRO_TOKEN": service["token"],
           "COBRO_BUSY_URL": service["url"], "COBRO_AS_OF": AS_OF.isoformat()}
    with Journal(jpath) as other, other.lock():
        proc = _node(env, "--test-name-pattern", "409")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert service["smtp"].received == []


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_the_sidebar_is_the_page_over_the_google_sheet(service: dict[str, Any], tmp_path: Path) -> None:
    """Cobro ▸ Open Cobro / Reconcile bank open the page (served by the service, the ledger a Google Sheet)."""
    from playwright.sync_api import sync_playwright

    from tests.gas_page import sidebar_src

    src = sidebar_src(service["url"], service["token"], "reconcile")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 420, "height": 900})  # a sidebar's width
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(src)
            page.wait_for_selector("#tab-reconcile[aria-selected=true]", timeout=30_000)
            page.click("#tab-today")
            page.wait_for_selector("#worklist tbody tr", timeout=60_000)
            rows = page.locator("#worklist tbody tr").count()
            shot = tmp_path / "sheets-sidebar.png"
            page.screenshot(path=str(shot))  # what the sidebar shows without scrolling
            target = os.environ.get("COBRO_ARTIFACTS")
            if target:
                Path(target, "sheets").mkdir(parents=True, exist_ok=True)
                shutil.copy2(shot, Path(target, "sheets", shot.name))
        finally:
            browser.close()
    assert rows > 0 and not errors
