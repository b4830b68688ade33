"""Helpers for the history benchmarks (save.py, search.py): timing summaries, RESULT lines in the
format `run_all.py` collects, and deterministic conversations. No Textual import."""

from __future__ import annotations

import random
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

    def text(self, count: int) -> str:
        words = self.rng.choices(self.words, weights=self.weights, k=count)
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
