"""Recalculate a workbook's formulas with LibreOffice headless (tests, benchmarks, users without Excel).

``recalculate(src, out_dir)`` converts ``src`` to .xlsx with LibreOffice, forcing a full
recalculation on load, and returns the path of the converted file, whose cells carry freshly computed
cached values (read them with python-calamine or openpyxl ``data_only=True``).

Each call uses a private LibreOffice profile (``-env:UserInstallation``) so parallel runs never
share or lock a profile; the profile is configured to always recalculate OOXML and ODF files on load
(LibreOffice's default is to trust cached values, which would hide broken formulas).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">
<value>{mode}</value></prop></item>
</oor:items>
"""


class LibreOfficeError(RuntimeError):
    """LibreOffice is missing or failed to convert the file."""


def soffice_path() -> str | None:
    """The LibreOffice executable, or None when not installed."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Conversion:
    path: Path
    seconds: float


def make_profile(directory: str | os.PathLike[str], recalc: bool = True) -> Path:
    """A fresh LibreOffice user profile in ``directory`` that always (or never) recalculates on load."""
    prof = Path(directory)
    user = prof / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(_RECALC_XCU.format(mode=0 if recalc else 1), encoding="utf-8")
    return prof


def convert(src: str | os.PathLike[str], out_dir: str | os.PathLike[str], profile: str | os.PathLike[str],
            fmt: str = "xlsx", timeout: float = 1800) -> Conversion:
    """Convert ``src`` with LibreOffice headless using ``profile``; returns the output path and wall time."""
    exe = soffice_path()
    if exe is None:
        raise LibreOfficeError("LibreOffice (soffice) is not installed")
    src = Path(src)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [exe, f"-env:UserInstallation={Path(profile).resolve().as_uri()}", "--headless", "--norestore",
           "--nolockcheck", "--calc", "--convert-to", fmt, "--outdir", str(out), str(src)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - t0
    target = out / (src.stem + "." + fmt.split(":")[0])
    if proc.returncode != 0 or not target.exists():
        raise LibreOfficeError(f"LibreOffice could not convert {src.name} (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return Conversion(target, seconds)


def recalculate(src: str | os.PathLike[str], out_dir: str | os.PathLike[str], timeout: float = 1800) -> Path:
    """Recalculate every formula of ``src`` in LibreOffice; returns the recalculated .xlsx in ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="cobro-lo-profile-") as prof:
        make_profile(prof, recalc=True)
        return convert(src, out_dir, prof, "xlsx", timeout).path
