"""One error family: every error cobro explains to a person descends from ``CobroError`` and carries its exit code,
HTTP status and location; the CLI and the service each handle it in one place."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from cobro.errors import CobroError, ConflictError, InputError, ServiceConfigError, UserError

ROOT = Path(__file__).resolve().parent.parent
# Exceptions used for control flow inside one module, never shown to a person.
INTERNAL = {"sync.mailer._Stop", "sheets_templates.libreoffice.LibreOfficeError"}


def _exception_classes() -> list[tuple[str, str]]:
    found = []
    for pkg in ("cobro", "cobro_cli", "sync", "addin", "sheets_templates"):
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and (node.name.endswith("Error") or node.name.endswith("Exception")):
                    found.append((".".join(parts), node.name))
    for node in ast.parse((ROOT / "server.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
            found.append(("server", node.name))
    return found


@pytest.mark.parametrize("module,name", _exception_classes())
def test_every_error_is_in_the_family(module: str, name: str) -> None:
    if f"{module}.{name}" in INTERNAL:
        pytest.skip("internal control flow")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, CobroError), f"{module}.{name} is not a CobroError"


def test_location_and_codes() -> None:
    e = InputError("bad amount", source="Facturas", row=7, column="amount")
    assert (e.exit_code, e.http_status) == (2, 422)
    assert e.to_json() == {"error": "bad amount",
                           "problems": [{"message": "bad amount", "source": "Facturas", "row": 7, "column": "amount"}]}
    assert UserError("x").http_status == 400
    assert ConflictError("x").http_status == 409 and ConflictError("x").to_json() == {"error": "x"}
    assert ServiceConfigError("x").http_status == 500


def test_cli_handles_the_family_in_one_place(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from cobro_cli import run

    assert run(["aging", str(tmp_path / "missing.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cobro: ") and "Traceback" not in err


def test_service_handles_the_family_in_one_place() -> None:
    import server

    app = server.create_app({})

    @app.get("/boom-conflict")
    def _boom() -> None:
        raise ConflictError("busy; nothing was written")

    @app.get("/boom-input")
    def _boom2() -> None:
        raise InputError("Facturas, fila 3: importe", source="Facturas", row=3, column="amount")

    client = app.test_client()
    r = client.get("/boom-conflict", headers={"Host": "127.0.0.1"})
    assert r.status_code == 409 and r.get_json() == {"error": "busy; nothing was written"}
    r = client.get("/boom-input", headers={"Host": "127.0.0.1"})
    assert r.status_code == 422 and r.get_json()["problems"][0]["row"] == 3
