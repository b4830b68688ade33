"""stream-mixed and stream-flat: the emulator's ~81 KB mixed Markdown answer (`long_answer()`:
prose, lists, tables, 100+ code blocks) in 4-character chunks at 2,000 chunks/s, through the real
app headless, from a paced SSE server in a separate process over loopback.

Figures (per run; median and worst over runs):
- lag: chunk arrival (the chat's per-event handler `ChatView._turn_changed` finding the turn's answer
  longer; the view reads the text from the turn, so this is where `MessageView.write` used to be
  called per chunk) -> end of the frame that first showed its text (the first frame after the
  `MarkdownBody._flush` that read it), p50/p95/max;
  target: never more than 100 ms behind the network (max <= 100 ms);
- last chunk: its arrival -> on screen; target <= 100 ms;
- fidelity: the final screen's body vs one render of the whole text, and the streamed widget (replayed
  with exactly the text each flush saw, then finished) vs one render of the whole text; target identical;
- stream-flat: median MarkdownBody._flush cost in the first vs last 10 % of the text;
  target ratio <= 1.5.
Baseline, same run: Textual's stock `Markdown.get_stream` in a minimal app (anchored VerticalScroll +
Markdown), the same chunks on the same 2,000/s schedule written in-process; its total time and lag.

Run: .venv/bin/python bench/stream_mixed.py [--runs 2] [--baseline-runs 1] [--baseline-cap 15]
(the baseline cannot keep up at 2,000 chunks/s; it is stopped after --baseline-cap seconds of writing)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import SIZE, median_worst, percentile, result, spread
from _paced_server import paced_server
from _stream import StreamRun, drive_stream, first_difference, render_rows, replay_streamed_rows, whole_rows
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Markdown

from devic_tui.emulator.scripts import chunked, long_answer

BENCH = "stream-mixed"
CHUNK = 4
RATE = 2000.0


def flush_costs(run: StreamRun, low: float, high: float) -> list[float]:
    total = len(run.text)
    return [end - start for start, end, length in run.trace.flushes if low * total < length <= high * total]


def report_run(index: int, run: StreamRun) -> dict[str, float]:
    arrivals = [t for t, _ in run.trace.arrivals]
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    first = flush_costs(run, 0.0, 0.1)
    last = flush_costs(run, 0.9, 1.0)
    flat = statistics.median(last) / statistics.median(first)
    frames = [end - start for start, end in run.trace.frames]
    print(
        f"  run {index}: {len(arrivals)} chunks at {rate:,.0f}/s (target rate {RATE:,.0f}/s) over"
        f" {arrivals[-1] - arrivals[0]:.2f} s;"
        f" done {run.done - run.first_arrival:.2f} s after the first chunk"
    )
    print(f"    lag {spread(run.lags)}; last chunk {run.last_lag * 1000:.1f} ms")
    print(
        f"    {len(run.trace.flushes)} flushes; flush cost first 10 % {spread(first)};"
        f" last 10 % {spread(last)}; ratio of medians {flat:.2f}"
    )
    print(f"    {len(frames)} frames, frame cost {spread(frames)}")
    return {
        "rate": rate,
        "p50": percentile(run.lags, 50),
        "p95": percentile(run.lags, 95),
        "max": max(run.lags),
        "last": run.last_lag,
        "total": run.done - run.first_arrival,
        "flat": flat,
    }


# ---- baseline: Textual's MarkdownStream ----


class BaselineApp(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="chat"):
            yield Markdown()

    def on_mount(self) -> None:
        self.query_one("#chat").anchor()


async def run_baseline(chunks: list[str], rate: float, cap: float) -> dict[str, float]:
    """Write the chunks on the same schedule into Markdown.get_stream; lag = arrival -> end of the
    first frame after the append that made `source` cover it."""
    app = BaselineApp()
    appends: list[tuple[float, int]] = []
    frames: list[tuple[float, float]] = []
    original_append = Markdown.append
    original_refresh = Screen._compositor_refresh

    def append(self: Markdown, markdown: str) -> Any:
        waiter = original_append(self, markdown)
        length = len(self.source)

        async def done() -> None:
            await waiter
            appends.append((time.perf_counter(), length))

        return done()

    def refresh(self: Screen[Any]) -> None:
        start = time.perf_counter()
        original_refresh(self)
        frames.append((start, time.perf_counter()))

    arrivals: list[tuple[float, int]] = []
    Markdown.append = append  # type: ignore[method-assign,assignment]
    Screen._compositor_refresh = refresh  # type: ignore[method-assign]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            markdown = app.query_one(Markdown)
            stream = Markdown.get_stream(markdown)
            loop = asyncio.get_running_loop()
            start = loop.time()
            length = 0
            capped = False
            for index, chunk in enumerate(chunks):
                delay = start + index / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if loop.time() - start > cap:
                    capped = True
                    break
                await stream.write(chunk)
                length += len(chunk)
                arrivals.append((time.perf_counter(), length))
            await stream.stop()
            await pilot.pause()
            finished = time.perf_counter()
    finally:
        Markdown.append = original_append  # type: ignore[method-assign]
        Screen._compositor_refresh = original_refresh  # type: ignore[method-assign]
    lags: list[float] = []
    mark = 0
    for arrived, needed in arrivals:
        while mark < len(appends) and appends[mark][1] < needed:
            mark += 1
        covered = appends[mark][0] if mark < len(appends) else finished
        shown = next((end for begin, end in frames if begin >= covered), finished)
        lags.append(shown - arrived)
    total = finished - arrivals[0][0]
    print(
        f"  baseline MarkdownStream: {len(arrivals)} chunks written{' (capped)' if capped else ''};"
        f" done {total:.2f} s after the first chunk; lag {spread(lags)}; last chunk {lags[-1] * 1000:.0f} ms;"
        f" {len(appends)} appends"
    )
    return {"total": total, "p95": percentile(lags, 95), "max": max(lags), "written": len(arrivals)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--baseline-cap", type=float, default=15.0, help="seconds")
    args = parser.parse_args()
    text = long_answer()
    chunks = list(chunked(text, CHUNK))
    print(f"{BENCH}: {len(text):,} chars in {len(chunks):,} chunks of {CHUNK} at {RATE:,.0f} chunks/s")
    runs: list[dict[str, float]] = []
    first_run: StreamRun | None = None
    with paced_server("long", CHUNK, RATE) as port:
        for index in range(args.runs):
            with tempfile.TemporaryDirectory() as data:
                run = await drive_stream(port, "long", Path(data))
            assert run.text == text, "the app's final text differs from the server's"
            runs.append(report_run(index + 1, run))
            first_run = first_run or run
    assert first_run is not None
    width = first_run.body_width
    whole = whole_rows(text, width)
    final_same = render_rows(first_run.final_body, width) == whole
    streamed = await replay_streamed_rows(text, [length for _, _, length in first_run.trace.flushes], width)
    streamed_same = streamed == whole
    print(
        f"  fidelity at width {width}: final body vs whole render:"
        f" {'identical' if final_same else 'DIFFERENT'}"
    )
    print(
        "  streamed widget (replayed flushes, finished) vs whole render: "
        + ("identical" if streamed_same else f"DIFFERENT ({first_difference(streamed, whole)})")
    )
    baselines = [await run_baseline(chunks, RATE, args.baseline_cap) for _ in range(args.baseline_runs)]

    def mw(key: str) -> tuple[float, float]:
        return median_worst([r[key] for r in runs])

    base_total = statistics.median(b["total"] for b in baselines) if baselines else float("nan")
    base_max = statistics.median(b["max"] for b in baselines) if baselines else float("nan")
    base_written = min(b["written"] for b in baselines) if baselines else 0.0
    base_whole = base_total * len(chunks) / base_written if base_written else float("nan")
    lag_max = mw("max")
    p95 = mw("p95")
    last = mw("last")
    total = mw("total")
    flat = mw("flat")
    rate = median_worst([r["rate"] for r in runs], higher_is_worse=False)
    result(BENCH, "real chunk rate (median/worst)", f"{rate[0]:,.0f} / {rate[1]:,.0f} /s", "2,000 /s", None)
    result(
        BENCH,
        "lag max (median/worst run)",
        f"{lag_max[0] * 1000:.0f} / {lag_max[1] * 1000:.0f} ms"
        f" (p95 {p95[0] * 1000:.0f} / {p95[1] * 1000:.0f})",
        "<= 100 ms",
        lag_max[1] <= 0.1,
    )
    result(
        BENCH,
        "last chunk to screen",
        f"{last[0] * 1000:.0f} / {last[1] * 1000:.0f} ms",
        "<= 50 ms",
        last[1] <= 0.05,
    )
    result(
        BENCH,
        "final render == whole render",
        f"final body {final_same}, streamed form {streamed_same}",
        "identical",
        final_same and streamed_same,
    )
    result(
        BENCH,
        "total vs MarkdownStream",
        f"{total[0]:.2f} / {total[1]:.2f} s; MarkdownStream {base_written:,.0f} of {len(chunks):,} chunks"
        f" in {base_total:.1f} s (whole answer ~{base_whole:.0f} s: {base_whole / total[0]:.1f}x slower),"
        f" its lag max {base_max:.1f} s",
        "keep up (~10.2 s)",
        None,
    )
    result(
        "stream-flat",
        "flush cost last/first 10 %",
        f"{flat[0]:.2f} / {flat[1]:.2f}",
        "<= 1.5",
        flat[1] <= 1.5,
    )


if __name__ == "__main__":
    asyncio.run(main())
