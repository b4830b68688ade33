"""Shared helpers for the bench/ scripts: statistics, the RESULT lines `run_all.py` collects, the
paced SSE server process, and building/driving the real app headless (`App.run_test`)."""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from devic_tui.cli import use_screen_update_rate

use_screen_update_rate()  # as the command line does, before Textual is imported

from pydantic import SecretStr
from textual import constants
from textual.pilot import Pilot

from devic_tui import locations
from devic_tui.app import DevicTuiApp
from devic_tui.config import AssistantConfig, ServerConfig, Settings
from devic_tui.screens.main import MainScreen
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.widgets.chat_view import ChatView

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
"""Generated data and run output (git-ignored)."""
SIZE = (120, 40)
"""Terminal size every bench runs the app at."""


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> str:
    """'p50 / p95 / max' of values in seconds, shown in ms."""
    if not values:
        return "n/a"
    return (
        f"p50 {percentile(values, 50) * 1000:.1f} / p95 {percentile(values, 95) * 1000:.1f}"
        f" / max {max(values) * 1000:.1f} ms"
    )


def median_worst(values: Sequence[float], *, higher_is_worse: bool = True) -> tuple[float, float]:
    worst = max(values) if higher_is_worse else min(values)
    return statistics.median(values), worst


def result(bench: str, figure: str, value: str, target: str, ok: bool | None) -> None:
    """One line of the summary table; `run_all.py` collects every line that starts with RESULT."""
    verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
    print(f"RESULT\t{bench}\t{figure}\t{value}\t{target}\t{verdict}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def git_commit() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or "unknown"


def bench_settings(base_url: str, assistants: Sequence[str], **fields: object) -> Settings:
    """One agent server (assistants from the config, so listing needs no network)."""
    server = ServerConfig(
        name="bench",
        kind="agent",
        base_url=base_url,
        token=SecretStr("bench-token"),
        read_timeout=30.0,
        assistants=[AssistantConfig(id=name, name=name) for name in assistants],
    )
    return Settings(servers=[server], **fields)  # type: ignore[arg-type]


def make_app(settings: Settings, data_dir: Path, *, state_dir: Path | None = None) -> DevicTuiApp:
    """The app with its history in `data_dir`. What it remembers between runs (the open chat and
    the drafts: `ui_state`, in the data dir) goes to `state_dir` (default: `data_dir`), never to the
    person's own data dir, and no run reopens the chat or drafts another run left."""
    if str(constants.MAX_FPS) != os.environ["TEXTUAL_FPS"]:
        raise RuntimeError("Textual was imported before bench/_common.py set its update rate")
    os.environ[locations.DATA_DIR_ENV] = str(state_dir or data_dir)
    store = TranscriptStore(data_dir / "transcripts", settings.transcript_format)
    return DevicTuiApp(settings, service=ChatService(settings, store=store))


async def settle(pilot: Pilot[None], *, limit: float = 30.0) -> MainScreen:
    """Wait until the servers are listed, a chat is on screen (the bench server's assistant) and no
    answer is being written in any chat; return the main screen."""
    app = pilot.app
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        await pilot.pause(0.02)
        screen = app.screen
        if (
            isinstance(screen, MainScreen)
            and screen.servers_loaded
            and screen.current is not None
            and not any(view.busy for view in screen.open_views())
            and screen.sidebar.chat_tree.root.children
        ):
            await pilot.pause(0.05)
            return screen
    raise RuntimeError("the app did not settle")


def on_screen(screen: MainScreen) -> ChatView:
    """The chat on screen."""
    assert screen.current is not None, "no chat is on screen"
    return screen.current


async def send(pilot: Pilot[None], screen: MainScreen, text: str) -> None:
    """Type a message into the chat on screen and press Enter."""
    composer = on_screen(screen).composer
    composer.focus()
    composer.load_text(text)
    await pilot.press("enter")


async def wait_until(predicate: object, *, limit: float, step: float = 0.01) -> None:
    assert callable(predicate)
    deadline = time.perf_counter() + limit
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out waiting")
        await asyncio.sleep(step)
