"""Streaming harness shared by stream_mixed, stream_fences, keys_while_streaming and several_chats.

It runs the real app headless against bench/_paced_server.py (a separate process) and records, by
wrapping methods for the duration of the run only (no product code changes):

- every `ChatView._turn_changed` (the chat's handler for each event of its turn, called after the
  turn recorded the event; `turn.answer_length`) that finds the answer's text longer than the
  last one did: time and the text's length. This is a chunk reaching the view: the view reads the
  text from the turn's record, so this is where `MessageView.write` used to be called per chunk;
- every `MarkdownBody._flush` (the view reading the source and catching up, at most once per
  frame): start, end, how much of the source it has read (`received_chars`), and whether its chat
  was on screen (`ChatView.active`);
- every `Screen._compositor_refresh` of the main screen (a frame: `render_update` + display): start, end;
- `MessageView.end_stream` (the answer swapped for its final single-widget form): start, end.

Each `Trace` records one chat (`chat`: its conversation id), or any chat when `chat` is None (the
benches with one chat). "On screen" for a chunk = the end of the first frame that starts after the
first flush (or the end_stream) that rendered text at least as long as the text that chunk completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import SIZE, bench_settings, make_app, on_screen, send, settle, spread
from rich.console import Console, RenderableType
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.dom import DOMNode
from textual.pilot import Pilot
from textual.screen import Screen

from devic_tui.screens.main import MainScreen
from devic_tui.turn import Turn
from devic_tui.widgets.chat_view import ChatView
from devic_tui.widgets.markdown_stream import MarkdownBody, render_markdown
from devic_tui.widgets.message_view import MessageData, MessageView

now = time.perf_counter


@dataclass
class Trace:
    chat: str | None = None
    """The conversation id whose stream this trace records; None: any chat."""
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    flushes: list[tuple[float, float, int]] = field(default_factory=list)
    hidden_flushes: list[float] = field(default_factory=list)
    """When this chat's stream flushed while the chat was not on screen (its end excluded)."""
    frames: list[tuple[float, float]] = field(default_factory=list)
    end_stream: tuple[float, float] | None = None
    frame_hooks: list[Callable[[float, float], None]] = field(default_factory=list)
    """Called after each main-screen frame with its start and end."""
    pre_frame_hooks: list[Callable[[], None]] = field(default_factory=list)
    """Called just before each main-screen frame is rendered."""

    def wants(self, view: ChatView | None) -> bool:
        return self.chat is None or (view is not None and view.conversation.id == self.chat)


def chat_of(node: DOMNode) -> ChatView | None:
    """The chat a widget is in."""
    return next((a for a in node.ancestors if isinstance(a, ChatView)), None)


@contextlib.contextmanager
def instrument(*traces: Trace) -> Iterator[None]:
    original_turn_changed = ChatView._turn_changed
    original_flush = MarkdownBody._flush
    original_end = MessageView.end_stream
    original_refresh = Screen._compositor_refresh
    chats: dict[int, ChatView | None] = {}
    """id(MarkdownBody) -> its chat (looked up once per widget, not per flush)."""
    ending: set[int] = set()
    """id of the MarkdownBody whose `end_stream` is running (its last flush is not "hidden")."""

    def turn_changed(self: ChatView, turn: Turn) -> None:
        arrived = now()
        length = turn.answer_length
        for trace in traces:
            if trace.wants(self) and (not trace.arrivals or length > trace.arrivals[-1][1]):
                trace.arrivals.append((arrived, length))
        original_turn_changed(self, turn)

    async def flush(self: MarkdownBody, **kwargs: bool) -> None:
        start = now()
        await original_flush(self, **kwargs)
        end = now()
        key = id(self)
        if key not in chats:
            chats[key] = chat_of(self)
        view = chats[key]
        for trace in traces:
            if trace.wants(view):
                trace.flushes.append((start, end, self.received_chars))
                if view is not None and not view.active and key not in ending:
                    trace.hidden_flushes.append(start)

    async def end_stream(self: MessageView, data: MessageData) -> None:
        view = chat_of(self)
        stream = self.query(MarkdownBody)
        keys = {id(widget) for widget in stream}
        ending.update(keys)
        start = now()
        try:
            await original_end(self, data)
        finally:
            ending.difference_update(keys)
        end = now()
        for trace in traces:
            if trace.wants(view):
                trace.end_stream = (start, end)

    def compositor_refresh(self: Screen[Any]) -> None:
        main = isinstance(self, MainScreen)
        if main:
            for trace in traces:
                for before in trace.pre_frame_hooks:
                    before()
        start = now()
        original_refresh(self)
        if main:
            end = now()
            for trace in traces:
                trace.frames.append((start, end))
                for hook in trace.frame_hooks:
                    hook(start, end)

    ChatView._turn_changed = turn_changed  # type: ignore[method-assign]
    MarkdownBody._flush = flush  # type: ignore[method-assign]
    MessageView.end_stream = end_stream  # type: ignore[method-assign]
    Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]
    try:
        yield
    finally:
        ChatView._turn_changed = original_turn_changed  # type: ignore[method-assign]
        MarkdownBody._flush = original_flush  # type: ignore[method-assign]
        MessageView.end_stream = original_end  # type: ignore[method-assign]
        Screen._compositor_refresh = original_refresh  # type: ignore[method-assign]


@dataclass
class StreamRun:
    trace: Trace
    text: str
    body_width: int
    final_body: RenderableType
    lags: list[float]
    """Per chunk: seconds from its arrival to the end of the frame that showed it."""
    first_arrival: float
    last_arrival: float
    done: float
    """End of the first frame after end_stream: the whole answer is on screen and the stream is over."""
    last_lag: float
    """The last chunk: arrival to on screen (the flush that covered it, or end_stream)."""


def screen_times(trace: Trace) -> tuple[list[float], float]:
    """Per arrival, when its text was on screen (nan when no flush ever covered it); and when the
    final (end_stream) frame ended (nan when the stream has not ended)."""
    frames = trace.frames
    marks = [(end, length) for _, end, length in trace.flushes]
    if trace.end_stream is not None:
        marks.append((trace.end_stream[1], trace.arrivals[-1][1]))
    marks.sort()

    def frame_after(moment: float) -> float:
        return next((end for start, end in frames if start >= moment), moment)

    shown: list[float] = []
    mark_index = 0
    best_covered = 0
    covered_at = 0.0
    for _, length in trace.arrivals:
        while best_covered < length and mark_index < len(marks):
            covered_at, covered_len = marks[mark_index]
            best_covered = max(best_covered, covered_len)
            mark_index += 1
        shown.append(frame_after(covered_at) if best_covered >= length else math.nan)
    return shown, frame_after(trace.end_stream[1]) if trace.end_stream is not None else math.nan


async def drive_stream(
    port: int,
    slug: str,
    data_dir: Path,
    *,
    during: Callable[[Pilot[None], MainScreen, Trace], Awaitable[None]] | None = None,
    before: Callable[[Pilot[None], MainScreen], Awaitable[None]] | None = None,
    limit: float = 40.0,
) -> StreamRun:
    """Send one message to the paced server's `slug` through the real app and wait for the answer.
    `before` (optional) is awaited once the app has settled, before the message is typed (e.g. to open
    a chat from history: the message then goes to the chat on screen)."""
    settings = bench_settings(f"http://127.0.0.1:{port}/v1/api", [slug])
    app = make_app(settings, data_dir)
    trace = Trace()
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        if before is not None:
            await before(pilot, screen)
        with instrument(trace):
            await send(pilot, screen, "go")
            side: asyncio.Task[None] | None = None
            if during is not None:
                side = asyncio.create_task(during(pilot, screen, trace))
            deadline = now() + limit
            while trace.end_stream is None or not trace.frames or trace.frames[-1][0] < trace.end_stream[1]:
                if now() > deadline:
                    raise RuntimeError("the stream did not finish in time")
                await asyncio.sleep(0.005)
            if side is not None:
                await side
        view = on_screen(screen).pane.views()[-1]
        body = view.query_one(".message-body", MarkdownBody)
        text = view.data.content
        width = body.content_region.width
        final_body = body
        await pilot.pause()
    shown, done = screen_times(trace)
    lags = [s - a for (a, _), s in zip(trace.arrivals, shown, strict=True)]
    return StreamRun(
        trace=trace,
        text=text,
        body_width=width,
        final_body=final_body,  # type: ignore[arg-type]
        lags=lags,
        first_arrival=trace.arrivals[0][0],
        last_arrival=trace.arrivals[-1][0],
        done=done,
        last_lag=lags[-1],
    )


# ---- fidelity: the streamed form and the final form against one render of the whole text ----


def _console(width: int) -> Console:
    return Console(width=width, force_terminal=True, color_system="truecolor", legacy_windows=False)


def render_rows(renderable: RenderableType, width: int) -> list[str]:
    """A renderable's lines at `width` as ANSI strings, trailing unstyled blanks removed."""
    console = _console(width)
    rows: list[str] = []
    cached = getattr(renderable, "lines", None)  # the app's cached Visuals (MarkdownBody)
    if callable(cached):
        lines: list[list[Segment]] = [list(strip) for strip in cached(width)]
    else:
        lines = console.render_lines(renderable, console.options.update_width(width), pad=False)
    for line in lines:
        parts = list(Segment.simplify(line))
        while parts and not parts[-1].text.strip() and not (parts[-1].style and parts[-1].style.bgcolor):
            parts.pop()
        rows.append("".join(p.style.render(p.text) if p.style else p.text for p in parts))
    return rows


class _ReplayApp(App[None]):
    def __init__(self, source: Callable[[], str]) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield MarkdownBody(source=self.source)


async def replay_streamed_rows(text: str, flush_lengths: list[int], width: int) -> list[str]:
    """Let a MarkdownBody read the text in exactly the pieces each recorded flush saw (its
    source grows to each recorded length, then it flushes), and return the rows it draws then
    (its finished blocks' lines and the open block's), before `finish` makes the final form."""
    written = [""]
    app = _ReplayApp(lambda: written[0])
    async with app.run_test(size=(width, 40)):
        widget = app.query_one(MarkdownBody)
        for length in [*flush_lengths, len(text)]:
            if length > len(written[0]):
                written[0] = text[:length]
                await widget._flush(now=True)
        rows = render_rows(widget, width)  # type: ignore[arg-type]  (it has the lines(width) they read)
        await widget.finish(text)
    return rows


def whole_rows(text: str, width: int) -> list[str]:
    return render_rows(render_markdown(text), width)


def first_difference(left: list[str], right: list[str]) -> str:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return f"row {index}: {a!r} != {b!r}"
    return f"row counts {len(left)} != {len(right)}" if len(left) != len(right) else "none"


# ---- what the streaming benches share besides the stream itself ----

KEY_INTERVAL = 0.05
"""Seconds between keys a `Typist` presses."""


@contextlib.contextmanager
def full_collections() -> Iterator[list[tuple[float, float]]]:
    """(start, duration) of each full (generation 2) garbage collection while open (as several_chats)."""
    found: list[tuple[float, float]] = []
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            found.append((started[0], time.perf_counter() - started[0]))

    gc.callbacks.append(callback)
    try:
        yield found
    finally:
        gc.callbacks.remove(callback)


class Typist:
    """A `during` hook for drive_stream: "x" every KEY_INTERVAL into the composer on screen until the
    stream ends; `keys` gets (posted, posted -> end of the first frame that began with it typed)."""

    def __init__(self) -> None:
        self.keys: list[tuple[float, float]] = []
        self.press_times: list[float] = []
        self.chat = ""
        self.messages = 0
        """The chat typed into, and its messages on screen (`TranscriptPane.messages`) at the end."""

    async def __call__(self, pilot: Pilot[None], screen: MainScreen, trace: Trace) -> None:
        view = on_screen(screen)
        composer = view.composer
        pending: list[tuple[float, int]] = []
        seen = {"length": 0}

        def before_frame() -> None:
            seen["length"] = len(composer.text)

        def after_frame(start: float, end: float) -> None:
            while pending and pending[0][1] <= seen["length"]:
                posted = pending.pop(0)[0]
                self.keys.append((posted, end - posted))

        trace.pre_frame_hooks.append(before_frame)
        trace.frame_hooks.append(after_frame)
        typed = len(composer.text)
        next_at = time.perf_counter()
        presses: list[asyncio.Task[None]] = []

        async def press(started: float) -> None:
            await pilot.press("x")
            self.press_times.append(time.perf_counter() - started)

        while trace.end_stream is None:
            typed += 1
            started = time.perf_counter()
            pending.append((started, typed))
            presses.append(asyncio.create_task(press(started)))
            next_at += KEY_INTERVAL
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*presses)
        self.chat = view.conversation.id
        self.messages = len(view.pane.messages)

    @property
    def latencies(self) -> list[float]:
        return [latency for _, latency in self.keys]

    def summary(self, run: StreamRun) -> str:
        first = min(posted for posted, _ in self.keys) - run.first_arrival
        return (
            f"{len(self.keys)} keys, the first {first:+.1f} s from the first chunk: key -> painted"
            f" {spread(self.latencies)}; pilot.press returned after {spread(self.press_times)}"
        )

    def thirds(self, run: StreamRun) -> list[list[float]]:
        """Latencies of the keys posted in each third of the stream (first to last chunk's arrival;
        keys before the first chunk count in the first third, after the last in the last)."""
        parts: list[list[float]] = [[], [], []]
        span = run.last_arrival - run.first_arrival
        for posted, latency in self.keys:
            where = (posted - run.first_arrival) / span
            parts[min(2, max(0, int(where * 3)))].append(latency)
        return parts
