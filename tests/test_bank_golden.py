"""Golden-file tests for every real bank sample and every synthetic fixture (beangulp style).

Each file is read with ``read_statement`` and compared with ``tests/golden/bank/<subdir>/<file>.json``.
Regenerate with ``COBRO_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_bank_golden.py`` and check the diff by
hand: ``test_bank_samples.py`` holds the independent checks against what the source projects assert.

The copyleft samples are read from ``../shared/bank-samples`` (skipped when absent); the MIT/Apache ones
also live in ``tests/fixtures/bank`` so their goldens always run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cobro.bank import read_statement, statement_as_dict

HERE = Path(__file__).resolve().parent
SHARED = Path(__file__).resolve().parents[2] / "shared" / "bank-samples"
FIXTURES = HERE / "fixtures" / "bank"
GOLDEN = HERE / "golden" / "bank"
REGEN = os.environ.get("COBRO_REGEN_GOLDEN") == "1"

SAMPLES = [
    ("camt053", "kedder_davider80.xml"),
    ("camt053", "oca_test-camt053.xml"),
    ("csv", "ingde_test_with_saldo_1_latin1.csv"),
    ("csv", "oca_meta_data_separated_credit_debit.csv"),
    ("csv", "oca_sample_statement_en.csv"),
    ("mt940", "oca10_test-ing.940"),
    ("mt940", "wolph_betterplace_sepa_mt9401.sta"),
    ("mt940", "wolph_jejik_abnamro.sta"),
    ("n43", "csb43_sample_sepa.n43"),
    ("n43", "oca_l10n_es_test.n43"),
    ("n43", "oca_l10n_es_testmulti.n43"),
    ("n43", "sequra_example2_fragment.n43"),
    ("ofx", "ledgerautosync_accented_characters_latin1.ofx"),
    ("ofx", "oca_test_ofx.ofx"),
    ("ofx", "ofxparse_bank_medium.ofx"),
]
# permissive public samples copied straight from their projects (not in ../shared): see ATTRIBUTION.md
COPIED = [
    ("mt940", "wolph_jejik_rabobank.sta"),
    ("mt940", "wolph_raiffeisen_cmi_cp852.sta"),
    ("mt940", "wolph_sberbank_ns.sta"),
    ("ofx", "ofxparse_suncorp_cdata.ofx"),
]
SYNTHETIC = [
    ("synthetic", "camt053_v08.xml"),
    ("synthetic", "debe_haber.csv"),
    ("synthetic", "es_bank.csv"),
    ("synthetic", "german_subfields.sta"),
    ("synthetic", "ofx2_xml.ofx"),
    ("synthetic", "tab_cargo_abono.tsv"),
    ("synthetic", "two_accounts_sepa.n43"),
    ("synthetic", "us_debit_credit.csv"),
]
PERMISSIVE = [(d, n) for d, n in SAMPLES if (FIXTURES / d / n).exists()]


def sample_path(subdir: str, name: str) -> Path:
    """The sample's bytes: the copy in tests/fixtures when there is one, else ../shared (or skip)."""
    local = FIXTURES / subdir / name
    if local.exists():
        return local
    shared = SHARED / subdir / name
    if shared.exists():
        return shared
    pytest.skip(f"{subdir}/{name} is a copyleft sample read only from ../shared/bank-samples, which is absent")


def _ids(item: tuple[str, str]) -> str:
    return f"{item[0]}/{item[1]}"


@pytest.mark.parametrize("item", SAMPLES + COPIED + SYNTHETIC, ids=_ids)
def test_golden(item: tuple[str, str]) -> None:
    subdir, name = item
    path = sample_path(subdir, name)
    got = statement_as_dict(read_statement(path.read_bytes(), name))
    golden = GOLDEN / subdir / f"{name}.json"
    if REGEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    assert golden.exists(), f"no golden for {subdir}/{name}: run with COBRO_REGEN_GOLDEN=1 and check it by hand"
    assert got == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("item", SAMPLES + COPIED + SYNTHETIC, ids=_ids)
def test_reread_gives_the_same_unique_ids(item: tuple[str, str]) -> None:
    subdir, name = item
    data = sample_path(subdir, name).read_bytes()
    first = [ln.line_id for ln in read_statement(data, name).lines]
    second = [ln.line_id for ln in read_statement(data, "another-name" + Path(name).suffix).lines]
    assert first == second
    assert len(set(first)) == len(first), "two lines of one file share an id"


def test_every_shared_sample_has_a_golden() -> None:
    if not SHARED.exists():
        pytest.skip("../shared/bank-samples is absent")
    listed = {(d, n) for d, n in SAMPLES}
    on_disk = {(p.parent.name, p.name) for p in SHARED.glob("*/*")
               if not p.name.endswith((".json", ".yml", ".pydata"))}
    assert on_disk <= listed, f"new samples without a golden test: {sorted(on_disk - listed)}"


@pytest.mark.parametrize("item", PERMISSIVE, ids=_ids)
def test_fixture_copies_are_byte_for_byte(item: tuple[str, str]) -> None:
    subdir, name = item
    shared = SHARED / subdir / name
    if not shared.exists():
        pytest.skip("../shared/bank-samples is absent")
    assert (FIXTURES / subdir / name).read_bytes() == shared.read_bytes()
