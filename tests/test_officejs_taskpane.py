"""The task pane (the cobro page at /?host=excel) in Chromium, inside a stand-in for Excel: office.js is replaced by
tests/fixtures/officejs/excel_standin.js holding the demo ledger's tables, so Excel.run reads and writes them in
memory. Press Send, confirm, and the messages arrive at the loopback SMTP server while the Contacts rows and the
invoice columns are applied to the stand-in's tables (the served file is never written). Screenshots of the task
pane and of the confirmation dialog are kept (COBRO_ARTIFACTS/officejs/ when set)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.smtp_helpers import SmtpTestServer
from tests.test_officejs import AS_OF, demo_ledger, serve, workbook_data

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
STANDIN = ROOT / "tests" / "fixtures" / "officejs" / "excel_standin.js"
SHOTS = Path(os.environ.get("COBRO_OFFICEJS_SHOTS", "/tmp/cobro-officejs-shots"))  # looked at by a person

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                                                     "(apt-get install chromium)")


def office_standin(data: dict[str, Any], language: str = "es-ES") -> str:
    """The script served in place of office.js: the Excel stand-in over ``data`` as ``Excel``, and an ``Office``
    whose onReady says Excel."""
    return STANDIN.read_text("utf-8") + f"""
globalThis.__standin = CobroExcelStandin.makeExcel({json.dumps(data, ensure_ascii=False)});
globalThis.Excel = {{ run: (fn) => globalThis.__standin.run(fn) }};
globalThis.Office = {{ onReady: async () => ({{ host: "Excel", platform: "PC" }}),
  context: {{ displayLanguage: {json.dumps(language)} }}, HostType: {{ Excel: "Excel" }} }};
"""


@contextmanager
def task_pane(browser: Any, url: str, data: dict[str, Any]) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page sized like a task pane, with office.js replaced by the stand-in."""
    ctx = browser.new_context(viewport={"width": 420, "height": 900})
    script = office_standin(data)
    ctx.route("**/addin/office/office.js", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=script))
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    try:
        yield page, errors
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    target = os.environ.get("COBRO_ARTIFACTS")
    if target:
        dest = Path(target) / "officejs"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / path.name)
    return path


def test_send_from_the_task_pane_reaches_smtp_and_writes_the_contacts_into_the_workbook(
        browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("COBRO_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for var in ("COBRO_SMTP_HOST", "COBRO_CONFIG", "COBRO_LEDGERS", "COBRO_ALLOWED_ORIGINS"):
        monkeypatch.delenv(var, raising=False)
    path = demo_ledger(tmp_path / "cobranza.xlsx")
    data = workbook_data(path)
    file_before = path.read_bytes()
    with SmtpTestServer() as smtp:
        served, stop = serve(path, home, smtp)
        try:
            url = f"{served.url}/?host=excel&as_of={AS_OF.isoformat()}#token={served.token}"
            with task_pane(browser, url, data) as (page, errors):
                page.wait_for_selector("#worklist tbody tr", timeout=60_000)
                shot(page, "taskpane-worklist")
                contacts_before = page.evaluate("__standin.records('Contacts').length")
                page.click("#tab-send")
                page.wait_for_selector("#preview-items .plan-item", timeout=60_000)
                count = page.locator("#preview-items .plan-item").count()
                assert f"{count} recordatorios hoy" in page.inner_text("#send-summary")
                page.click("#send-button")
                page.wait_for_selector("#confirm-dialog[open]")
                assert f"{count} recordatorios" in page.inner_text("#confirm-text")
                shot(page, "taskpane-confirm")
                page.click("#confirm-ok")
                page.wait_for_selector("#send-result:has-text('Hecho')", timeout=120_000)
                page.wait_for_selector("#send-summary:has-text('Hoy no hay nada que enviar')", timeout=60_000)
                shot(page, "taskpane-sent")
                result = page.inner_text("#send-result")
                contacts = page.evaluate("__standin.records('Contacts')")
                invoices = page.evaluate("__standin.records('Invoices')")
                own = [e for e in errors if "Content Security Policy" not in e and "Failed to load resource" not in e]
                assert own == []
        finally:
            stop()
        received = smtp.received
    assert received and len(received) == len(set(received))
    assert f"{len(received)} enviados" in result, result
    new = contacts[contacts_before:]
    ids_col = next(h for h in new[0] if h in ("ID mensaje", "Message ID", "message_id")) if new else None
    assert ids_col is not None, list(contacts[0]) if contacts else "no contacts"
    assert set(received) <= {c[ids_col] for c in new}  # every message sent is logged in the workbook's Contacts
    level_col = next(h for h in invoices[0] if h in ("Nivel", "Nivel recordatorio", "Reminder level", "Level"))
    assert any(str(r[level_col]).strip() for r in invoices)
    assert path.read_bytes() == file_before  # Excel (the host) wrote the open workbook; the file was untouched
    _ = dt  # (AS_OF is a date)


def test_the_ribbon_confirmation_dialog_shows_text_only_and_answers_the_button(browser: Any, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """dialog.html, as Send reminders on the ribbon opens it: the question and the buttons come in the URL (as text,
    never markup) and the button pressed goes back with Office.context.ui.messageParent."""
    from urllib.parse import urlencode

    monkeypatch.setenv("COBRO_HOME", str(tmp_path / "home"))
    path = demo_ledger(tmp_path / "cobranza.xlsx", invoices=40, customers=5)
    with SmtpTestServer() as smtp:
        served, stop = serve(path, tmp_path / "home", smtp)
        try:
            ctx = browser.new_context(viewport={"width": 460, "height": 220})
            ctx.route("**/addin/office/office.js", lambda route: route.fulfill(
                status=200, content_type="text/javascript",
                body="globalThis.__sent=[];globalThis.Office={onReady:async()=>({host:'Excel'}),"
                     "context:{ui:{messageParent:(m)=>__sent.push(m)}}};"))
            page = ctx.new_page()
            q = urlencode({"m": "¿Enviar 12 recordatorios (11 emails) por 1.234,50 EUR?<img src=x onerror=alert(1)>",
                           "b": "send:Enviar|cancel:Cancelar"})
            page.goto(f"{served.url}/addin/dialog.html?{q}")
            page.wait_for_selector("#buttons button")
            assert page.locator("#message img").count() == 0
            assert "¿Enviar 12 recordatorios" in page.inner_text("#message")
            shot(page, "ribbon-confirm-dialog")
            page.get_by_role("button", name="Enviar").click()
            assert page.evaluate("__sent") == ["send"]
            ctx.close()
        finally:
            stop()
