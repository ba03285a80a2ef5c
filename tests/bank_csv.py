"""What the reconcile tests share: a Spanish bank's CSV export."""

from __future__ import annotations

from pathlib import Path


def write_csv(path: Path, lines: list[str]) -> Path:
    """A bank export as Spanish banks write it (Latin-1, semicolons, a running balance)."""
    path.write_text("Fecha;Fecha valor;Concepto;Importe;Saldo\n" + "\n".join(lines) + "\n", encoding="latin-1")
    return path
