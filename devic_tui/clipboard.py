"""Copying text to the system clipboard (xclip, xsel or wl-clipboard on Linux, pbcopy on macOS,
the Windows clipboard) through pyperclip. The UI also sends the text to the terminal as OSC 52,
which reaches nothing in a default tmux and in some terminals; so both ways are taken, and the
person is told which ones the text went.

pyperclip runs a subprocess (or waits on the clipboard's owner), so the copy is done off the event
loop, and given up after a few seconds."""

from __future__ import annotations

import asyncio
import logging

import pyperclip

log = logging.getLogger(__name__)

SYSTEM_COPY_TIMEOUT = 5.0
"""Seconds the clipboard tool is given before the copy is counted as not reaching it."""

_TOOL_NAMES = {
    "copy_xclip": "xclip",
    "copy_xsel": "xsel",
    "copy_wl": "wl-copy",
    "copy_klipper": "Klipper",
    "copy_osx_pbcopy": "pbcopy",
    "copy_osx_pyobjc": "macOS pasteboard",
    "copy_windows": "Windows clipboard",
    "copy_wsl": "clip.exe",
    "copy_dev_clipboard": "/dev/clipboard",
    "copy_gtk": "GTK",
    "copy_qt": "Qt",
}
"""pyperclip's copy functions by name, and what to call the tool each one uses."""


def _tool_name() -> str:
    # pyperclip replaces its `copy` with the mechanism it found, on the first call.
    name = getattr(pyperclip.copy, "__name__", "")
    return _TOOL_NAMES.get(name) or name.removeprefix("copy_") or "system clipboard"


def copy_to_system_blocking(text: str) -> str | None:
    """Put `text` on the system clipboard; the name of the tool that took it, or None when there
    is no system clipboard to reach (none installed, no display, the tool failed)."""
    try:
        pyperclip.copy(text)
    except (pyperclip.PyperclipException, OSError) as error:
        log.info("no system clipboard: %s", error)
        return None
    return _tool_name()


async def copy_to_system_clipboard(text: str) -> str | None:
    """`copy_to_system_blocking` in a worker thread; None too when the tool does not finish in time."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(copy_to_system_blocking, text), SYSTEM_COPY_TIMEOUT)
    except TimeoutError:
        log.info("the system clipboard did not answer within %s s", SYSTEM_COPY_TIMEOUT)
        return None


def copied_message(characters: int, system_tool: str | None) -> str:
    """What to tell once text went to the terminal (OSC 52) and, when `system_tool` names the tool
    that took it, to the system clipboard."""
    copied = f"Copied {characters:,} characters"
    if system_tool:
        return f"{copied} to the system clipboard ({system_tool}) and via the terminal (OSC 52)."
    return (
        f"{copied} via the terminal only (OSC 52); no system clipboard found — "
        "install xclip, xsel or wl-clipboard."
    )
