"""stream-fences: ~13.5 KB with 125 small code blocks (`_paced_server.fences_13k()`) sent as ~1,000
chunks over 2 s (500 chunks/s) by a paced SSE server in a separate process, through the real app
headless. Figure: first chunk's arrival -> done (every chunk's text on screen and the stream finished:
the end of the first frame after MessageView.end_stream). Target: within 1.1 x 2 s = 2.2 s.

Run: .venv/bin/python bench/stream_fences.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
from pathlib import Path

from _common import result, spread
from _paced_server import fences_13k, paced_server
from _stream import drive_stream

BENCH = "stream-fences"
CHUNKS = 1000
SECONDS = 2.0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    text = fences_13k()
    size = math.ceil(len(text) / CHUNKS)
    count = math.ceil(len(text) / size)
    rate = count / SECONDS
    print(
        f"{BENCH}: {len(text):,} chars, {text.count('```') // 2} fences,"
        f" {count} chunks of {size} at {rate:.0f}/s"
    )
    totals: list[float] = []
    with paced_server("fences13k", size, rate) as port:
        for index in range(args.runs):
            with tempfile.TemporaryDirectory() as data:
                run = await drive_stream(port, "fences", Path(data))
            assert run.text == text
            arrivals = [t for t, _ in run.trace.arrivals]
            total = run.done - run.first_arrival
            totals.append(total)
            print(
                f"  run {index + 1}: {len(arrivals)} chunks over {arrivals[-1] - arrivals[0]:.2f} s"
                f" ({(len(arrivals) - 1) / (arrivals[-1] - arrivals[0]):.0f}/s); done {total:.2f} s after the"
                f" first chunk; lag {spread(run.lags)}; last chunk {run.last_lag * 1000:.0f} ms"
            )
    median, worst = statistics.median(totals), max(totals)
    result(
        BENCH,
        "first chunk -> done (median/worst)",
        f"{median:.2f} / {worst:.2f} s ({worst / SECONDS:.2f}x the server's 2 s)",
        "<= 2.2 s",
        worst <= 1.1 * SECONDS,
    )


if __name__ == "__main__":
    asyncio.run(main())
