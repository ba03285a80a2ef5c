"""API tokens (``sync.tokens``) and ``cobro token``: derived, printable again, stored only hashed, rotatable."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest

from cobro_cli import run
from sync.tokens import TOKEN_PREFIX, TokenStore, TokenStoreError, canonical_path, data_dir, token_hash


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "cobro-home"
    monkeypatch.setenv("COBRO_HOME", str(h))
    return h


@pytest.fixture
def book(tmp_path: Path) -> Path:
    p = tmp_path / "ledgers" / "cobranza.xlsx"
    p.parent.mkdir()
    p.write_bytes(b"PK\x03\x04 not really a workbook; tokens never open it")
    return p


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_token_is_printable_again_but_only_its_hash_is_stored(home: Path, book: Path) -> None:
    store = TokenStore(home)
    token = store.token_for(book)
    assert re.fullmatch(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}", token)
    assert store.token_for(book) == token == TokenStore(home).token_for(book)  # derived, not remembered
    registry = json.loads((home / "tokens.json").read_text())
    entry = registry["ledgers"][canonical_path(book)]
    assert entry["token_sha256"] == hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
    for f in home.iterdir():
        assert token.encode() not in f.read_bytes(), f
    assert book.read_bytes().startswith(b"PK\x03\x04 not really")  # the workbook is never touched


def test_the_data_folder_is_private(home: Path, book: Path) -> None:
    TokenStore(home).token_for(book)
    assert mode(home) == 0o700
    assert mode(home / "secret.key") == 0o600 and len((home / "secret.key").read_bytes()) == 32
    assert mode(home / "tokens.json") == 0o600


def test_resolve_finds_the_ledger_and_nothing_else(home: Path, book: Path, tmp_path: Path) -> None:
    store = TokenStore(home)
    other = tmp_path / "otra.xlsx"
    other.write_bytes(b"x")
    t1, t2 = store.token_for(book), store.token_for(other)
    assert t1 != t2
    assert store.resolve(t1) == canonical_path(book) and store.resolve(t2) == canonical_path(other)
    for wrong in ("", t1[:-1], t1 + "A", t1.upper(), "cobro_" + "A" * 43, "\udcff", " " + t1):
        assert store.resolve(wrong) is None
    assert store.resolve(None) is None  # type: ignore[arg-type]


def test_the_same_workbook_by_any_spelling_has_one_token(home: Path, book: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    store = TokenStore(home)
    token = store.token_for(book)
    monkeypatch.chdir(book.parent)
    assert store.token_for("cobranza.xlsx") == token
    assert store.token_for(book.parent / ".." / book.parent.name / book.name) == token
    link = tmp_path / "enlace.xlsx"
    link.symlink_to(book)
    assert store.token_for(link) == token
    assert len(store.entries()) == 1


def test_rotation_replaces_the_token_everywhere_at_once(home: Path, book: Path) -> None:
    server_side = TokenStore(home)  # a long-lived store, as in a running service
    old = server_side.token_for(book)
    assert server_side.resolve(old)
    new = TokenStore(home).token_for(book, rotate=True)  # `cobro token --rotate` in another process
    assert new != old
    assert server_side.resolve(old) is None and server_side.resolve(new) == canonical_path(book)
    assert TokenStore(home).token_for(book) == new  # stable again after the rotation
    entry = server_side.entries()[0]
    assert entry.rotated is not None and entry.created <= entry.rotated


def test_forget_removes_a_token(home: Path, book: Path) -> None:
    store = TokenStore(home)
    token = store.token_for(book)
    assert store.forget(book) and not store.forget(book)
    assert store.resolve(token) is None and not store.has_token(book)


def test_writers_at_once_lose_nothing(home: Path, tmp_path: Path) -> None:
    books = []
    for i in range(12):
        p = tmp_path / f"l{i}.xlsx"
        p.write_bytes(b"x")
        books.append(p)
    tokens: dict[Path, str] = {}

    def register(p: Path) -> None:
        tokens[p] = TokenStore(home).token_for(p)

    threads = [threading.Thread(target=register, args=(p,)) for p in books]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = TokenStore(home)
    assert len(store.entries()) == 12
    assert all(store.resolve(tokens[p]) == canonical_path(p) for p in books)


def test_a_secret_others_can_read_is_refused(home: Path, book: Path) -> None:
    store = TokenStore(home)
    store.token_for(book)
    os.chmod(home / "secret.key", 0o644)
    with pytest.raises(TokenStoreError, match="chmod 600"):
        store.token_for(book)


def test_a_damaged_registry_or_secret_gives_a_clear_error(home: Path, book: Path) -> None:
    store = TokenStore(home)
    token = store.token_for(book)
    (home / "tokens.json").write_text("{not json")
    with pytest.raises(TokenStoreError, match="not a cobro token registry"):
        store.resolve(token)
    (home / "tokens.json").write_text(json.dumps({"version": 99, "ledgers": {}}))
    with pytest.raises(TokenStoreError, match="version 99"):
        TokenStore(home).token_for(book)
    (home / "tokens.json").unlink()
    (home / "secret.key").write_bytes(b"short")
    with pytest.raises(TokenStoreError, match="damaged"):
        TokenStore(home).token_for(book)


def test_a_new_secret_re_registers_instead_of_keeping_a_dead_hash(home: Path, book: Path) -> None:
    old = TokenStore(home).token_for(book)
    (home / "secret.key").unlink()
    new = TokenStore(home).token_for(book)
    assert new != old and TokenStore(home).resolve(new) == canonical_path(book)
    assert TokenStore(home).resolve(old) is None


def test_the_data_folder_follows_the_environment(tmp_path: Path) -> None:
    assert data_dir({"COBRO_HOME": str(tmp_path / "h")}) == tmp_path / "h"
    assert data_dir({"XDG_DATA_HOME": str(tmp_path / "x")}) == tmp_path / "x" / "cobro"
    assert data_dir({}) == Path.home() / ".local" / "share" / "cobro"


# ------------------------------------------------------------------------------------------- cobro token


def test_cobro_token_prints_the_same_token_until_rotated(home: Path, book: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["token", str(book)]) == 0
    first = capsys.readouterr()
    token = first.out.strip()
    assert token.startswith(TOKEN_PREFIX) and "\n" not in token  # stdout is the token alone: $(cobro token X)
    assert "Created" in first.err and str(home) in first.err
    assert run(["token", str(book)]) == 0
    again = capsys.readouterr()
    assert again.out.strip() == token and again.err == ""
    assert run(["token", str(book), "--rotate"]) == 0
    rotated = capsys.readouterr()
    assert rotated.out.strip() != token and "no longer works" in rotated.err
    assert TokenStore(home).resolve(rotated.out.strip()) == canonical_path(book)


def test_cobro_token_refuses_what_is_not_a_ledger(home: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["token", str(tmp_path / "missing.xlsx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert run(["token", str(notes)]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert not (home / "tokens.json").exists()
