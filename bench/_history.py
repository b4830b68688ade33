"""Helpers for the history benchmarks (save.py, search.py): timing summaries, RESULT lines in the
format `run_all.py` collects, and deterministic conversations. No Textual import."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devic_tui.records import Conversation, StoredMessage

RESULTS = Path(__file__).resolve().parent / "results"
START = datetime(2024, 1, 1, tzinfo=UTC)

_SYLLABLES = [
    "ka", "lo", "mi", "ra", "te", "su", "an", "ex", "or", "pi", "qu", "ne", "dor", "vel", "sim", "tra",
    "cor", "lin", "bas", "gen", "fil", "mon", "pre", "sta", "tion", "ment", "ing", "er", "al", "ic",
]  # fmt: skip
REAL_WORDS = [
    "python", "function", "database", "error", "stream", "server", "token", "search", "index", "render",
    "table", "markdown", "async", "thread", "commit", "deploy", "kubernetes", "invoice", "holiday", "recipe",
    "pyrenees", "quokka", "budget", "contract", "migration", "schema", "latency", "benchmark", "terminal",
]  # fmt: skip


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    words = set(REAL_WORDS)
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Writer:
    """Zipf-like text from a fixed vocabulary, so some words are everywhere and some are rare."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.rng.shuffle(self.words)
        self.weights = [1.0 / (rank + 1) for rank in range(len(self.words))]
        self.cum_weights = list(itertools.accumulate(self.weights))
        """What `random.choices` makes of `weights` on every call (5,000 additions): made once, the
        same words come out, ~30x faster."""

    def text(self, count: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum_weights, k=count)
        return " ".join(words).capitalize() + "."


def make_conversation(
    cid: str, messages: int, writer: Writer, *, when: datetime = START, **fields: str
) -> Conversation:
    conv = Conversation(
        id=cid,
        title=writer.text(4),
        server=fields.get("server", "devic"),
        assistant_id=fields.get("assistant_id", "helper"),
        created_at=when,
        updated_at=when + timedelta(minutes=messages),
    )
    for i in range(messages):
        conv.messages.append(make_message(i, writer, when + timedelta(minutes=i)))
    return conv


def make_message(i: int, writer: Writer, when: datetime) -> StoredMessage:
    role = "user" if i % 2 == 0 else "assistant"
    return StoredMessage(
        id=f"m{i:06d}", role=role, content=writer.text(12 if role == "user" else 60), created_at=when
    )


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def p95(values_ms: list[float]) -> float:
    ordered = sorted(values_ms)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(values_ms: list[float]) -> str:
    return (
        f"median {statistics.median(values_ms):8.3f} ms   p95 {p95(values_ms):8.3f} ms   "
        f"worst {max(values_ms):8.3f} ms   (n={len(values_ms)})"
    )


def result(bench: str, figure: str, value: str, target: str, ok: bool | None) -> None:
    """One summary line in the tab-separated RESULT format bench/run_all.py collects."""
    verdict = "n/a" if ok is None else ("OK" if ok else "MISSED")
    print(f"RESULT\t{bench}\t{figure}\t{value}\t{target}\t{verdict}", flush=True)


# --- a large history, as the store writes it --------------------------------------------------------

SCALE_SEED = 100
SCALE_MESSAGES = 4
"""Messages per conversation of `history_of` (two questions, two answers)."""
SCALE_SERVERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("bench", "agent", ("long", "coder")),
    ("devic", "devic", ("helper", "writer")),
    ("devs", "devs", ("planner",)),
    ("openai", "openai", ("analyst",)),
)
"""(server, kind, assistants) of `history_of`'s conversations, taken in turn. Server "bench" with
assistant "long" is what `_common.bench_settings` configures, so startup.py can open the history."""
SCALE_TAGS = {11: "work", 97: "Travel", 1009: "receipts"}
"""Conversation n is tagged `tag` when n % key == 3: ~9 %, ~1 % and ~0.1 % of them, on every server."""
SCALE_ARCHIVED = 41
"""Conversation n is archived when n % SCALE_ARCHIVED == 17 (~2.4 %, on every server)."""
SCALE_STEP = timedelta(minutes=5)
"""Conversation n starts at START + n x SCALE_STEP (100,000 of them span ~1 year)."""
_SCALE_LAYOUT = 2
"""Bump when what `history_of` writes changes: cached histories are then written again."""


def scale_conversation(n: int, writer: Writer) -> Conversation:
    """Conversation n of `history_of`: SCALE_MESSAGES messages, its server and assistant in turn,
    some tagged and some archived; on servers that keep the chat, its remote id on every message
    (as a turn records it)."""
    server, kind, assistants = SCALE_SERVERS[n % len(SCALE_SERVERS)]
    assistant = assistants[(n // len(SCALE_SERVERS)) % len(assistants)]
    conv = make_conversation(
        f"c{n:06d}",
        SCALE_MESSAGES,
        writer,
        when=START + n * SCALE_STEP,
        server=server,
        assistant_id=assistant,
    )
    conv.assistant_name = assistant.capitalize()
    conv.tags = [tag for every, tag in SCALE_TAGS.items() if n % every == 3]
    conv.archived = n % SCALE_ARCHIVED == 17
    if kind != "openai":
        conv.remote_id = f"remote-{n:06d}"
        for message in conv.messages:
            message.remote_chat_id = conv.remote_id
    return conv


def write_history(
    home: Path,
    count: int,
    *,
    progress: bool = False,
    make: Callable[[int, Writer], Conversation] = scale_conversation,
) -> None:
    """`count` conversations (`make`: by default `scale_conversation`) into the data dir `home`:
    each snapshot holds the bytes `TranscriptStore.save` writes (`codecs.encode_snapshot`, file 0600
    in a 0700 folder, modified at the conversation's `updated_at`), without its per-file fsyncs and one index
    transaction per save; then the store, opened on the folder the way the app opens it, indexes
    every file itself (its sync of a missing index, in the order the files were written)."""
    from devic_tui.files import make_private_dir
    from devic_tui.store import codecs

    transcripts = home / "transcripts"
    make_private_dir(transcripts)
    writer = Writer(SCALE_SEED)
    started = time.perf_counter()
    for n in range(count):
        conv = make(n, writer)
        path = transcripts / codecs.snapshot_name(conv.id, "json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(codecs.encode_snapshot(conv, "json"))
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        stamp = int(conv.updated_at.timestamp()) * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))
        if progress and n % 10_000 == 9_999:
            print(f"  wrote {n + 1:,} files in {time.perf_counter() - started:.0f} s", flush=True)
    if progress:
        print(f"  wrote {count:,} files in {time.perf_counter() - started:.0f} s", flush=True)
    sync_index(home, progress=progress)  # here the store indexes every file


def sync_index(home: Path, *, progress: bool = False) -> None:
    """Open a store on the data dir `home` and let it bring its index in line with the files, as the
    app's first listing does: nothing to re-read when it is current, every file when it is missing
    or from an older INDEX_VERSION."""
    from devic_tui.store.transcripts import TranscriptStore

    started = time.perf_counter()
    store = TranscriptStore(home / "transcripts", "json")
    store.summaries(limit=1)
    store.close()
    if progress or store.notices:
        said = "".join(f" ({notice})" for notice in store.notices)
        print(f"  the store synced its index in {time.perf_counter() - started:.1f} s{said}", flush=True)


def history_of(count: int) -> Path:
    """The data dir (as `DEVIC_TUI_DATA_DIR`: `transcripts/` and `index.sqlite3` in it, the layout
    `_common.make_app` opens) of a history of `count` conversations (`scale_conversation`), written
    once into bench/results/history-scale-COUNT and reused. Its index is brought up to date here
    (rebuilt if an INDEX_VERSION bump made it stale), so a store opened on it next only checks the
    files (~1 s at 100,000)."""
    home = RESULTS / f"history-scale-{count}"
    done = home / f"complete-v{_SCALE_LAYOUT}"
    if done.exists():
        sync_index(home)
        return home
    shutil.rmtree(home, ignore_errors=True)
    print(f"Writing a history of {count:,} conversations into {home} (once) …", flush=True)
    started = time.perf_counter()
    write_history(home, count, progress=True)
    done.write_text(f"{count} conversations, built in {time.perf_counter() - started:.0f} s\n")
    return home
