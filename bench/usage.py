"""usage: `devic-tui usage` over a history of 10,000 conversations whose answers carry token usage.

The history is `_history.scale_conversation`'s (4 servers, 6 assistants, 4 messages a chat, one
every 5 minutes: ~35 days) with usage on each answer (input, output, cached on a third of them, a
model on most), written once into bench/results/usage-COUNT by `_history.write_history` (the bytes
`TranscriptStore.save` writes; then the store indexes every file itself) and reused. The config
prices one model (`gpt-4o`) and one assistant (Devic's `helper`), so the ledger has a cost. Timed, warm:

- the service call: `ChatService.usage()` on a store whose index is open (what the app would pay);
  with `since` (the history's last week) and with `server`;
- the whole command in this process: `devic_tui.cli.main(["--config", F, "usage"])`, each run a new
  store (index opened, the directory of 10,000 files checked against it), output to memory;

and, cold, the whole command as a person runs it: `python -m devic_tui usage` in a fresh process,
beside `python -m devic_tui --version` (the interpreter and the command line starting) in the same
run. Figures are median and p95. Target: the service call p95 <= 100 ms.

    .venv/bin/python bench/usage.py [--count 10000] [--repeats 30] [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._history import (
    RESULTS,
    SCALE_STEP,
    START,
    Writer,
    p95,
    result,
    scale_conversation,
    sync_index,
    write_history,
)
from devic_tui import locations
from devic_tui.models import Usage
from devic_tui.records import Conversation

BENCH = "usage"
TARGET_MS = 100.0
_LAYOUT = 1
"""Bump when what `usage_conversation` writes changes: the cached history is then written again."""
MODELS = {"bench": "claude-bench", "devic": None, "devs": "devs-model", "openai": "gpt-4o"}
"""The model each server's answers name (Devic's none: priced by the assistant id)."""
CONFIG = """\
[prices.gpt-4o]
input = 2.5
output = 10
cached_input = 1.25

[prices.helper]
input = 1
output = 4
"""


def usage_conversation(n: int, writer: Writer) -> Conversation:
    """`scale_conversation(n)` with usage (and, but on Devic, a model) on each answer."""
    conv = scale_conversation(n, writer)
    model = MODELS[conv.server]
    for i, message in enumerate(conv.messages):
        if message.role != "assistant":
            continue
        seed = n * 7 + i
        prompt = 200 + seed * 37 % 3000
        message.usage = Usage(
            input_tokens=prompt,
            output_tokens=50 + seed * 53 % 800,
            cached_tokens=prompt // 2 if seed % 3 == 0 else None,
        )
        if model is not None:
            message.metadata["model"] = model
    return conv


def usage_history(count: int) -> Path:
    """The data dir of `count` conversations with usage, written once and reused (its index brought
    up to date: rebuilt if an INDEX_VERSION bump made it stale)."""
    home = RESULTS / f"usage-{count}"
    done = home / f"complete-v{_LAYOUT}"
    if done.exists():
        sync_index(home, progress=True)
        return home
    shutil.rmtree(home, ignore_errors=True)
    print(f"Writing a history of {count:,} conversations with usage into {home} (once) …", flush=True)
    started = time.perf_counter()
    write_history(home, count, progress=True, make=usage_conversation)
    done.write_text(f"{count} conversations, built in {time.perf_counter() - started:.0f} s\n")
    return home


def figures(values: list[float]) -> str:
    return f"median {statistics.median(values):7.1f} ms   p95 {p95(values):7.1f} ms   (n={len(values)})"


def timed_runs(action: Callable[[], object], repeats: int) -> list[float]:
    action()  # warm-up
    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        found.append((time.perf_counter() - started) * 1000)
    return found


def service_calls(config: Path, since: date, repeats: int) -> dict[str, list[float]]:
    from devic_tui.config import settings_for
    from devic_tui.service import ChatService

    settings, _ = settings_for(config)
    service = ChatService(settings)
    loop = asyncio.new_event_loop()
    try:
        ledger = loop.run_until_complete(service.usage())
        print(
            f"  the ledger: {len(ledger.rows)} rows, {ledger.listed.answers:,} answers, "
            f"{ledger.listed.total_tokens:,} tokens, cost {ledger.listed.cost:,.2f}",
            flush=True,
        )
        cases = {
            "ChatService.usage()": lambda: loop.run_until_complete(service.usage()),
            f"ChatService.usage(since={since})": lambda: loop.run_until_complete(service.usage(since=since)),
            "ChatService.usage(server='openai')": lambda: loop.run_until_complete(
                service.usage(server="openai")
            ),
        }
        return {name: timed_runs(action, repeats) for name, action in cases.items()}
    finally:
        loop.run_until_complete(service.aclose())
        loop.close()


def command_in_process(config: Path, repeats: int) -> list[float]:
    from devic_tui.cli import main

    def run() -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(config), "usage"])
        assert code == 0, out.getvalue()
        assert "this month" in out.getvalue(), out.getvalue()

    return timed_runs(run, repeats)


def command_processes(config: Path, runs: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    found: dict[str, list[float]] = {}
    for name, args in (("--version", ["--version"]), ("usage", ["--config", str(config), "usage"])):

        def run(args: list[str] = args) -> None:
            done = subprocess.run(
                [sys.executable, "-m", "devic_tui", *args],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            assert done.returncode == 0, done.stderr

        found[name] = timed_runs(run, runs)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=30, help="runs of each in-process figure")
    parser.add_argument("--runs", type=int, default=10, help="fresh processes of the whole command")
    args = parser.parse_args()
    home = usage_history(args.count)
    last = (START + (args.count - 1) * SCALE_STEP).date()
    since = last - timedelta(days=6)
    with tempfile.TemporaryDirectory() as scratch:
        # Nothing of the person's own: the config, logs and state go to a scratch folder.
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[var] = str(Path(scratch) / var.lower())
        os.environ[locations.DATA_DIR_ENV] = str(home)
        config = Path(scratch) / "config.toml"
        config.write_text(CONFIG, encoding="utf-8")
        config.chmod(0o600)
        print(f"\n{args.count:,} conversations ({args.count * 2:,} answers), {home}")
        calls = service_calls(config, since, args.repeats)
        for name, values in calls.items():
            print(f"  {name:<44} {figures(values)}")
        whole = command_in_process(config, args.repeats)
        print(f"  {'devic-tui usage, in this process':<44} {figures(whole)}")
        processes = command_processes(config, args.runs)
        for name, values in processes.items():
            print(f"  {'python -m devic_tui ' + name + ', a new process':<44} {figures(values)}")
    service = calls["ChatService.usage()"]
    ok = p95(service) <= TARGET_MS
    result(
        BENCH,
        f"ChatService.usage() at {args.count:,} chats, median / p95",
        f"{statistics.median(service):.1f} / {p95(service):.1f} ms",
        f"p95 <= {TARGET_MS:.0f} ms",
        ok,
    )
    result(
        BENCH,
        "devic-tui usage, in process, median / p95",
        f"{statistics.median(whole):.0f} / {p95(whole):.0f} ms",
        "",
        None,
    )
    usage, floor = processes["usage"], processes["--version"]
    result(
        BENCH,
        "devic-tui usage, new process, median / p95",
        f"{statistics.median(usage):.0f} / {p95(usage):.0f} ms (--version {statistics.median(floor):.0f} ms)",
        "",
        None,
    )


if __name__ == "__main__":
    main()
