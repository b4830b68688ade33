"""several-chats: four chats answering at once, one of them on screen, through the real app headless.

Each chat streams the emulator's mixed answer (`long_answer()`, cut to ~30 KB) in 4-character chunks
at 500 chunks/s from the paced SSE server (a separate process; each request on its own schedule):
2,000 chunks/s together. Four chats are open in every run (A on screen; B, C and D off screen, kept
by a draft). Two kinds of run, each in a fresh app:

- alone: only A (on screen) answers;
- together: A and the three off-screen chats answer at once.

Figures, over the same window of each run (from 1.5 s after the last stream began, 6 s long):
- for A (on screen): lag (its chunk reaching the view, i.e. `ChatView._turn_changed` finding the
  answer longer, -> end of the first frame after the `MarkdownBody._flush` that read it)
  p50/p95/max, and frame cost (`Screen._compositor_refresh`) p50/p95/max, as stream_mixed prints them;
- CPU time of the app's process (`time.process_time`: every thread; the paced server is another
  process) per second of wall time, alone vs together; the difference over 3 is the cost of one
  off-screen stream;
- off-screen renders: `MarkdownBody._flush` calls of a chat while it is not on screen:
  expected 0 (a hidden view renders nothing and catches up when shown);
- full garbage collections in the window and how long each took (they explain lag spikes). The
  previous run's app is collected (`gc.collect()`) before each run, so that its garbage is not
  collected in this run's window.
Then (together runs only), 0.3 s after the window (so that the window's last chunks reach the
screen before a switch hides their chat: without it, a chunk that arrived in the window's last frame
was counted as late by the switch that followed), while the answers are still streaming: switch to
B, C, D and back to A
(`MainScreen.open_conversation`, as a click in the sidebar), 1 s apart. Per switch: from the call
to the end of the first frame that began after the chat's view had read (flushed) at least the text
its turn held when the switch was asked; when that catch-up flush began and what it and that frame
cost; and how many frames were painted with the chat on screen before it caught up (frames
showing its older text).

Hooks (bench/_stream.py, for the run only): `ChatView._turn_changed`, `MarkdownBody._flush`,
`MessageView.end_stream`, `Screen._compositor_refresh`.

Run: .venv/bin/python bench/several_chats.py [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    SIZE,
    bench_settings,
    make_app,
    median_worst,
    percentile,
    result,
    settle,
    spread,
)
from _paced_server import cut, paced_server
from _stream import Trace, full_collections, instrument, screen_times
from textual.pilot import Pilot

from devic_tui.emulator.scripts import chunked, long_answer
from devic_tui.screens.main import MainScreen
from devic_tui.widgets.chat_view import ChatView
from devic_tui.widgets.queue_bar import Outgoing

BENCH = "several-chats"
CHATS = 4
CHUNK = 4
RATE = 500.0
"""Chunks per second per stream: 2,000 together."""
CHARS = 30_000
"""Each answer's length: ~7,500 chunks, ~15 s."""
WARMUP = 1.5
WINDOW = 6.0
SETTLE = 0.3
SWITCH_GAP = 1.0

now = time.perf_counter


@dataclass
class Switch:
    to: str
    chars: int
    """The text the chat's turn held when the switch was asked."""
    seconds: float
    """Switch asked -> end of the first frame that began after the chat caught up."""
    stale_frames: int
    """Frames painted with the chat on screen before it caught up (showing its older text)."""
    flush_start: float
    """Switch asked -> start of the flush that caught up."""
    flush: float
    """Cost of that flush."""
    frame: float
    """Cost of the frame that then showed the text."""


@dataclass
class Run:
    cpu_per_second: float
    lags: list[float]
    frames: list[float]
    rate: float
    """Chunks per second reaching the views in the window, all chats together."""
    hidden_flushes: int
    """Flushes of a chat's stream while it was not on screen, in the window."""
    full_collections: list[float]
    """How long each full (generation 2) garbage collection in the window took."""
    switches: list[Switch] = field(default_factory=list)


async def open_chats(pilot: Pilot[None], screen: MainScreen) -> list[ChatView]:
    """Four chats with the bench assistant, the first on screen; each keeps a draft (an empty new
    chat is let go when another is shown)."""
    assistant = screen.model.assistant("bench", "long")
    assert assistant is not None
    assert screen.current is not None
    views = [screen.current]
    views[0].composer.load_text("draft")
    while len(views) < CHATS:
        before = screen.current
        screen.start_new_chat("bench", assistant)
        while screen.current is before:
            await pilot.pause(0.01)
        views.append(screen.current)
        views[-1].composer.load_text("draft")
    await show(pilot, screen, views[0])
    assert all(view in screen.open_views() for view in views)
    return views


async def show(pilot: Pilot[None], screen: MainScreen, view: ChatView) -> None:
    screen.open_conversation(view.conversation.id)
    while screen.current is not view:
        await pilot.pause(0.005)


async def switch_to(screen: MainScreen, view: ChatView, trace: Trace) -> Switch:
    assert view.turn is not None, "the answer ended before the switch: make CHARS longer"
    chars = view.turn.answer_length
    flushes = len(trace.flushes)
    shown_frames: list[float] = []

    def before_frame() -> None:
        if view.active:
            shown_frames.append(now())

    trace.pre_frame_hooks.append(before_frame)
    started = now()
    screen.open_conversation(view.conversation.id)
    deadline = started + 10
    while True:
        caught = next(
            ((start, end) for start, end, length in trace.flushes[flushes:] if length >= chars), None
        )
        if caught is not None:
            frame = next(((start, end) for start, end in trace.frames if start >= caught[1]), None)
            if frame is not None:
                break
        if now() > deadline:
            raise RuntimeError("the chat did not catch up")
        await asyncio.sleep(0.001)
    trace.pre_frame_hooks.remove(before_frame)
    return Switch(
        to=view.conversation.id,
        chars=chars,
        seconds=frame[1] - started,
        stale_frames=sum(1 for moment in shown_frames if moment < caught[0]),
        flush_start=caught[0] - started,
        flush=caught[1] - caught[0],
        frame=frame[1] - frame[0],
    )


async def one_run(port: int, data: Path, text: str, *, together: bool) -> Run:
    # The apps of earlier runs in this process are garbage now: collected here, not during this
    # run's window (a full collection of a previous app's widgets took ~0.5 s in a window).
    gc.collect()
    app = make_app(bench_settings(f"http://127.0.0.1:{port}/v1/api", ["long"]), data)
    with full_collections() as collections:
        async with app.run_test(size=SIZE) as pilot:
            screen = await settle(pilot)
            views = await open_chats(pilot, screen)
            traces = [Trace(chat=view.conversation.id) for view in views]
            streaming = views if together else views[:1]
            with instrument(*traces):
                for view in streaming:
                    view.composer.clear()
                    view.send(Outgoing("go", []))
                deadline = now() + 10
                while not all(trace.arrivals for trace in traces[: len(streaming)]):
                    if now() > deadline:
                        raise RuntimeError("the streams did not start")
                    await asyncio.sleep(0.005)
                last_start = max(trace.arrivals[0][0] for trace in traces[: len(streaming)])
                await asyncio.sleep(max(0.0, last_start + WARMUP - now()))
                cpu, window_start = time.process_time(), now()
                await asyncio.sleep(WINDOW)
                cpu, window_end = time.process_time() - cpu, now()
                wall = window_end - window_start
                # The window's last chunks are on screen before a switch hides their chat.
                await asyncio.sleep(SETTLE)
                switches: list[Switch] = []
                if together:
                    for view, trace in [*zip(views[1:], traces[1:], strict=True), (views[0], traces[0])]:
                        switches.append(await switch_to(screen, view, trace))
                        await asyncio.sleep(SWITCH_GAP)
                deadline = now() + 60
                while any(view.busy for view in views):
                    if now() > deadline:
                        raise RuntimeError("the answers did not end")
                    await asyncio.sleep(0.02)
                await pilot.pause(0.1)
            for view in streaming:
                assert view.conversation.messages[-1].content == text, "an answer differs from the server's"
    shown, _ = screen_times(traces[0])
    lags = [
        seen - arrived
        for (arrived, _), seen in zip(traces[0].arrivals, shown, strict=True)
        if window_start <= arrived <= window_end
    ]
    frames = [end - start for start, end in traces[0].frames if window_start <= start <= window_end]

    def in_window(moment: float) -> bool:
        return window_start <= moment <= window_end

    return Run(
        cpu_per_second=cpu / wall,
        lags=lags,
        frames=frames,
        rate=sum(1 for trace in traces for arrived, _ in trace.arrivals if in_window(arrived)) / wall,
        hidden_flushes=sum(1 for trace in traces for moment in trace.hidden_flushes if in_window(moment)),
        full_collections=[seconds for start, seconds in collections if in_window(start)],
        switches=switches,
    )


def report(kind: str, index: int, run: Run) -> None:
    print(
        f"  run {index} {kind}: {run.rate:,.0f} chunks/s reached the views; CPU {run.cpu_per_second:.2f} s"
        f" per s; off-screen renders {run.hidden_flushes}; full garbage collections"
        f" {', '.join(f'{seconds * 1000:.0f} ms' for seconds in run.full_collections) or 'none'}"
    )
    print(f"    on screen: lag {spread(run.lags)}; {len(run.frames)} frames, frame cost {spread(run.frames)}")
    for switch in run.switches:
        print(
            f"    switch to {switch.to[:8]} ({switch.chars:,} chars so far): its text on screen after"
            f" {switch.seconds * 1000:.0f} ms (catch-up flush at +{switch.flush_start * 1000:.0f} ms,"
            f" {switch.flush * 1000:.1f} ms; then a frame of {switch.frame * 1000:.1f} ms);"
            f" {switch.stale_frames} frame(s) showed it before it caught up"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    text = cut(long_answer(), CHARS)
    count = len(list(chunked(text, CHUNK)))
    print(
        f"{BENCH}: {CHATS} chats, each {len(text):,} chars in {count:,} chunks of {CHUNK} at {RATE:,.0f}/s"
        f" ({CHATS * RATE:,.0f}/s together); window {WINDOW:.0f} s from {WARMUP} s after the last start"
    )
    alone: list[Run] = []
    together: list[Run] = []
    with paced_server("long", CHUNK, RATE, CHARS) as port:
        for index in range(args.runs):
            for kind, runs in (("alone", alone), ("together", together)):
                with tempfile.TemporaryDirectory() as data:
                    run = await one_run(port, Path(data), text, together=kind == "together")
                report(kind, index + 1, run)
                runs.append(run)

    def figure(runs: list[Run], pick: str) -> tuple[float, float]:
        values = {
            "lag max": [max(r.lags) for r in runs],
            "lag p95": [percentile(r.lags, 95) for r in runs],
            "frame p95": [percentile(r.frames, 95) for r in runs],
        }[pick]
        return median_worst(values)

    lag_max, lag_p95, frame_p95 = (figure(together, key) for key in ("lag max", "lag p95", "frame p95"))
    alone_max, alone_frame = figure(alone, "lag max"), figure(alone, "frame p95")
    result(
        BENCH,
        "on screen, 3 others streaming: lag max (median/worst run)",
        f"{lag_max[0] * 1000:.0f} / {lag_max[1] * 1000:.0f} ms"
        f" (p95 {lag_p95[0] * 1000:.0f} / {lag_p95[1] * 1000:.0f});"
        f" alone {alone_max[0] * 1000:.0f} / {alone_max[1] * 1000:.0f} ms",
        "<= 100 ms",
        lag_max[1] <= 0.1,
    )
    result(
        BENCH,
        "on screen, 3 others streaming: frame p95",
        f"{frame_p95[0] * 1000:.0f} / {frame_p95[1] * 1000:.0f} ms;"
        f" alone {alone_frame[0] * 1000:.0f} / {alone_frame[1] * 1000:.0f} ms",
        "n/a",
        None,
    )
    cpu_alone = statistics.median(r.cpu_per_second for r in alone)
    cpu_together = statistics.median(r.cpu_per_second for r in together)
    result(
        BENCH,
        "CPU s per wall s: alone -> +3 off screen",
        f"{cpu_alone:.2f} -> {cpu_together:.2f} ({(cpu_together - cpu_alone) / 3:.3f} per off-screen stream"
        f" of {RATE:,.0f} chunks/s)",
        "n/a",
        None,
    )
    hidden = sum(r.hidden_flushes for r in [*alone, *together])
    result(BENCH, "renders of off-screen chats while hidden", f"{hidden}", "0", hidden == 0)
    switches = [s for r in together for s in r.switches]
    times = [s.seconds for s in switches]
    stale = sum(1 for s in switches if s.stale_frames)
    result(
        BENCH,
        "switch to a streaming chat -> its text on screen",
        f"median {statistics.median(times) * 1000:.0f} / worst {max(times) * 1000:.0f} ms"
        f" ({len(switches)} switches, {min(s.chars for s in switches):,}-{max(s.chars for s in switches):,}"
        f" chars; {stale} showed older text first)",
        "n/a",
        None,
    )


if __name__ == "__main__":
    asyncio.run(main())
