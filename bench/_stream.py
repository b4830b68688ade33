"""Streaming harness shared by stream_mixed, stream_fences and keys_while_streaming.

It runs the real app headless against bench/_paced_server.py (a separate process) and records, by
wrapping methods for the duration of the run only (no product code changes):

- every `MessageView.write` (a chunk reaching the view): time and the streamed text's length;
- every `StreamingMarkdown._flush` (the screen catching up): start, end and the length it rendered;
- every `Screen._compositor_refresh` of the main screen (a frame: `render_update` + display): start, end;
- `MessageView.end_stream` (the answer swapped for its final single-widget form): start, end.

"On screen" for a chunk = the end of the first frame that starts after the first flush (or the
end_stream) that rendered text at least as long as the text that chunk completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import SIZE, bench_settings, make_app, send, settle
from rich.console import Console, RenderableType
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from devic_tui.screens.main import MainScreen
from devic_tui.widgets.markdown_stream import StreamingMarkdown, render_markdown
from devic_tui.widgets.message_view import MessageView

now = time.perf_counter


@dataclass
class Trace:
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    flushes: list[tuple[float, float, int]] = field(default_factory=list)
    frames: list[tuple[float, float]] = field(default_factory=list)
    end_stream: tuple[float, float] | None = None
    frame_hooks: list[Callable[[float, float], None]] = field(default_factory=list)
    """Called after each main-screen frame with its start and end."""
    pre_frame_hooks: list[Callable[[], None]] = field(default_factory=list)
    """Called just before each main-screen frame is rendered."""


@contextlib.contextmanager
def instrument(trace: Trace) -> Iterator[None]:
    original_write = MessageView.write
    original_flush = StreamingMarkdown._flush
    original_end = MessageView.end_stream
    original_refresh = Screen._compositor_refresh

    def write(self: MessageView, fragment: str) -> None:
        original_write(self, fragment)
        stream = self._stream
        if stream is not None:
            trace.arrivals.append((now(), stream.received_chars))

    async def flush(self: StreamingMarkdown) -> None:
        start = now()
        await original_flush(self)
        trace.flushes.append((start, now(), self.rendered_chars))

    async def end_stream(self: MessageView) -> None:
        start = now()
        await original_end(self)
        trace.end_stream = (start, now())

    def compositor_refresh(self: Screen[Any]) -> None:
        main = isinstance(self, MainScreen)
        if main:
            for before in trace.pre_frame_hooks:
                before()
        start = now()
        original_refresh(self)
        if main:
            end = now()
            trace.frames.append((start, end))
            for hook in trace.frame_hooks:
                hook(start, end)

    MessageView.write = write  # type: ignore[method-assign]
    StreamingMarkdown._flush = flush  # type: ignore[method-assign]
    MessageView.end_stream = end_stream  # type: ignore[method-assign]
    Screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]
    try:
        yield
    finally:
        MessageView.write = original_write  # type: ignore[method-assign]
        StreamingMarkdown._flush = original_flush  # type: ignore[method-assign]
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
    """Per arrival, when its text was on screen; and when the final (end_stream) frame ended."""
    frames = trace.frames
    assert trace.end_stream is not None
    marks = [(end, length) for _, end, length in trace.flushes]
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
        shown.append(frame_after(covered_at))
    return shown, frame_after(trace.end_stream[1])


async def drive_stream(
    port: int,
    slug: str,
    data_dir: Path,
    *,
    during: Callable[[Pilot[None], MainScreen, Trace], Awaitable[None]] | None = None,
    limit: float = 40.0,
) -> StreamRun:
    """Send one message to the paced server's `slug` through the real app and wait for the answer."""
    settings = bench_settings(f"http://127.0.0.1:{port}/v1/api", [slug])
    app = make_app(settings, data_dir)
    trace = Trace()
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
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
        view = screen.pane.views()[-1]
        body = view.query_one(".message-body", Static)
        text = view.data.content
        width = body.content_region.width
        final_body = body.content
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
    cached = getattr(renderable, "lines", None)  # the app's cached Visuals (BlockDocument, CachedMarkdown)
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
    def compose(self) -> ComposeResult:
        yield StreamingMarkdown()


async def replay_streamed_rows(text: str, flush_lengths: list[int], width: int) -> list[str]:
    """Feed a StreamingMarkdown the text in exactly the pieces each recorded flush saw, then finish,
    and return the rows its segments and tail show."""
    app = _ReplayApp()
    async with app.run_test(size=(width, 40)):
        widget = app.query_one(StreamingMarkdown)
        position = 0
        for length in [*flush_lengths, len(text)]:
            if length > position:
                widget.append(text[position:length])
                position = length
                await widget._flush()
        await widget.finish()
        rows: list[str] = []
        for child in widget.children:
            assert isinstance(child, Static)
            rows += render_rows(child.content, width)  # type: ignore[arg-type]
    return rows


def whole_rows(text: str, width: int) -> list[str]:
    return render_rows(render_markdown(text), width)


def first_difference(left: list[str], right: list[str]) -> str:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return f"row {index}: {a!r} != {b!r}"
    return f"row counts {len(left)} != {len(right)}" if len(left) != len(right) else "none"
