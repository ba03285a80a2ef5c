"""The Office add-in's JavaScript (addin/officejs/static/js/) under Node's test runner, against the real cobro
service on loopback and a loopback SMTP server: Send reads the tables from an Excel stand-in holding the demo
ledger, confirms, sends exactly once through the journal of the token's ledger, and the Contacts rows and invoice
columns land in the stand-in's tables. office-addin-mock covers reading and writing ranges
(tests/js/officejs.test.mjs)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.smtp_helpers import SmtpTestServer

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
AS_OF = dt.date(2026, 11, 20)  # a Friday, not a holiday in Spain
MOCK = ROOT / "node_modules" / "office-addin-mock"

pytestmark = [pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the README's ./run test installs it)"),
              pytest.mark.skipif(not MOCK.is_dir(), reason="npm packages missing: run `npm install` in the checkout")]


def workbook_data(path: Path) -> dict[str, Any]:
    """The ledger workbook at ``path`` as the Excel stand-in holds it: each ledger table on its sheet, from
    column A at its header row, cells as Office.js' ``Range.values`` gives them (dates as serial numbers)."""
    from sync.table_store import tables_of_workbook

    sheets: dict[str, list[list[Any]]] = {}
    tables: dict[str, dict[str, Any]] = {}
    for key, t in tables_of_workbook(path).items():
        width = len(t.headers)
        body = [list(r) + [""] * (width - len(r)) for r in t.rows]
        while body and all(v in ("", None) for v in body[-1]) and len(body) > 1:
            body.pop()  # trailing blank rows the used range carried (an empty table keeps one)
        rows: list[list[Any]] = [[] for _ in range(t.header_row - 1)] + [list(t.headers)] + body
        sheets[t.title] = [["" if v is None else v for v in r] for r in rows]
        tables[key] = {"sheet": t.title, "row": t.header_row - 1, "col": 0, "rows": 1 + len(body), "cols": width}
    return {"sheets": sheets, "tables": tables}


def demo_ledger(path: Path, *, invoices: int = 300, customers: int = 30, locale: str = "es") -> Path:
    """The demo ledger as ``cobro demo`` builds it, sending on any day (the test's as-of date is fixed)."""
    from cobro.demo.generate import generate_ledger
    from sheets_templates import build_workbook
    from sync.cycle import refresh
    from sync.xlsx_store import XlsxStore

    led = generate_ledger(customers=customers, invoices=invoices, seed=7, locale=locale, as_of=AS_OF)
    led = led.replace(settings=replace(led.settings, business_days_only=False))
    build_workbook(path, locale=locale, ledger=led, as_of=AS_OF)
    refresh(XlsxStore(path), AS_OF)
    return path


class Served:
    def __init__(self, app: Any, url: str, token: str, path: Path, smtp: SmtpTestServer) -> None:
        self.app, self.url, self.token, self.path, self.smtp = app, url, token, path, smtp


def serve(path: Path, home: Path, smtp: SmtpTestServer, *, scheme_url: str | None = None) -> Any:
    """Start the service for ``path`` on loopback (waitress); returns (Served, stop)."""
    from server import create_app
    from sync.tokens import TokenStore
    from tests.waitress_thread import start

    tokens = TokenStore(home)
    app = create_app({path.stem: str(path)}, token_store=tokens,
                     smtp_config=smtp.config(already_delivered=smtp.already_delivered))
    app.config["COBRO_PAGE_WARM"] = False
    server, stop = start(app)
    return Served(app, f"http://127.0.0.1:{server.effective_port}", tokens.token_for(path), path, smtp), stop



@pytest.fixture
def served(tmp_path: Path, isolated_env: Path) -> Iterator[Served]:
    path = demo_ledger(tmp_path / "cobranza.xlsx")
    with SmtpTestServer() as smtp:
        s, stop = serve(path, isolated_env, smtp)
        try:
            yield s
        finally:
            stop()


def _node(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NODE, "--test", "--test-concurrency=1", str(ROOT / "tests/js/officejs.test.mjs")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_addin_scripts_offline_parts() -> None:
    proc = _node({**os.environ, "COBRO_URL": "", "COBRO_TOKEN": "", "COBRO_WORKBOOK": ""})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 4" in proc.stdout, proc.stdout[-2000:]


def test_send_from_excel_reaches_smtp_once_and_the_contacts_land_in_the_workbook(served: Served,
                                                                                   tmp_path: Path) -> None:
    data = tmp_path / "workbook.json"
    data.write_text(json.dumps(workbook_data(served.path), ensure_ascii=False), "utf-8")
    env = {**os.environ, "COBRO_URL": served.url, "COBRO_TOKEN": served.token, "COBRO_WORKBOOK": str(data),
           "COBRO_AS_OF": AS_OF.isoformat()}
    proc = _node(env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# skipped 0" in proc.stdout, proc.stdout[-2000:]
    sent = json.loads(re.search(r"# officejs-sent (\[.*\])", proc.stdout).group(1))  # type: ignore[union-attr]
    received = served.smtp.received
    assert sent and sorted(set(received)) == sorted(sent)  # what Excel was told went out is what arrived
    assert all(n == 1 for n in served.smtp.counts.values())  # the second press sent nothing again
    # The served file was never written: Excel (the host) is the one that writes the open workbook.
    from sync.xlsx_store import XlsxStore

    assert not set(sent) & set(XlsxStore(served.path).load().contacts["message_id"])
