"""Build ``cobro_excel.xlam``, the desktop Excel add-in, from xlwings' own open-source ribbon add-in template
(the file ``xlwings quickstart NAME --addin --ribbon`` copies: ``xlwings/quickstart_addin_ribbon.xlam``, BSD).

What changes, and what does not:

- ``customUI/customUI.xml`` becomes a **Cobro** tab whose **Send reminders** button runs the template's own
  callback ``RibbonMyAddin.RunMain`` — which runs ``import <file base name>; <file base name>.main()``. Hence the
  file's name ``cobro_excel.xlam``: its module is the top-level ``cobro_excel`` (never the core package ``cobro``;
  and a hyphen, as in ``cobro-excel``, would make that Python statement invalid).
- The configuration sheet ``_myaddin.conf`` is activated (renamed ``myaddin.conf``: the template's VBA reads
  ``PROJECT_NAME & ".conf"``, and PROJECT_NAME is compiled as ``myaddin``) and lists ``cobro_excel`` under
  "UDF Modules" (so =COBRO_AGING, =COBRO_KPIS, =COBRO_WORKLIST and =COBRO_FORECAST load), and the interpreter
  when given.
- ``xl/vbaProject.bin`` is copied byte for byte: no VBA is authored here.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from sync.fileio import atomic_write

ADDIN_NAME = "cobro_excel.xlam"
MODULE = "cobro_excel"
CALLBACK = "RibbonMyAddin.RunMain"  # the template's only ribbon callback (a Sub in its VBA project)
TEMPLATE_SHEET = "_myaddin.conf"
ACTIVE_SHEET = "myaddin.conf"

LABELS = {
    "en": {"tab": "Cobro", "group": "Collections", "send": "Send reminders",
           "tip": "Send today's reminders of this workbook",
           "super": "Shows the count and the total, asks, sends each reminder exactly once and writes the contacts "
                    "and the invoice columns into this workbook."},
    "es": {"tab": "Cobro", "group": "Cobranza", "send": "Enviar recordatorios",
           "tip": "Enviar los recordatorios de hoy de este libro",
           "super": "Muestra el número y el total, pregunta, envía cada recordatorio una sola vez y escribe las "
                    "gestiones y las columnas de facturas en este libro."},
}


def template_path() -> Path:
    """xlwings' ribbon add-in template inside the installed xlwings package."""
    import xlwings

    path = Path(xlwings.__file__).resolve().parent / "quickstart_addin_ribbon.xlam"
    if not path.is_file():
        from cobro.errors import ServiceConfigError

        raise ServiceConfigError(f"xlwings' ribbon add-in template is missing ({path}); reinstall xlwings "
                                 "(pip install 'cobro[excel]')")
    return path


def ribbon_xml(locale: str = "en") -> str:
    """The Cobro tab (customUI 2006 schema, what the template uses)."""
    t = {k: escape(v, {'"': "&quot;"}) for k, v in LABELS.get(locale, LABELS["en"]).items()}
    return (
        '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">\n'
        "  <ribbon>\n"
        "    <tabs>\n"
        f'      <tab id="cobroTab" label="{t["tab"]}">\n'
        f'        <group id="cobroCollect" label="{t["group"]}">\n'
        f'          <button id="cobroSend" label="{t["send"]}" size="large" onAction="{CALLBACK}"\n'
        f'                  imageMso="FileSendAsAttachment" screentip="{t["tip"]}" supertip="{t["super"]}"/>\n'
        "        </group>\n"
        "      </tab>\n"
        "    </tabs>\n"
        "  </ribbon>\n"
        "</customUI>\n"
    )


def _config_cell(sheet_xml: str, row: int, value: str) -> str:
    """Put ``value`` (inline text) in column B of configuration row ``row`` of the sheet XML."""
    pattern = re.compile(rf'(<row r="{row}"[^>]*>)(.*?)(</row>)', re.S)
    m = pattern.search(sheet_xml)
    if m is None:
        raise ValueError(f"the template's configuration sheet has no row {row}")
    cells = re.sub(rf'<c r="B{row}"[^>]*?(?:/>|>.*?</c>)', "", m.group(2), flags=re.S)
    cell = f'<c r="B{row}" s="1" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    head = re.sub(r'spans="\d+:\d+"', 'spans="1:2"', m.group(1))
    return sheet_xml[:m.start()] + head + cells + cell + m.group(3) + sheet_xml[m.end():]


def build_xlam(dest: Path, *, locale: str = "en", interpreter_win: str = "", interpreter_mac: str = "",
               template: Path | None = None) -> Path:
    """Write ``cobro_excel.xlam`` into the folder ``dest`` (or to ``dest`` when it names a .xlam file) from the
    xlwings template; returns its path. The VBA project is copied unchanged."""
    src = template or template_path()
    out = dest / ADDIN_NAME if dest.suffix.lower() != ".xlam" else dest
    if out.name != ADDIN_NAME:
        from cobro.errors import UserError

        raise UserError(f"{out}: the add-in must be named {ADDIN_NAME} (its ribbon button imports the module named "
                        "after the file)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin:
        strings = zin.read("xl/sharedStrings.xml").decode("utf-8")
        keys = re.findall(r"<si><t[^>]*>(.*?)</t></si>", strings)
        workbook = zin.read("xl/workbook.xml").decode("utf-8")
        rels = zin.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        m = re.search(rf'<sheet name="{re.escape(TEMPLATE_SHEET)}"[^>]*r:id="(\w+)"', workbook)
        if m is None:
            raise ValueError(f"{src}: no {TEMPLATE_SHEET} sheet (an unexpected xlwings template)")
        target = re.search(rf'Id="{m.group(1)}"[^>]*Target="([^"]+)"', rels) or \
            re.search(rf'Target="([^"]+)"[^>]*Id="{m.group(1)}"', rels)
        sheet_part = "xl/" + target.group(1).lstrip("/").removeprefix("xl/")  # type: ignore[union-attr]
        sheet = zin.read(sheet_part).decode("utf-8")
        rows = {keys[int(v)]: int(r) for r, v in re.findall(r'<c r="A(\d+)"[^>]*t="s"[^>]*><v>(\d+)</v>', sheet)}
        sheet = _config_cell(sheet, rows["UDF Modules"], MODULE)
        if interpreter_win:
            sheet = _config_cell(sheet, rows["Interpreter_Win"], interpreter_win)
        if interpreter_mac:
            sheet = _config_cell(sheet, rows["Interpreter_Mac"], interpreter_mac)
        replaced = {
            "customUI/customUI.xml": ribbon_xml(locale).encode("utf-8"),
            "xl/workbook.xml": workbook.replace(f'name="{TEMPLATE_SHEET}"', f'name="{ACTIVE_SHEET}"').encode("utf-8"),
            sheet_part: sheet.encode("utf-8"),
        }
        if "docProps/app.xml" in zin.namelist():
            app = zin.read("docProps/app.xml").decode("utf-8")
            replaced["docProps/app.xml"] = app.replace(f">{TEMPLATE_SHEET}<", f">{ACTIVE_SHEET}<").encode("utf-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = replaced.get(info.filename, zin.read(info.filename))
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    atomic_write(out, buf.getvalue(), mode=0o644)
    return out


def install_dir(platform: str | None = None, home: Path | None = None, env: dict[str, str] | None = None) -> Path:
    """Where Excel loads add-ins at start (its user startup folder, XLSTART), as ``xlwings addin install`` puts
    them: Windows ``%APPDATA%\\Microsoft\\Excel\\XLSTART``; Mac the Office group container's Excel startup folder.
    Raises ``UserError`` elsewhere (desktop Excel runs on Windows and Mac only)."""
    import os
    import sys

    from cobro.errors import UserError

    platform = platform or sys.platform
    env = dict(os.environ) if env is None else env
    home = home or Path.home()
    if platform.startswith("win"):
        appdata = env.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    if platform == "darwin":
        return (home / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content.localized"
                / "Startup.localized" / "Excel")
    raise UserError("desktop Excel runs on Windows and Mac only: copy cobro_excel.xlam to that machine and run "
                    "`cobro addin install` there (or give --dest)")
