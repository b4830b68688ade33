"""Writing files that only their owner can read (mode 0600), atomically: the app's own state and the
exports a person asks for hold conversations, which are nobody else's business. Folders the app
makes are its owner's alone too (0700), whatever the umask; and a write is made durable by syncing
its folder, except on Windows, which cannot open a folder as a file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def on_windows() -> bool:
    """A function rather than a constant, so that tests can play Windows on any system."""
    return os.name == "nt"


def make_private_dir(path: Path) -> None:
    """Create the folder `path` and any missing parents, each one its owner's alone (0700); folders
    that already exist are left as they are. Raises OSError."""
    missing: list[Path] = []
    folder = path
    while not folder.is_dir() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # made meanwhile by another thread or process
        os.chmod(folder, 0o700)  # mkdir's mode goes through the umask; this one does not


def make_private_file(path: Path) -> None:
    """Create `path` empty if it is missing; either way leave it its owner's alone (0600), so that
    whoever opens it next (SQLite, a log handler) writes into a private file. Raises OSError."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def sync_directory(directory: Path) -> None:
    """fsync the folder, so that a rename or a new file in it survives a crash. Skipped on Windows,
    where os.open cannot open a folder, and wherever opening the folder is refused: the write
    itself is done by then, only this extra safety is missed."""
    if on_windows():
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step (a temporary file beside it, then a rename); the file
    is created readable and writable by its owner alone. Raises OSError."""
    make_private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)  # the mode given to open() is not applied to an existing file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
