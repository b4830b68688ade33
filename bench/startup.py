"""startup: launch -> first full frame, in a fresh process per run (`python bench/startup.py --child
KIND`), for the real app with 0 and with 10,000 conversations in its history, and for a bare Textual
app with the same widgets (Header, Tree, VerticalScroll, TextArea, Footer), measured in the same run.

Time = from just before the parent starts the child process (CLOCK_MONOTONIC is shared between
processes) to the END of the first frame (`Screen._compositor_refresh`) in which the screen is fully
built: for the app, MainScreen with its sidebar listing the server (and its history loaded); for the
bare app, its screen after mount. Both run headless (`App.run_test`, 120x40); the process then exits
(exit time not counted). The 10,000 conversations (2 messages each) are written once through
TranscriptStore.save into bench/results/history-10000 (git-ignored) and reused.
Target: app <= 1.3 x the bare app, with 0 and with 10,000 conversations.

Run: .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = "startup"
HISTORY = 10_000


def generate_history(directory: Path, count: int) -> Path:
    """`count` conversations on server "bench", saved through the store; cached between runs."""
    from devic_tui.records import Conversation, StoredMessage
    from devic_tui.store.transcripts import TranscriptStore

    done = directory / "complete"
    if done.exists():
        return directory
    store = TranscriptStore(directory / "transcripts", "json")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(count):
        stamp = base + timedelta(minutes=index)
        messages = [
            StoredMessage(
                id=f"m{index}-u",
                role="user",
                content=f"Question {index} about topic {index % 97}",
                created_at=stamp,
            ),
            StoredMessage(
                id=f"m{index}-a",
                role="assistant",
                content=f"Answer {index}: **bold**, a list\n\n- one\n- two\n\n```python\nx = {index}\n```",
                created_at=stamp,
            ),
        ]
        store.save(
            Conversation(
                id=f"c{index:05d}",
                title=f"Conversation {index} on topic {index % 97}",
                server="bench",
                assistant_id="long",
                assistant_name="long",
                created_at=stamp,
                updated_at=stamp,
                messages=messages,
            )
        )
    store.close()
    done.write_text("ok\n")
    return directory


async def child(kind: str, data: str, launched: float) -> None:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.screen import Screen
    from textual.widgets import Footer, Header, Static, TextArea, Tree

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            tree: Tree[None] = Tree("servers")
            tree.root.add_leaf("bench")
            yield tree
            with VerticalScroll():
                yield Static("New chat")
            yield TextArea()
            yield Footer()

    first_frame: list[float] = []
    original = Screen._compositor_refresh
    app: App[None]

    if kind == "bare":
        app = Bare()

        def ready(screen: Screen[Any]) -> bool:
            return screen is app.screen and bool(screen.query(TextArea))

    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))  # noqa: ASYNC240
        from _common import bench_settings, make_app

        from devic_tui.screens.main import MainScreen

        # What the app remembers between runs (the open chat, drafts) in a folder of this launch's
        # own: every launch starts as the first, whatever the one before left.
        state = tempfile.TemporaryDirectory()
        app = make_app(
            bench_settings("http://127.0.0.1:9/v1/api", ["long"]), Path(data), state_dir=Path(state.name)
        )

        def ready(screen: Screen[Any]) -> bool:
            return isinstance(screen, MainScreen) and bool(screen.sidebar.chat_tree.root.children)

    def refresh(screen: Screen[Any]) -> None:
        original(screen)
        if not first_frame and ready(screen):
            first_frame.append(time.monotonic())

    Screen._compositor_refresh = refresh  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 30
        while not first_frame and time.monotonic() < deadline:
            await pilot.pause(0.002)
    print(f"{first_frame[0] - launched:.6f}")


def launch(kind: str, data: Path) -> float:
    launched = time.monotonic()
    found = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", str(data), "--launched", repr(launched)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(found.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child")
    parser.add_argument("--data", default="")
    parser.add_argument("--launched", type=float, default=0.0)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.data, args.launched))
        return
    from _common import RESULTS, result

    started = time.perf_counter()
    history = generate_history(RESULTS / f"history-{HISTORY}", HISTORY)
    print(f"{BENCH}: {HISTORY:,} conversations ready in {time.perf_counter() - started:.1f} s ({history})")
    with tempfile.TemporaryDirectory() as empty:
        kinds = {"bare": Path(empty), "app-0": Path(empty), f"app-{HISTORY}": history}
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        launch("bare", Path(empty))  # warm the page cache and .pyc files
        launch("app", Path(empty))
        warm = launch("app", history)  # the first launch on a new history dir also syncs the store's index
        print(f"  first launch on the history (not counted): {warm * 1000:.0f} ms")
        for _ in range(args.runs):
            for kind, data in kinds.items():
                times[kind].append(launch("bare" if kind == "bare" else "app", data))
    for kind, values in times.items():
        print(
            f"  {kind}: median {statistics.median(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms"
        )
    bare = statistics.median(times["bare"])
    for kind in ("app-0", f"app-{HISTORY}"):
        median, worst = statistics.median(times[kind]), max(times[kind])
        result(
            BENCH,
            f"{kind.replace('app-', '')} conversations: launch -> first full frame",
            f"{median * 1000:.0f} / {worst * 1000:.0f} ms = {median / bare:.2f}x bare ({bare * 1000:.0f} ms)",
            "<= 1.3x bare",
            median / bare <= 1.3,
        )


if __name__ == "__main__":
    main()
