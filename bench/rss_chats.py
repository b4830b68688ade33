"""rss-chats: peak memory with ten chats open and one streaming (issue "Speed at the limit", 6).

Ten conversations of 48 messages each (stream_scale's history: questions and Markdown answers of
~0.5 to ~4 KB with headings, lists, code and tables; ~100 KB of answers each) are saved through the
store in the run's data dir. The real app (`App.run_test`, 120x40) opens them one after another, as
a click in the sidebar does, each shown until its pane is mounted; then a message goes to the last
one, and the 81 KB `long_answer()` streams into it from the paced SSE server (a separate process:
4-char chunks at 2,000 chunks/s, as stream_mixed). The app keeps the views of the chats it has
shown, up to its limit of idle ones (`screens/main.VIEWS_KEPT`), and says how many it kept.

Figure: the process's peak RSS (`getrusage` ru_maxrss: this process holds the app and the bench's
harness only), and the RSS before the chats were opened, after, and at the end: target <= 150 MB.

Run: .venv/bin/python bench/rss_chats.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from _common import peak_rss_mb, result
from _paced_server import paced_server
from _stream import drive_stream
from stream_scale import EXCHANGES, open_history, save_history
from textual.pilot import Pilot

from devic_tui.screens.main import MainScreen
from devic_tui.widgets.chat_view import ChatView

BENCH = "rss-chats"
CHATS = 10
CHUNK, RATE = 4, 2000.0


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> None:
    marks: dict[str, float] = {}
    kept: list[int] = []

    async def open_ten(pilot: Pilot[None], screen: MainScreen) -> None:
        marks["app started"] = current_rss_mb()
        for number in range(CHATS):
            await open_history(pilot, screen, f"bench-history-{number:02d}")
        marks["ten chats opened"] = current_rss_mb()
        kept.append(len(screen.query(ChatView)))

    with tempfile.TemporaryDirectory() as data, paced_server("long", CHUNK, RATE) as port:
        answers = sum(save_history(Path(data), f"bench-history-{number:02d}") for number in range(CHATS))
        print(
            f"{BENCH}: {CHATS} chats of {2 * EXCHANGES} messages ({answers:,} chars of answers in all),"
            f" then the 81 KB answer streams into the last one"
        )
        marks["before the app"] = current_rss_mb()
        run = await drive_stream(port, "long", Path(data), before=open_ten, limit=60)
        marks["answer done"] = current_rss_mb()
    peak = peak_rss_mb()
    print("  RSS " + "; ".join(f"{name} {mb:.0f} MB" for name, mb in marks.items()))
    views = kept[0] if kept else "?"
    print(f"  chat views mounted after opening ten: {views}; answer {len(run.text):,} chars")
    result(
        BENCH,
        "peak RSS, ten chats open and one streaming",
        f"{peak:.0f} MB (ten chats opened: {marks['ten chats opened']:.0f} MB; {views} views kept)",
        "<= 150 MB",
        peak <= 150,
    )


if __name__ == "__main__":
    asyncio.run(main())
