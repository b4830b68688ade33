"""open-long: open a 2,000-message conversation (saved once through TranscriptStore.save into
bench/results/long-2000, git-ignored) in the real app headless; then the same with the 2,000
messages in 50 branches (bench/results/tree-2000: the branch on screen holds about 1,000 of them).

- first paint: from `MainScreen.open_conversation(id)` to the end of the first main-screen frame
  (`Screen._compositor_refresh`) that starts after TranscriptPane mounted the conversation's window;
- jump to top: from `TranscriptPane.action_jump_top()` to the end of the first frame after it returned;
- peak RSS of this process (`resource.getrusage`), after all runs.
Targets (issue 13): first paint <= 100 ms (jump to top reported against the same); <= 250 MB.

Run: .venv/bin/python bench/open_long.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import RESULTS, SIZE, bench_settings, make_app, on_screen, peak_rss_mb, result, settle
from textual.screen import Screen

from devic_tui.records import Conversation, StoredMessage
from devic_tui.screens.main import MainScreen
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.widgets.transcript import TranscriptPane

BENCH = "open-long"
COUNT = 2000
CONVERSATION = "long-2000"
TREE = "tree-2000"
BRANCHES = 50


def answer(index: int) -> str:
    return (
        f"## Answer {index}\n\nHere is **part {index}** with `code` and a list:\n\n"
        f"- first point about {index % 13}\n- second point\n\n"
        f"```python\ndef f_{index}(x: int) -> int:\n    return x * {index % 7} + 1\n```\n\n"
        "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    )


def linear(base: datetime) -> list[StoredMessage]:
    return [
        StoredMessage(
            id=f"m{index:04d}",
            role="user" if index % 2 == 0 else "assistant",
            content=f"Question {index}: how does part {index} work?" if index % 2 == 0 else answer(index),
            created_at=base + timedelta(seconds=index),
        )
        for index in range(COUNT)
    ]


def branched(base: datetime) -> tuple[list[StoredMessage], str]:
    """COUNT messages in BRANCHES branches: a trunk of half of them, and 49 branches of about 20
    messages each, forking from the trunk at even intervals (an edit of a question), written after
    the trunk; the trunk's end is the branch on screen. Returns the messages and that end's id."""
    trunk_length = COUNT // 2
    messages = linear(base)[:trunk_length]
    for message in messages:
        message.parent_id = None
    side = (COUNT - trunk_length) // (BRANCHES - 1)
    written = trunk_length
    for branch in range(1, BRANCHES):
        fork_at = (branch * trunk_length // BRANCHES) // 2 * 2 - 1  # an answer: the edit follows it
        parent = messages[fork_at].id
        length = side if branch < BRANCHES - 1 else COUNT - written
        for step in range(length):
            index = written + step
            message_id = f"b{branch:02d}-{step:03d}"
            messages.append(
                StoredMessage(
                    id=message_id,
                    role="user" if step % 2 == 0 else "assistant",
                    content=f"Edited question {index}, branch {branch}" if step % 2 == 0 else answer(index),
                    created_at=base + timedelta(seconds=index),
                    parent_id=parent,
                )
            )
            parent = message_id
        written += length
    return messages, f"m{trunk_length - 1:04d}"


def generate(directory: Path, conversation_id: str) -> Path:
    done = directory / "complete"
    if done.exists():
        return directory
    store = TranscriptStore(directory / "transcripts", "json")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    shown: str | None = None
    if conversation_id == TREE:
        messages, shown = branched(base)
    else:
        messages = linear(base)
    assert len(messages) == COUNT
    store.save(
        Conversation(
            id=conversation_id,
            shown_id=shown,
            title="A long conversation",
            server="bench",
            assistant_id="long",
            assistant_name="long",
            created_at=base,
            updated_at=base + timedelta(seconds=COUNT),
            messages=messages,
        )
    )
    store.close()
    done.write_text("ok\n")
    return directory


async def one_run(data: Path, conversation_id: str) -> tuple[float, float, int]:
    frames: list[tuple[float, float]] = []
    mounted: list[float] = []
    original_refresh = Screen._compositor_refresh
    original_mount = TranscriptPane._mount_window

    def refresh(screen: Screen[Any]) -> None:
        start = time.perf_counter()
        original_refresh(screen)
        if isinstance(screen, MainScreen):
            frames.append((start, time.perf_counter()))

    async def mount_window(pane: TranscriptPane, start: int, end: int) -> None:
        await original_mount(pane, start, end)
        mounted.append(time.perf_counter())

    def frame_after(moment: float) -> float | None:
        return next((end for begin, end in frames if begin >= moment), None)

    async def wait_frame(moment: float) -> float:
        while (found := frame_after(moment)) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        return found

    Screen._compositor_refresh = refresh  # type: ignore[method-assign]
    TranscriptPane._mount_window = mount_window  # type: ignore[method-assign]
    try:
        app = make_app(bench_settings("http://127.0.0.1:9/v1/api", ["long"]), data)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settle(pilot)
            mounted.clear()
            started = time.perf_counter()
            screen.open_conversation(conversation_id)
            while not mounted:
                if time.perf_counter() - started > 30:
                    raise RuntimeError("the conversation's window was never mounted (was it open already?)")
                await asyncio.sleep(0.001)
            first_paint = await wait_frame(mounted[0]) - started
            pane = on_screen(screen).pane
            shown = len(pane.messages)
            await pilot.pause(0.2)
            started = time.perf_counter()
            await pane.action_jump_top()
            jumped = await wait_frame(time.perf_counter()) - started
            assert pane.mounted_range[0] == 0
    finally:
        Screen._compositor_refresh = original_refresh  # type: ignore[method-assign]
        TranscriptPane._mount_window = original_mount  # type: ignore[method-assign]
    return first_paint, jumped, shown


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for conversation_id, label in ((CONVERSATION, ""), (TREE, f", {BRANCHES} branches")):
        source = generate(RESULTS / conversation_id, conversation_id)
        paints: list[float] = []
        jumps: list[float] = []
        for index in range(args.runs):
            with tempfile.TemporaryDirectory() as scratch:
                # a copy per run, so the store's own index/journal files start the same each time
                data = Path(scratch) / "data"
                shutil.copytree(source, data)
                paint, jump, shown = await one_run(data, conversation_id)
            print(
                f"  {conversation_id} run {index + 1} ({shown} messages on screen): "
                f"first paint {paint * 1000:.0f} ms, jump to top {jump * 1000:.0f} ms"
            )
            paints.append(paint)
            jumps.append(jump)
        for name, values in ((f"first paint{label}", paints), (f"jump to top{label}", jumps)):
            median, worst = statistics.median(values), max(values)
            result(
                BENCH,
                name,
                f"{median * 1000:.0f} / {worst * 1000:.0f} ms",
                "<= 100 ms (median)",
                median <= 0.1,
            )
    rss = peak_rss_mb()
    result(BENCH, "peak RSS", f"{rss:.0f} MB", "<= 250 MB", rss <= 250)


if __name__ == "__main__":
    asyncio.run(main())
