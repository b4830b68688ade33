"""What the service does with an assistant's knowledge beyond passing calls on: checking a local file
before anything is read or sent, reading it off the event loop, reading a JSON data file, and
waiting while sources index. Blocking file work runs in a thread."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devic_tui.attachments import guess_mime
from devic_tui.knowledge_models import DataSource, KnowledgeFile
from devic_tui.providers.base import UnsupportedError
from devic_tui.providers.errors import FileRejectedError

if TYPE_CHECKING:
    from devic_tui.providers.base import Provider
    from devic_tui.providers.http import ProgressCallback

IndexingUpdate = Callable[[list[DataSource]], None]
"""Told the sources waited for, each time they are read."""

POLL_SECONDS = 1.0
WAIT_SECONDS = 600.0


def _describe(path: Path) -> tuple[str, int, str]:
    name = path.name or str(path)
    if not path.exists():
        raise FileRejectedError(f"{name}: no such file")
    if path.is_dir():
        raise FileRejectedError(f"{name} is a folder; add the files inside it instead")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise FileRejectedError(f"{name} cannot be read ({error.strerror})") from None
    return name, size, guess_mime(path)


async def check_file(provider: Provider, path: Path) -> KnowledgeFile:
    """The file described, or FileRejectedError when the server would not take it as knowledge."""
    if not provider.capabilities.knowledge:
        raise UnsupportedError(
            f"server '{provider.name}' ({provider.kind}) cannot take knowledge files", server=provider.name
        )
    name, size, mime_type = await asyncio.to_thread(_describe, path)
    mime_type = provider.check_knowledge_file(name, size, mime_type)
    return KnowledgeFile(path=path, name=name, size=size, mime_type=mime_type)


async def add_file(
    provider: Provider, ai_id: str, path: Path, on_progress: ProgressCallback | None = None
) -> str:
    """Check, read and upload a file as knowledge; returns the new data source's id."""
    checked = await check_file(provider, path)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise FileRejectedError(f"{checked.name} cannot be read ({error.strerror})") from None
    return await provider.add_file_source(ai_id, checked.name, content, checked.mime_type, on_progress)


def _read_json_object(path: Path) -> dict[str, Any]:
    name = path.name or str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileRejectedError(f"{name}: no such file") from None
    except OSError as error:
        raise FileRejectedError(f"{name} cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise FileRejectedError(f"{name} is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise FileRejectedError(f"{name} holds JSON, but not an object ({{...}}) as knowledge needs")
    return data


async def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file's object, to add as knowledge; FileRejectedError when it is not one."""
    return await asyncio.to_thread(_read_json_object, path)


async def wait_for_indexing(
    provider: Provider,
    ai_id: str,
    source_ids: list[str],
    on_update: IndexingUpdate | None = None,
    *,
    interval: float = POLL_SECONDS,
    give_up_after: float = WAIT_SECONDS,
) -> list[DataSource]:
    """Read the AI's sources every `interval` seconds until none of `source_ids` is still indexing
    (or they are gone, or `give_up_after` seconds pass); returns them as last read."""
    wanted = set(source_ids)
    deadline = time.monotonic() + give_up_after
    while True:
        found = [s for s in await provider.data_sources(ai_id) if s.id in wanted]
        if on_update is not None:
            on_update(found)
        if not any(s.indexing for s in found) or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(interval)
