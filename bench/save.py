"""Record one more message in a 10,000-message conversation, in JSON and in TOML.

For each format: a 10,000-message conversation (about 4 MB) is saved once, then 200 more messages
are recorded one by one with `save_message(final=True)` (a journal line, fsynced, plus the index
update), each timed. The baseline is a full atomic rewrite of the same conversation (`save`),
measured in the same run. Also: loading it back, and opening a 2,000-message conversation.
Target: median <= 5 ms in both formats.

    .venv/bin/python bench/save.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._history import START, Writer, make_conversation, make_message, result, summary, timed
from devic_tui.store.transcripts import TranscriptStore

MESSAGES, APPENDS, REWRITES, LOADS = 10_000, 200, 5, 5
TARGET_MS = 5.0


def run(fmt: str, root: Path) -> None:
    writer = Writer(7)
    store = TranscriptStore(root / fmt / "transcripts", fmt)  # type: ignore[arg-type]
    conv = make_conversation("long", MESSAGES, writer)
    store.save(conv)
    size = (root / fmt / "transcripts" / f"long.{fmt}").stat().st_size
    rewrites = [timed(lambda: store.save(conv)) for _ in range(REWRITES)]
    appends = []
    for i in range(MESSAGES, MESSAGES + APPENDS):
        message = make_message(i, writer, START + timedelta(minutes=i))
        conv.messages.append(message)
        appends.append(timed(lambda m=message: store.save_message(conv, m, final=True)))  # type: ignore[misc]
    loads = [timed(lambda: store.load("long")) for _ in range(LOADS)]
    closing = timed(store.close)
    short = TranscriptStore(root / fmt / "short", fmt, index_path=root / fmt / "short.sqlite3")  # type: ignore[arg-type]
    short.save(make_conversation("open2000", 2000, writer))
    opens = [timed(lambda: short.load("open2000")) for _ in range(LOADS)]
    short.close()
    ratio = statistics.median(rewrites) / statistics.median(appends)
    ok = statistics.median(appends) <= TARGET_MS
    verdict = "OK" if ok else "MISSED"
    print(f"\n{fmt.upper()}  ({MESSAGES:,} messages, snapshot {size / 1e6:.2f} MB)")
    print(f"  save_message, one more message:  {summary(appends)}")
    print(f"  baseline, full atomic rewrite:   {summary(rewrites)}")
    print(f"  ratio rewrite / save_message (medians): {ratio:.0f}×")
    print(f"  target: median <= {TARGET_MS:.0f} ms -> {verdict}")
    print(f"  load (snapshot + journal of {APPENDS}): {summary(loads)}")
    print(f"  close (folds the journal):        {closing:8.1f} ms")
    print(f"  open a 2,000-message conversation (load): {summary(opens)}")
    median = f"{statistics.median(appends):.2f} ms (rewrite {statistics.median(rewrites):.0f} ms)"
    result("save", f"{fmt} one more message at {MESSAGES:,}, median", median, f"<= {TARGET_MS:.0f} ms", ok)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("json", "toml"):
            run(fmt, Path(tmp))


if __name__ == "__main__":
    main()
