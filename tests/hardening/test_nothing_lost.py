"""Nothing a person wrote is lost: a real `devic-tui ask` process killed (SIGKILL) while the answer
streams leaves the sent message whole and the answer up to its last save; two instances on one
history both record and say so; a disk that refuses writes leaves the chat in memory, says so once,
and the chat can still be exported elsewhere.

SIGKILL in the middle of the store's own writes is tests/unit/test_store_kill.py (not repeated here)."""

from __future__ import annotations

import concurrent.futures
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from devic_tui.app import DevicTuiApp
from devic_tui.config import Settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.scripts import echo_answer, long_answer
from devic_tui.models import AssistantInfo
from devic_tui.providers.events import Notice, TextDelta
from devic_tui.records import StoredMessage
from devic_tui.service import ChatService
from devic_tui.store.export import to_markdown
from devic_tui.store.transcripts import TranscriptStore
from tests.cli.conftest import agent_server
from tests.ui.conftest import settle
from tests.unit.store_helpers import conversation, message

MESSAGE = "Please keep this whole: " + " ".join(f"word{i}" for i in range(70))
"""Long enough that the slow echo (12 characters every 0.2 s) streams for about 8 s."""


@pytest.fixture
def slow_emulator() -> Any:
    with EmulatorServer(EmulatorOptions(slow_delay=0.2)) as server:
        yield server


def run_and_kill(config: Path, data_dir: Path, stream_for: float) -> tuple[str, float]:
    """Start `devic-tui ask -a slow`, SIGKILL it `stream_for` s after its first answer byte; returns
    what it printed and how long the answer had really streamed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DEVIC_TUI_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "devic_tui", "--config", str(config), "ask", "-a", "slow", MESSAGE],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    try:
        first = os.read(process.stdout.fileno(), 1)  # blocks until the answer starts
        assert first, "the process ended before answering"
        started = time.monotonic()
        time.sleep(stream_for)
        assert process.poll() is None, "the answer finished before the kill"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        streamed = time.monotonic() - started
        printed = first + process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return printed.decode("utf-8", "replace"), streamed


def test_sigkill_while_streaming_keeps_the_message_and_the_answer_so_far(
    slow_emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps({"servers": [agent_server(slow_emulator.base_url)]}))
    config.chmod(0o600)
    delays = [0.0, 1.1, 1.8]
    with concurrent.futures.ThreadPoolExecutor(len(delays)) as pool:
        results = list(pool.map(lambda d: run_and_kill(config, tmp_path / f"data{d}", d), delays))
    full = echo_answer(MESSAGE)
    for delay, (printed, streamed) in zip(delays, results, strict=True):
        assert full.startswith(printed), printed  # the kill came mid-answer
        store = TranscriptStore(tmp_path / f"data{delay}" / "transcripts")
        [summary] = store.summaries()
        saved = store.load(summary.id)
        assert store.notices == []
        user = saved.messages[0]
        assert (user.role, user.content, user.status) == ("user", MESSAGE, "complete")
        answers = saved.messages[1:]
        assert len(answers) <= 1
        if answers:
            answer = answers[0]
            assert answer.role == "assistant"
            assert answer.status == "streaming"
            assert full.startswith(answer.content)
            assert printed.startswith(answer.content) or len(answer.content) <= len(printed) + 12
        if streamed >= 1.5:
            # saved at least every second while it streams: text up to a save within the last ~1 s
            assert answers, (delay, streamed)
            assert answers[0].content, (delay, streamed)
            assert len(answers[0].content) >= len(printed) - 12 * (1.0 / 0.2 + 2), (
                answers[0].content,
                printed,
            )
        store.close()


def test_two_instances_both_record_and_nothing_is_corrupted(tmp_path: Path) -> None:
    directory = tmp_path / "transcripts"
    first = TranscriptStore(directory)
    shared = conversation("shared", 0)
    shared.messages.append(message(0))
    first.save_message(shared, shared.messages[-1], final=True)
    second = TranscriptStore(directory)
    assert first.read_only_reason is None
    assert second.read_only_reason
    assert str(directory) in second.read_only_reason
    own = {"a": conversation("only1", 0), "b": conversation("only2", 0)}
    for i in range(1, 41):
        store, mine = (first, own["a"]) if i % 2 else (second, own["b"])
        for conv in (shared, mine):
            conv.messages.append(message(i, f"message {i} " + "x" * (i * 50)))
            store.save_message(conv, conv.messages[-1], final=i % 3 == 0)
        if i % 10 == 0:
            first.compact("shared")
            second.save(mine) if store is second else first.save(mine)
    second.close()
    first.close()
    fresh = TranscriptStore(directory)
    assert fresh.read_only_reason is None
    assert fresh.load("shared") == shared
    assert fresh.load("only1") == own["a"]
    assert fresh.load("only2") == own["b"]
    assert {s.id: s.message_count for s in fresh.summaries()} == {"shared": 41, "only1": 20, "only2": 20}
    assert fresh.notices == []
    assert not (directory / "quarantine").exists()
    fresh.close()


async def test_a_long_answer_in_small_chunks_is_saved_whole(
    emulator: EmulatorServer, server_config: Callable[..., Any], tmp_path: Path
) -> None:
    emulator.reset(EmulatorOptions(long_chars=400_000, chunk_size=4))  # some 15 MB on the wire
    directory = tmp_path / "data" / "transcripts"
    service = ChatService(Settings(servers=[server_config("openai")]), store=TranscriptStore(directory))
    conv = service.new_conversation("emu-openai", AssistantInfo(id="long", name="Long"))
    turn = await service.start_turn(conv, "all of it, please", [])
    events = [event async for event in turn.events()]
    assert sum(1 for e in events if isinstance(e, TextDelta)) > 100_000
    expected = long_answer(target_chars=400_000)
    assert (turn.answer.status, turn.answer.error) == ("complete", None)
    assert turn.answer.content == expected
    await service.aclose()
    store = TranscriptStore(directory)
    saved = store.load(conv.id)
    assert [(m.role, m.content, m.status) for m in saved.messages] == [
        ("user", "all of it, please", "complete"),
        ("assistant", expected, "complete"),
    ]
    store.close()


async def test_the_second_app_says_it_shares_the_history(
    make_app: Callable[..., DevicTuiApp], tmp_path: Path
) -> None:
    holder = TranscriptStore(tmp_path / "data" / "transcripts")
    holder.save(conversation("held", 1))
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        said = [n.message for n in app._notifications if n.title == "History"]
        assert len(said) == 1
        assert "Another devic-tui" in said[0]
    holder.close()


@pytest.mark.parametrize(
    ("code", "reason"), [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")]
)
async def test_a_refusing_disk_keeps_the_chat_in_memory_says_so_once_and_exports(
    code: int,
    reason: str,
    emulator: EmulatorServer,
    server_config: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("devic_tui.turn.SAVE_INTERVAL", 0.0)  # try to save after every chunk
    store = TranscriptStore(tmp_path / "data" / "transcripts")
    service = ChatService(Settings(servers=[server_config("agent")]), store=store)
    conv = service.new_conversation("emu-agent", AssistantInfo(id="echo", name="Echo"))
    calls: list[StoredMessage] = []

    def full(*args: Any, **kwargs: Any) -> None:
        calls.append(args[1])
        raise OSError(code, reason)

    monkeypatch.setattr(store, "save_message", full)
    text = "keep me " * 20
    turn = await service.start_turn(conv, text, [])
    events = [event async for event in turn.events()]
    assert len(calls) > 3  # the user's message, several partial saves, the final one
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1
    said = notices[0].text
    assert "Could not save" in said
    assert reason in said
    assert str(store.directory) in said
    assert "kept in memory" in said
    assert "export" in said
    assert sum(1 for e in events if isinstance(e, TextDelta)) > 1  # the stream went on
    assert turn.answer.status == "complete"
    assert turn.answer.content == echo_answer(text)
    assert [m.content for m in conv.messages] == [text, echo_answer(text)]
    elsewhere = tmp_path / "usb" / "chat.md"
    elsewhere.parent.mkdir()
    elsewhere.write_text(to_markdown(conv), encoding="utf-8")
    assert echo_answer(text).splitlines()[0] in elsewhere.read_text()
    await service.aclose()
