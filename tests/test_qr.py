"""``cobro.qr`` makes exactly segno's QR symbol (same version, same mask, same modules) in a fraction of its time,
and writes PNGs whose pixels are those modules. Compared with segno itself for payloads of every version, and read
back with zbar when it is installed."""

from __future__ import annotations

import random
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

segno = pytest.importorskip("segno")

from cobro.payment import epc_payload, qr_matrix, qr_png  # noqa: E402
from cobro.qr import png, qr_modules  # noqa: E402

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,-/:+ñÑáéíóúü€\n"


def segno_modules(payload: str) -> np.ndarray:
    code = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    return np.array([list(row) for row in code.matrix], dtype=bool)


def payloads(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        n = max(1, int(rnd.choice([1, 8, 30, 90, 160, 240, 331, 600, 1000, 1600]) * rnd.uniform(0.4, 1.0)))
        out.append("".join(rnd.choice(ALPHABET) for _ in range(n)))
    return out


def test_the_same_symbol_as_segno_for_payloads_of_every_size() -> None:
    versions = set()
    for p in payloads(240, seed=7):
        want = segno_modules(p)
        got = qr_modules(p)
        assert got.shape == want.shape and (got == want).all(), p
        versions.add((len(want) - 17) // 4)
    assert {1, 2, 7, 10}.issubset(versions) and max(versions) >= 25  # alignment patterns and version information


def test_the_same_symbol_as_segno_for_payment_requests_and_every_mask() -> None:
    masks = set()
    rnd = random.Random(3)
    for k in range(160):
        p = epc_payload(name="Distribuciones Núñez S.L." if k % 2 else "ACME", iban="ES9121000418450200051332",
                        bic="CAIXESBBXXX" if k % 3 else "", amount_minor=rnd.randint(1, 99_999_999_99),
                        reference="Fras. " + ", ".join(f"F-2026-{rnd.randint(1, 9999):04d}"
                                                       for _ in range(rnd.randint(1, 12))))
        assert (qr_modules(p) == segno_modules(p)).all(), p
        masks.add(segno.make_qr(p, error="m", boost_error=False, encoding="utf-8").mask)
    assert len(masks) >= 6  # the best mask varies (mask 1 rarely wins)


def test_png_pixels_are_the_modules_with_their_quiet_zone() -> None:
    p = epc_payload(name="ACME", iban="ES9121000418450200051332", bic="", amount_minor=12345, reference="F-1")
    modules = qr_modules(p)
    data = qr_png(p)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(data[16:20], "big")
    size = len(modules) + 8
    assert width == size * 5 and data[24:26] == b"\x01\x00"  # 1-bit grayscale
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(width, -1)
    assert (raw[:, 0] == 0).all()  # filter 0 on every row
    pixels = np.unpackbits(raw[:, 1:], axis=1)[:, :width].astype(bool)  # True = white
    dark = ~pixels[::5, ::5]
    assert (dark[4:-4, 4:-4] == modules).all() and not dark[:4].any() and not dark[:, -4:].any()
    assert qr_matrix(p) == modules.tolist()


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) is not installed")
def test_pngs_of_every_size_read_back_as_their_payload(tmp_path: Path) -> None:
    for i, p in enumerate(payloads(12, seed=11)):
        if "\n" in p:
            p = p.replace("\n", " ")
        path = tmp_path / f"{i}.png"
        path.write_bytes(png(qr_modules(p), scale=3))
        out = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(path)], capture_output=True, check=True)
        assert out.stdout.decode("utf-8").rstrip("\n") == p
