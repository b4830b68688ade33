"""startup: launch -> the first frame with the composer taking keys, in a fresh process per run
(`python bench/startup.py --child KIND`), for the app started as the command line starts it
(`DevicTuiApp.starting`, with a config file) with an empty history, with 10,000 and with 100,000
conversations, and with `--demo`; and for a bare Textual app with the same widgets (Header, Tree,
VerticalScroll, TextArea, Footer), measured in the same run.

Time = from just before the parent starts the child process (CLOCK_MONOTONIC is shared between
processes) to the END of the first frame (`Screen._compositor_refresh`) in which a Composer on the
screen shown has the focus (keys typed from then on go into it); for the bare app, the first frame
of its screen after mount. Also printed, not a target: the end of the first frame with the sidebar
listing the server (config read, history listed, main screen built). Both run headless
(`App.run_test`, 120x40); the process then exits (not counted). The histories come from
`_history.history_of` (written once into bench/results/, git-ignored, and reused); each launch
deletes the `ui-state.json` the previous one left, so none reopens another's chat.
Target: app <= 1.3 x the bare app in every case.

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
from pathlib import Path
from typing import Any

BENCH = "startup"
HISTORIES = (10_000, 100_000)


async def child(kind: str, data: str, launched: float) -> None:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.css.query import NoMatches
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
    full_frame: list[float] = []
    original = Screen._compositor_refresh
    app: App[None]

    if kind == "bare":
        app = Bare()

        def ready(screen: Screen[Any]) -> bool:
            return screen is app.screen and bool(screen.query(TextArea))

        def full(screen: Screen[Any]) -> bool:
            return ready(screen)

    else:
        import os

        from devic_tui import locations
        from devic_tui.app import DevicTuiApp
        from devic_tui.widgets.composer import Composer

        os.environ[locations.DATA_DIR_ENV] = data
        (Path(data) / "ui-state.json").unlink(missing_ok=True)
        config = Path(data) / "bench-config.toml"
        app = DevicTuiApp.starting(config, demo=kind == "demo")

        def ready(screen: Screen[Any]) -> bool:
            focused = app.focused
            return screen is app.screen and isinstance(focused, Composer) and focused.screen is screen

        def full(screen: Screen[Any]) -> bool:
            if not ready(screen) or type(screen).__name__ != "MainScreen":
                return False
            try:
                return bool(screen.sidebar.chat_tree.root.children)  # type: ignore[attr-defined]
            except NoMatches:  # not composed yet
                return False

    def refresh(screen: Screen[Any]) -> None:
        original(screen)
        now = time.monotonic()
        if not first_frame and ready(screen):
            first_frame.append(now)
        if not full_frame and full(screen):
            full_frame.append(now)

    Screen._compositor_refresh = refresh  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 60
        while not full_frame and time.monotonic() < deadline:
            await pilot.pause(0.002)
    print(f"{first_frame[0] - launched:.6f} {full_frame[0] - launched:.6f}")


CONFIG = """[[servers]]
name = "bench"
kind = "agent"
base_url = "http://127.0.0.1:9/v1/api"
token = "bench-token"
read_timeout = 30.0
assistants = [{ id = "long", name = "long" }, { id = "coder", name = "coder" }]
"""


def prepare_data_dir(data: Path) -> Path:
    """The data dir's config file (one agent server, its assistants in the config, so no network)."""
    config = data / "bench-config.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    return data


def launch(kind: str, data: Path) -> tuple[float, float]:
    """(launch -> composer taking keys, launch -> sidebar listed) in seconds."""
    launched = time.monotonic()
    found = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", str(data), "--launched", repr(launched)],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode:
        raise SystemExit(f"{kind} launch failed:\n{found.stderr[-3000:]}")
    first, full = found.stdout.strip().splitlines()[-1].split()
    return float(first), float(full)


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
    from _common import result
    from _history import history_of

    histories = {count: prepare_data_dir(history_of(count)) for count in HISTORIES}
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as demo:
        cases: dict[str, tuple[str, Path]] = {
            "bare": ("bare", Path(empty)),
            "empty history": ("app", prepare_data_dir(Path(empty))),
            **{f"{count:,} conversations": ("app", home) for count, home in histories.items()},
            "--demo": ("demo", Path(demo)),
        }
        times: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
        for kind, data in cases.values():  # warm the page cache, the .pyc files and each index
            launch(kind, data)
        for _ in range(args.runs):
            for case, (kind, data) in cases.items():
                times[case].append(launch(kind, data))
    for case, values in times.items():
        firsts, fulls = [v[0] * 1000 for v in values], [v[1] * 1000 for v in values]
        print(
            f"  {case}: composer taking keys median {statistics.median(firsts):.0f} ms, "
            f"worst {max(firsts):.0f} ms; sidebar listed median {statistics.median(fulls):.0f} ms"
        )
    bare = statistics.median(v[0] for v in times["bare"])
    for case in list(cases)[1:]:
        firsts = [v[0] for v in times[case]]
        median, worst = statistics.median(firsts), max(firsts)
        listed = statistics.median(v[1] for v in times[case])
        result(
            BENCH,
            f"{case}: launch -> composer taking keys",
            f"{median * 1000:.0f} / {worst * 1000:.0f} ms = {median / bare:.2f}x bare ({bare * 1000:.0f} ms);"
            f" sidebar listed {listed * 1000:.0f} ms",
            "<= 1.3x bare",
            median / bare <= 1.3,
        )


if __name__ == "__main__":
    main()
