"""Full-text search over 10,000 conversations x 50 messages, through TranscriptStore.search.

The history is generated deterministically (seed 2024) and written through the store's own `save`
(files and index) into bench/results/search-history/, once; later runs reuse it. Then 24 varied
queries (common, rare, phrases, prefixes, OR, filters by server, assistant and date, no match) are
each run several times. Target: p95 <= 100 ms.

    .venv/bin/python bench/search.py [--rebuild]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._history import RESULTS, START, Writer, make_conversation, p95, result, summary, timed
from devic_tui.store.transcripts import TranscriptStore

CONVERSATIONS, MESSAGES, SEED = 10_000, 50, 2024
HOME = RESULTS / "search-history"
DONE = HOME / f"complete-{CONVERSATIONS}x{MESSAGES}-seed{SEED}"
SERVERS = ["devic", "devs", "agent", "openai"]
ASSISTANTS = ["helper", "coder", "writer", "planner", "analyst"]
REPEATS = 5
TARGET_P95_MS = 100.0


def build() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    writer = Writer(SEED)
    store = TranscriptStore(HOME / "transcripts", "json")
    started = time.perf_counter()
    for n in range(CONVERSATIONS):
        conv = make_conversation(
            f"c{n:05d}",
            MESSAGES,
            writer,
            when=START + timedelta(hours=n),
            server=SERVERS[n % len(SERVERS)],
            assistant_id=ASSISTANTS[n % len(ASSISTANTS)],
        )
        store.save(conv)
        if n % 1000 == 999:
            print(f"  built {n + 1} conversations in {time.perf_counter() - started:.0f} s", flush=True)
    store.close()
    DONE.touch()


def queries(writer: Writer) -> list[tuple[str, dict[str, object]]]:
    w = writer.words  # ranked by frequency: w[0] is the most common word
    mid = START + timedelta(hours=CONVERSATIONS // 2)
    return [
        (w[0], {}),
        (w[1], {}),
        (w[5], {}),
        (w[40], {}),
        (w[300], {}),
        (w[2000], {}),
        (w[4900], {}),
        (f"{w[0]} {w[1]}", {}),
        (f"{w[3]} {w[200]}", {}),
        (f'"{w[0]} {w[1]}"', {}),
        (f"{w[10][:3]}*", {}),
        (f"{w[700][:4]}*", {}),
        (f"{w[100]} OR {w[101]}", {}),
        ("quokka", {}),
        ("kubernetes migration", {}),
        ("nothingmatchesthisword", {}),
        (w[0], {"server": "devs"}),
        (w[20], {"assistant_id": "coder"}),
        (w[2], {"since": mid}),
        (w[2], {"since": mid, "until": mid + timedelta(days=3)}),
        (w[50], {"server": "openai", "assistant_id": "writer"}),
        (w[1000], {"server": "agent"}),
        (f"{w[0]} {w[4000]}", {}),
        ("Python error", {}),
    ]


def main() -> None:
    if "--rebuild" in sys.argv or not DONE.exists():
        print(f"Generating {CONVERSATIONS} conversations × {MESSAGES} messages into {HOME} (once) …")
        print(f"  built in {timed(build) / 1000:.0f} s")
    store = TranscriptStore(HOME / "transcripts", "json")
    opened = timed(store.summaries)
    if store.notices:
        print("  " + "\n  ".join(store.notices))
    print(f"open: index sync + sidebar summaries of {CONVERSATIONS} conversations: {opened:.1f} ms")
    writer = Writer(SEED)
    per_query: list[tuple[str, list[float], int]] = []
    every: list[float] = []
    for text, filters in queries(writer):
        times = []
        hits = 0
        for _ in range(REPEATS):
            start = time.perf_counter()
            found = store.search(text, **filters)  # type: ignore[arg-type]
            times.append((time.perf_counter() - start) * 1000)
            hits = len(found)
        per_query.append((text + (f"  {filters}" if filters else ""), times, hits))
        every.extend(times)
    store.close()
    print(
        f"\nsearch: {len(per_query)} queries x {REPEATS} runs, limit 50, "
        f"over {CONVERSATIONS * MESSAGES:,} messages"
    )
    for label, times, hits in per_query:
        print(f"  {statistics.median(times):7.2f} ms (worst {max(times):7.2f})  {hits:2d} hits  {label[:70]}")
    print(f"\nall searches: {summary(every)}")
    ok = p95(every) <= TARGET_P95_MS
    print(f"target: p95 <= {TARGET_P95_MS:.0f} ms -> {'OK' if ok else 'MISSED'} (p95 {p95(every):.1f} ms)")
    result("search", "full-text p95", f"{p95(every):.1f} ms", f"<= {TARGET_P95_MS:.0f} ms", ok)


if __name__ == "__main__":
    main()
