"""Local files a person attaches: checked before anything is sent (size, readable, not a directory,
not empty), described (size, type, sha256), and, for APIs without uploads, inlined as fenced text
blocks. Blocking file I/O: callers on the event loop run these in a thread."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from devic_tui.models import Attachment
from devic_tui.providers.errors import FileRejectedError

INLINE_MAX_BYTES = 512 * 1024
_TEXT_SNIFF_BYTES = 8192


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def guess_mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def looks_like_text(data: bytes) -> bool:
    sample = data[:_TEXT_SNIFF_BYTES]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sample's end is still text.
        return error.start >= len(sample) - 3
    return True


def check_file(path: Path, *, max_bytes: int | None) -> Attachment:
    """Describe a file that can be attached, or raise FileRejectedError saying why not."""
    name = path.name or str(path)
    if not path.exists():
        raise FileRejectedError(f"{name}: no such file")
    if path.is_dir():
        raise FileRejectedError(f"{name} is a folder; attach the files inside it instead")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise FileRejectedError(
                f"{name} is {human_size(size)}; this server takes files up to {human_size(max_bytes)}"
            )
        if size == 0:
            raise FileRejectedError(f"{name} is empty")
        data = path.read_bytes()
    except PermissionError:
        raise FileRejectedError(f"{name} cannot be read (permission denied)") from None
    except OSError as error:
        raise FileRejectedError(f"{name} cannot be read ({error.strerror})") from None
    return Attachment(
        name=name,
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        mime_type=guess_mime(path),
        path=str(path),
    )


def read_for_inline(attachment: Attachment) -> str:
    """The text of a file to inline, or FileRejectedError when it is binary or too long."""
    assert attachment.path is not None
    if attachment.size > INLINE_MAX_BYTES:
        raise FileRejectedError(
            f"{attachment.name} is {human_size(attachment.size)}; this server has no file upload, "
            f"and inlined text files are limited to {human_size(INLINE_MAX_BYTES)}"
        )
    data = Path(attachment.path).read_bytes()
    if not looks_like_text(data):
        raise FileRejectedError(
            f"{attachment.name} is not a text file; this server has no file upload, "
            "so only text files can be sent (inlined into the message)"
        )
    return data.decode("utf-8", "replace")


def _fence_for(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return fence


def inline_files(message: str, files: list[tuple[Attachment, str]]) -> str:
    """The message followed by each file as a fenced block named by the file."""
    parts = [message] if message else []
    for attachment, text in files:
        fence = _fence_for(text)
        body = text if text.endswith("\n") else text + "\n"
        parts.append(f"{attachment.name}:\n{fence}\n{body}{fence}")
    return "\n\n".join(parts)
