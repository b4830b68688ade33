"""The app's log file (`devic-tui locate log`): what was asked of which server and how it ended,
for finding out later why something failed. Never a token (every record passes the redacting
filter) and never the text of messages (the transcripts hold those)."""

from __future__ import annotations

import logging
import os
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

from devic_tui import locations
from devic_tui.files import make_private_dir, make_private_file
from devic_tui.redact import RedactingFilter

MAX_BYTES = 1_000_000
BACKUPS = 2
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose every file is its owner's alone (0600): the handler opens a new file
    after each rollover, which plain `open` would create readable by all."""

    def _open(self) -> TextIOWrapper:
        make_private_file(Path(self.baseFilename))
        return super()._open()


def setup_logging(*, debug: bool = False) -> None:
    """Send the app's records to the log file; a log that cannot be written is skipped quietly
    (the app works without it)."""
    path = locations.log_file()
    try:
        make_private_dir(path.parent)
        handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        return
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger("devic_tui")
    root.handlers = [h for h in root.handlers if not isinstance(h, RotatingFileHandler)]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug or os.environ.get("DEVIC_TUI_DEBUG") else logging.INFO)
