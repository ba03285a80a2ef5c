"""The desktop Excel add-in (open-source xlwings), tested on Linux: ``cobro addin build`` writes a valid
``cobro_excel.xlam`` from xlwings' ribbon template; its ribbon XML validates against Microsoft's customUI schema
(xmlschema); every onAction names a Sub of the VBA project (olevba); the VBA project is the template's byte for
byte; the module the callback imports exists and its entry point runs the collection cycle against an in-memory
stand-in of the few xlwings calls it makes, sending to a loopback SMTP server and writing the Contacts rows and
invoice columns through "xlwings"; the cell functions read only the tables they need and return numbers."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from tests.smtp_helpers import SmtpTestServer
from tests.test_officejs import AS_OF, demo_ledger, workbook_data

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "tests" / "fixtures" / "customui"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"


# ------------------------------------------------------------------------------ an in-memory stand-in of xlwings


class FakeRange:
    """``sheet.range((r, c))`` / ``sheet.range((r1, c1), (r2, c2))``: 1-based, inclusive."""

    def __init__(self, sheet: FakeSheet, r1: int, c1: int, r2: int, c2: int, ndim: int | None = None) -> None:
        self.sheet, self.r1, self.c1, self.r2, self.c2, self.ndim = sheet, r1, c1, r2, c2, ndim

    row = property(lambda self: self.r1)
    column = property(lambda self: self.c1)
    shape = property(lambda self: (self.r2 - self.r1 + 1, self.c2 - self.c1 + 1))

    def options(self, ndim: int | None = None, **_: Any) -> FakeRange:
        return FakeRange(self.sheet, self.r1, self.c1, self.r2, self.c2, ndim)

    @property
    def value(self) -> Any:
        self.sheet.book.reads.append((self.sheet.name, self.r1, self.c1, self.r2, self.c2))
        grid = [[self.sheet.cells.get((r, c)) for c in range(self.c1, self.c2 + 1)]
                for r in range(self.r1, self.r2 + 1)]
        if self.ndim == 2 or (len(grid) > 1 and len(grid[0]) > 1):
            return grid
        if len(grid) == 1 and len(grid[0]) == 1:
            return grid[0][0]
        return [row[0] for row in grid] if len(grid[0]) == 1 else grid[0]

    @value.setter
    def value(self, v: Any) -> None:
        grid = v if isinstance(v, list) and v and isinstance(v[0], list) else [[v]] if not isinstance(v, list) \
            else [v]
        for i, row in enumerate(grid):
            for j, x in enumerate(row):
                key = (self.r1 + i, self.c1 + j)
                if x is None:
                    self.sheet.cells.pop(key, None)
                else:
                    self.sheet.cells[key] = x
                self.sheet.book.writes += 1

    @property
    def number_format(self) -> str:
        return self.sheet.formats.get((self.r1, self.c1), "General")

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        for r in range(self.r1, self.r2 + 1):
            for c in range(self.c1, self.c2 + 1):
                self.sheet.formats[(r, c)] = fmt


class FakeTable:
    def __init__(self, sheet: FakeSheet, name: str, r1: int, c1: int, r2: int, c2: int) -> None:
        self.sheet, self.name, self.bounds = sheet, name, (r1, c1, r2, c2)

    @property
    def range(self) -> FakeRange:
        return FakeRange(self.sheet, *self.bounds)

    def resize(self, rng: FakeRange) -> None:
        self.bounds = (rng.r1, rng.c1, rng.r2, rng.c2)


class FakeTables(list):  # type: ignore[type-arg]
    def __init__(self, sheet: FakeSheet) -> None:
        super().__init__()
        self.sheet = sheet

    def add(self, source: FakeRange, name: str) -> FakeTable:
        t = FakeTable(self.sheet, name, source.r1, source.c1, source.r2, source.c2)
        self.append(t)
        return t


class FakeSheet:
    def __init__(self, book: FakeBook, name: str) -> None:
        self.book, self.name = book, name
        self.cells: dict[tuple[int, int], Any] = {}
        self.formats: dict[tuple[int, int], str] = {}
        self.tables = FakeTables(self)

    def range(self, a: tuple[int, int], b: tuple[int, int] | None = None) -> FakeRange:
        b = b or a
        return FakeRange(self, a[0], a[1], b[0], b[1])


class FakeSheets(list):  # type: ignore[type-arg]
    def __init__(self, book: FakeBook) -> None:
        super().__init__()
        self.book = book

    def add(self, name: str, after: Any = None) -> FakeSheet:
        s = FakeSheet(self.book, name)
        self.append(s)
        return s


class FakeApp:
    def __init__(self, answers: list[str] | None = None) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.answers = list(answers or [])

    def alert(self, prompt: str, title: str | None = None, buttons: str = "ok", mode: str | None = None) -> str:
        self.alerts.append({"prompt": prompt, "title": title, "buttons": buttons, "mode": mode})
        return self.answers.pop(0) if buttons != "ok" and self.answers else "ok"


class FakeBook:
    """A workbook as the stand-in holds it: the ledger tables of an .xlsx, cell values as xlwings gives them."""

    def __init__(self, path: Path, answers: list[str] | None = None) -> None:
        self.fullname, self.name = str(path), path.name
        self.app = FakeApp(answers)
        self.sheets = FakeSheets(self)
        self.reads: list[tuple[Any, ...]] = []
        self.writes = 0
        data = workbook_data(path)
        by_title = {}
        for title, rows in data["sheets"].items():
            sheet = self.sheets.add(title)
            by_title[title] = sheet
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    if v not in ("", None):
                        sheet.cells[(i + 1, j + 1)] = float(v) if isinstance(v, int) and not isinstance(v, bool) \
                            else v  # xlwings gives numbers as floats
        for key, t in data["tables"].items():
            sheet = by_title[t["sheet"]]
            sheet.tables.add(sheet.range((t["row"] + 1, t["col"] + 1), (t["row"] + t["rows"], t["col"] + t["cols"])),
                             name=key)

    def records(self, key: str) -> list[dict[str, Any]]:
        for sheet in self.sheets:
            for t in sheet.tables:
                if t.name == key:
                    r1, c1, r2, c2 = t.bounds
                    hdr = [sheet.cells.get((r1, c)) for c in range(c1, c2 + 1)]
                    rows = [[sheet.cells.get((r, c)) for c in range(c1, c2 + 1)] for r in range(r1 + 1, r2 + 1)]
                    return [dict(zip(hdr, r, strict=True)) for r in rows if any(v is not None for v in r)]
        raise KeyError(key)

    def tables_read(self) -> set[str]:
        out = set()
        for sheet in self.sheets:
            for t in sheet.tables:
                if any(r[0] == sheet.name for r in self.reads):
                    out.add(t.name)
        return out


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COBRO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    for var in ("COBRO_SMTP_HOST", "COBRO_SMTP_PORT", "COBRO_SMTP_SECURITY", "COBRO_SMTP_USER",
                "COBRO_SMTP_PASSWORD", "COBRO_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def xlam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from addin.xlwings.build import build_xlam

    return build_xlam(tmp_path_factory.mktemp("xlam"), locale="es")


# ------------------------------------------------------------------------------ the package


def test_the_xlam_is_a_valid_package_with_the_template_vba_unchanged(xlam: Path) -> None:
    from addin.xlwings.build import template_path

    assert xlam.name == "cobro_excel.xlam"
    with zipfile.ZipFile(xlam) as z, zipfile.ZipFile(template_path()) as t:
        assert z.testzip() is None
        assert sorted(z.namelist()) == sorted(t.namelist())
        assert z.read("xl/vbaProject.bin") == t.read("xl/vbaProject.bin")  # byte for byte
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                ET.fromstring(z.read(name))  # every part parses
        types = ET.fromstring(z.read("[Content_Types].xml"))
        overrides = {o.get("PartName", "").lstrip("/") for o in types if o.tag.endswith("Override")}
        assert overrides <= set(z.namelist())
        for rels in [n for n in z.namelist() if n.endswith(".rels")]:
            base = rels.replace("_rels/", "").removesuffix(".rels")
            folder = base.rsplit("/", 1)[0] if "/" in base else ""
            for rel in ET.fromstring(z.read(rels)):
                if rel.get("TargetMode") == "External":
                    continue
                target = rel.get("Target", "").lstrip("/")
                path = target if rels.startswith("_rels/") or target.startswith("xl/") else f"{folder}/{target}"
                assert path in z.namelist(), (rels, target)
        workbook = z.read("xl/workbook.xml").decode()
        assert 'name="myaddin.conf"' in workbook and "_myaddin.conf" not in workbook  # the config sheet is active
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = re.findall(r"<t[^>]*>(.*?)</t>", z.read("xl/sharedStrings.xml").decode())
        row = next(r for r, v in re.findall(r'<c r="A(\d+)"[^>]*t="s"[^>]*><v>(\d+)</v>', sheet)
                   if strings[int(v)] == "UDF Modules")
        assert re.search(rf'<c r="B{row}"[^>]*><is><t>cobro_excel</t></is></c>', sheet)
    # A second reader (calamine) opens it as a workbook and sees the configuration xlwings reads
    import io

    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(xlam.read_bytes()))
    assert wb.sheet_names == ["myaddin.conf"]
    config = {r[0]: r[1] for r in wb.get_sheet_by_name("myaddin.conf").to_python() if r and r[0]}
    assert config["UDF Modules"] == "cobro_excel" and config["Use UDF Server"] is False


@pytest.mark.skipif(not (SCHEMAS / "customUI.xsd").exists(),
                    reason="Microsoft's customUI.xsd is not in tests/fixtures/customui/ (see its README.md)")
def test_the_ribbon_xml_validates_against_microsofts_customui_schema(xlam: Path) -> None:
    import xmlschema

    schema = xmlschema.XMLSchema(str(SCHEMAS / "customUI.xsd"))
    with zipfile.ZipFile(xlam) as z:
        xml = z.read("customUI/customUI.xml").decode("utf-8")
    schema.validate(xml)
    root = ET.fromstring(xml)
    tab = root.find(f".//{{{CUSTOMUI_NS}}}tab")
    assert tab is not None and tab.get("label") == "Cobro"
    button = root.find(f".//{{{CUSTOMUI_NS}}}button")
    assert button is not None and button.get("label") == "Enviar recordatorios"
    # and what the schema refuses, it refuses (the validation is real)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(xml.replace('size="large"', 'size="huge"'))


def test_every_on_action_names_a_sub_of_the_vba_project(xlam: Path) -> None:
    from oletools.olevba import VBA_Parser

    with zipfile.ZipFile(xlam) as z:
        root = ET.fromstring(z.read("customUI/customUI.xml"))
    actions = {el.get("onAction") for el in root.iter() if el.get("onAction")}
    assert actions == {"RibbonMyAddin.RunMain"}
    parser = VBA_Parser(str(xlam))
    try:
        modules = {Path(stream).name: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()
    for action in actions:
        module, sub = action.split(".")
        assert module in modules, sorted(modules)
        assert re.search(rf"^\s*(?:Public\s+)?Sub\s+{sub}\s*\(", modules[module], re.M | re.I), modules[module]
    # The callback imports the module named after the add-in file, and calls its main(): that module exists here.
    code = modules["RibbonMyAddin"]
    assert "ThisWorkbook.Name" in code and '".main()"' in code
    name = xlam.stem
    module = importlib.import_module(name)
    assert callable(module.main) and name != "cobro"
    # The cell functions the configuration lists are in that module.
    # (xlwings' @xw.func only registers on Windows; here it is checked in the source.)
    source = (ROOT / "addin" / "xlwings" / "functions.py").read_text("utf-8")
    for fn in ("COBRO_AGING", "COBRO_KPIS", "COBRO_WORKLIST"):
        assert callable(getattr(module, fn)), fn
        assert re.search(rf"@xw\.func\n(?:@.*\n)*def {fn}\(", source), fn


# ------------------------------------------------------------------------------ the Python side, on the stand-in


def test_the_send_button_runs_the_cycle_and_writes_through_xlwings(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlwings as xw

    import cobro_excel
    from addin.xlwings import actions

    path = demo_ledger(env / "cobranza.xlsx")
    file_before = path.read_bytes()
    book = FakeBook(path, answers=["ok"])
    contacts_before = len(book.records("Contacts"))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    real_send = actions.send_reminders
    monkeypatch.setattr(actions, "send_reminders", lambda b, **kw: real_send(b, as_of=AS_OF, **kw))
    with SmtpTestServer() as smtp:
        monkeypatch.setenv("COBRO_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("COBRO_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("COBRO_SMTP_SECURITY", "none")
        cobro_excel.main()
        received = list(smtp.received)
        # Pressed again: the journal beside the workbook knows; nothing goes out twice.
        book.app.answers = ["ok"]
        cobro_excel.main()
        assert sorted(smtp.received) == sorted(received)
    prompts = [a["prompt"] for a in book.app.alerts]
    assert prompts[0].startswith("¿Enviar ") and book.app.alerts[0]["buttons"] == "ok_cancel"
    assert re.search(r"\d+ enviados, 0 fallidos", prompts[1]), prompts
    assert received
    contacts = book.records("Contacts")
    assert len(contacts) > contacts_before
    ids = {c.get("ID mensaje") or c.get("Message ID") for c in contacts[contacts_before:]}
    assert set(received) <= ids
    levels = [r.get("Nivel") for r in book.records("Invoices")]
    assert any(levels)
    assert path.read_bytes() == file_before  # the host wrote the open workbook; cobro never touched the file
    assert (env / "cobranza.xlsx.cobro-journal.sqlite").exists() or list(env.glob("*journal*"))


def test_cancel_sends_nothing_and_a_bad_cell_is_named_with_nothing_written(env: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from addin.xlwings.actions import send_reminders, show_error
    from cobro.errors import CobroError

    path = demo_ledger(env / "cobranza.xlsx", invoices=80, customers=8)
    book = FakeBook(path, answers=["cancel"])
    with SmtpTestServer() as smtp:
        out = send_reminders(book, as_of=AS_OF, config=smtp.config(), use_env=False)
        assert out["state"] in ("cancelled", "nothing") and smtp.received == []
    assert book.writes == 0
    # A wrong amount in Facturas: the message names sheet, row and column; nothing is sent or written.
    sheet = next(s for s in book.sheets if s.name == "Facturas")
    col = next(c for (r, c), v in sheet.cells.items() if r == 1 and v == "Importe")
    sheet.cells[(3, col)] = "doce euros"
    with pytest.raises(CobroError) as info:
        send_reminders(book, as_of=AS_OF, use_env=False)
    show_error(book, info.value)
    alert = book.app.alerts[-1]
    assert alert["mode"] == "critical"
    assert re.search(r'Facturas, fila 3, columna "Importe"', alert["prompt"]), alert["prompt"]
    assert "Traceback" not in alert["prompt"] and book.writes == 0


def test_cell_functions_read_only_the_tables_they_need_and_return_numbers(env: Path) -> None:
    from addin.xlwings.actions import aging_cells, kpi_cells, worklist_cells

    path = demo_ledger(env / "cobranza.xlsx", invoices=120, customers=10)
    book = FakeBook(path)
    rows = aging_cells(book, dt.datetime(2026, 11, 20))
    assert rows[0][:3] == ["customer_id", "currency", "not_due"]
    assert all(isinstance(v, float) for r in rows[1:] for v in r[2:])
    assert book.tables_read() == {"Settings", "Customers", "Invoices", "Payments"}
    book.reads.clear()
    k = kpi_cells(book, AS_OF, 3)
    assert isinstance(k[1][1], float)
    assert "Templates" not in book.tables_read() and "Contacts" not in book.tables_read()
    book.reads.clear()
    w = worklist_cells(book, AS_OF, 5)
    assert len(w) <= 6 and isinstance(w[1][2], float)
    assert book.tables_read() <= {"Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels"}
    # Only the tables' ranges are read, never a sheet's whole used range.
    assert all(r[1] >= 1 for r in book.reads)


def test_the_extra_ribbon_actions_show_the_core_results(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlwings as xw

    from addin.xlwings import ribbon

    path = demo_ledger(env / "cobranza.xlsx", invoices=120, customers=10)
    book = FakeBook(path)
    shown: list[list[list[object]]] = []
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    monkeypatch.setattr(ribbon, "_show", lambda b, rows: shown.append(rows))
    for action in (ribbon.show_aging, ribbon.show_kpis, ribbon.show_worklist, ribbon.show_forecast):
        action()
    assert len(shown) == 4 and shown[0][0][0] == "customer_id"
    assert all(len(rows) > 1 and "error" not in str(rows[0][0]).casefold() for rows in shown), shown


def test_a_sorted_table_between_read_and_write_is_refused_with_nothing_written(env: Path) -> None:
    from addin.xlwings.host import HostWriteError, apply_writes, read_tables
    from sync.cycle import refresh
    from sync.table_store import TableStore

    path = demo_ledger(env / "cobranza.xlsx", invoices=60, customers=6)
    book = FakeBook(path)
    sheet = next(s for s in book.sheets if s.name == "Facturas")
    for (r, c) in [k for k in sheet.cells if k[0] > 1]:
        if c > 8:  # blank the derived columns: refresh has something to write
            sheet.cells.pop((r, c))
    read = read_tables(book, ["Settings", "Customers", "Invoices", "Payments", "Contacts", "Plans", "Levels"])
    store = TableStore(list(read.values()))
    led = store.load()
    assert refresh(store, AS_OF, led) > 0
    writes = store.writes()
    a, b = sheet.cells.get((2, 1)), sheet.cells.get((3, 1))
    sheet.cells[(2, 1)], sheet.cells[(3, 1)] = b, a  # someone sorted two rows
    before = book.writes
    with pytest.raises(HostWriteError):
        apply_writes(book, read, writes)
    assert book.writes == before
    sheet.cells[(2, 1)], sheet.cells[(3, 1)] = a, b
    counts = apply_writes(book, read, writes)
    assert counts["cells"] > 0 and book.writes > before


# ------------------------------------------------------------------------------ the commands


def test_cobro_addin_build_install_and_certs(tmp_path: Path) -> None:
    import ssl

    from addin.xlwings.build import install_dir
    from cobro_cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["addin", "build", "--out", str(tmp_path / "dist"), "--url", "https://cobro.example.com"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "dist" / "cobro_excel.xlam").exists()
    manifest = (tmp_path / "dist" / "cobro-manifest.xml").read_text("utf-8")
    assert "https://cobro.example.com/addin/runtime.html" in manifest and "localhost:8750" not in manifest
    r = runner.invoke(main, ["addin", "build", "--out", str(tmp_path / "x"), "--url", "http://insecure.example"])
    assert r.exit_code == 2 and "HTTPS" in r.output
    r = runner.invoke(main, ["addin", "install", str(tmp_path / "dist" / "cobro_excel.xlam"),
                             "--dest", str(tmp_path / "XLSTART")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "XLSTART" / "cobro_excel.xlam").read_bytes() == \
        (tmp_path / "dist" / "cobro_excel.xlam").read_bytes()
    assert install_dir("win32", env={"APPDATA": r"C:\Users\ana\AppData\Roaming"}).as_posix().endswith(
        "Microsoft/Excel/XLSTART")
    assert "Startup.localized/Excel" in install_dir("darwin", home=Path("/Users/ana")).as_posix()
    r = runner.invoke(main, ["addin", "install", str(tmp_path / "dist" / "cobro_excel.xlam")])
    if not (r.exit_code == 0):  # Linux: no desktop Excel; a clear message, no traceback
        assert r.exit_code == 2 and "Windows and Mac" in r.output
    r = runner.invoke(main, ["addin", "certs", "--dir", str(tmp_path / "certs")])
    assert r.exit_code == 0, r.output
    assert oct((tmp_path / "certs" / "localhost.key").stat().st_mode & 0o777) == "0o600"
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "certs" / "localhost.crt", tmp_path / "certs" / "localhost.key")
    client = ssl.create_default_context(cafile=str(tmp_path / "certs" / "ca.crt"))
    assert client.check_hostname  # the CA file is all a client needs to trust localhost
