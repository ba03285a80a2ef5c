"""Files cobro writes: one atomic-write helper and one file lock, correct on Windows and POSIX.

- ``atomic_write(path, data_or_writer)``: the content goes to a temporary file in the same folder (named so a
  later run recognises and removes one a crash left behind), is flushed and fsynced, takes the permissions,
  owner and group of the file it replaces, and replaces it with ``os.replace`` — on Windows, where a reader can
  hold the file for a moment (antivirus, indexer), the replace is retried briefly. The folder is fsynced on POSIX
  only: Windows cannot open a folder as a file, and NTFS journals the rename itself.
- ``file_lock(path)``: an exclusive lock on ``path`` (``flock`` on POSIX, ``msvcrt.locking`` on Windows),
  blocking or not.
- ``open_by_owner(path)``: the owner-lock files Excel (``~$NAME.xlsx``) and LibreOffice (``.~lock.NAME.xlsx#``)
  keep beside a workbook while it is open; ``refuse_if_open`` turns one into a clear ``WorkbookOpenError``.
- ``real_path(path)``: one name for one file, whatever link named it (symlinks resolved).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from cobro.errors import ConflictError

TEMP_MARK = ".cobro-tmp-"
_WINDOWS = sys.platform == "win32"


class WorkbookOpenError(ConflictError):
    """The workbook is open in Excel or LibreOffice: writing the file would be lost when they save."""


# ----------------------------------------------------------------------------------------------- names


def real_path(path: str | os.PathLike[str]) -> Path:
    """The file's own path: symlinks resolved, so every name of a ledger gives one journal, one lock, one
    target to write through to."""
    return Path(os.path.realpath(os.fspath(path)))


def temp_name_prefix(path: Path) -> str:
    return f".{path.name}{TEMP_MARK}"


def remove_stale_temps(path: str | os.PathLike[str], older_than_s: float = 60.0) -> list[Path]:
    """Remove temporary files an interrupted write of ``path`` left behind (older than ``older_than_s``)."""
    path = Path(path)
    removed: list[Path] = []
    now = time.time()
    try:
        candidates = list(path.parent.glob(temp_name_prefix(path) + "*"))
    except OSError:
        return removed
    for tmp in candidates:
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime >= older_than_s:
                tmp.unlink()
                removed.append(tmp)
    return removed


# ---------------------------------------------------------------------------------------- atomic write


def _copy_metadata(src: Path, dst_fd: int) -> None:
    """Give the new file the mode, owner and group of the one it replaces (a shared 0664 workbook stays so)."""
    try:
        st = src.stat()
    except FileNotFoundError:
        return
    with contextlib.suppress(OSError, AttributeError, NotImplementedError):
        os.fchmod(dst_fd, st.st_mode & 0o7777)  # type: ignore[attr-defined]
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):
            os.fchown(dst_fd, st.st_uid, st.st_gid)


def _replace(tmp: str, target: Path) -> None:
    if not _WINDOWS:
        os.replace(tmp, target)
        return
    delay = 0.05
    for attempt in range(8):  # a scanner or indexer may hold the file for a moment
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if attempt == 7:
                raise
            time.sleep(delay)
            delay *= 2


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op on Windows, which cannot open a folder as a file."""
    if _WINDOWS:
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems (e.g. network mounts) refuse fsync on a folder: the rename is done
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], content: bytes | Callable[[BinaryIO], None], *,
                 mode: int | None = None, before_replace: Callable[[], None] | None = None) -> None:
    """Replace ``path`` with ``content`` (bytes, or a function that writes to the open temporary file) atomically:
    a reader sees the old file or the new one, never a mix; a crash leaves the old file and at most a temporary
    file that ``remove_stale_temps`` cleans up. ``mode``: the new file's permissions (default: those of the file
    replaced, or the process umask for a new file). ``before_replace``: called after the content is durable and
    just before the swap (last checks, backups); what it raises cancels the write."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_name_prefix(target), dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
            if mode is not None:
                with contextlib.suppress(OSError, AttributeError, NotImplementedError):
                    os.fchmod(fh.fileno(), mode)  # type: ignore[attr-defined]
            else:
                _copy_metadata(target, fh.fileno())
        if mode is not None and _WINDOWS:
            with contextlib.suppress(OSError):
                os.chmod(tmp, mode)
        if before_replace is not None:
            before_replace()
        _replace(tmp, target)
        tmp = ""
        fsync_folder(target.parent)
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` atomically, readable by its owner only (0600)."""
    atomic_write(path, data, mode=0o600)


def open_private(path: str | os.PathLike[str], flags: int = os.O_RDWR | os.O_CREAT) -> int:
    """Open (creating) a file readable by its owner only; an existing file is narrowed to 0600 too."""
    fd = os.open(path, flags, 0o600)
    with contextlib.suppress(OSError, AttributeError, NotImplementedError):
        os.fchmod(fd, 0o600)  # type: ignore[attr-defined]
    return fd


# ------------------------------------------------------------------------------------------------ lock

if _WINDOWS:  # pragma: no cover - exercised on Windows only
    import msvcrt

    def try_lock(fd: int) -> None:
        """Take an exclusive lock on the open file ``fd`` at once, or raise ``BlockingIOError``."""
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError as e:
            raise BlockingIOError(str(e)) from None

    def lock(fd: int) -> None:
        """Take an exclusive lock on the open file ``fd``, waiting for it."""
        while True:
            try:
                try_lock(fd)
                return
            except BlockingIOError:
                time.sleep(0.05)

    def unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
else:
    import fcntl

    def try_lock(fd: int) -> None:
        """Take an exclusive lock on the open file ``fd`` at once, or raise ``BlockingIOError``."""
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def lock(fd: int) -> None:
        """Take an exclusive lock on the open file ``fd``, waiting for it."""
        fcntl.flock(fd, fcntl.LOCK_EX)

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], *, blocking: bool = True) -> Iterator[int]:
    """Hold an exclusive lock on the lock file ``path`` (created 0600). ``blocking=False`` raises
    ``BlockingIOError`` at once when another process holds it. Yields the open descriptor."""
    fd = open_private(path)
    try:
        (lock if blocking else try_lock)(fd)
        try:
            yield fd
        finally:
            unlock(fd)
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------- open in Excel/LO


def open_by_owner(path: str | os.PathLike[str]) -> list[Path]:
    """The owner-lock files beside ``path`` that say Excel or LibreOffice has it open."""
    p = Path(path)
    names = [f"~${p.name}", f".~lock.{p.name}#"]
    if len(p.name) > 2:
        names.append(f"~${p.name[2:]}")  # Word-style short owner files for long names
    found = []
    for name in dict.fromkeys(names):
        candidate = p.with_name(name)
        if candidate.exists():
            found.append(candidate)
    return found


def refuse_if_open(path: str | os.PathLike[str]) -> None:
    """Raise ``WorkbookOpenError`` when Excel or LibreOffice holds ``path`` open: cobro must not write the file
    underneath them (their next save would erase what cobro wrote)."""
    owners = open_by_owner(path)
    if owners:
        p = Path(path)
        app = "LibreOffice" if owners[0].name.startswith(".~lock.") else "Excel"
        raise WorkbookOpenError(
            f"{p.name} is open in {app} ({owners[0].name} is beside it); nothing was sent or changed. Close the "
            f"workbook and run the command again, or use the Cobro add-in inside Excel, which writes through Excel. "
            f"If the workbook is not open anywhere, delete {owners[0].name}.", source=str(p))
