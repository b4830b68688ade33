"""Run every bench in order, each in its own process, and print a summary table of figure vs target.

Run from the repository root: .venv/bin/python bench/run_all.py [--quick]
(`--quick` passes fewer runs to the long benches). bench/save.py and bench/search.py are run too when
they exist. Output is also written to bench/results/last-run.txt.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ORDER = [
    ("stream_mixed.py", ["--runs", "2"], ["--runs", "1"]),
    ("stream_fences.py", ["--runs", "3"], ["--runs", "1"]),
    ("keys_while_streaming.py", ["--runs", "2"], ["--runs", "1"]),
    ("several_chats.py", ["--runs", "2"], ["--runs", "1"]),
    ("stream_scale.py", ["--runs", "2"], ["--runs", "1"]),
    ("startup.py", ["--runs", "5"], ["--runs", "2"]),
    ("open_long.py", ["--runs", "3"], ["--runs", "1"]),
    ("rss_chats.py", [], []),
    ("blackbox.py", ["--runs", "3"], ["--runs", "1"]),
    ("save.py", [], []),
    ("search.py", [], []),
    ("history_scale.py", [], ["--repeats", "10"]),
    ("usage.py", [], ["--repeats", "10", "--runs", "5"]),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=BENCH_DIR.parent,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    header = f"bench run {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, commit {commit}"
    log: list[str] = [header]
    print(header, flush=True)
    rows: list[list[str]] = []
    for name, full, quick in ORDER:
        path = BENCH_DIR / name
        if not path.exists():
            print(f"== {name}: not present, skipped", flush=True)
            log.append(f"== {name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, str(path), *(quick if args.quick else full)],
            cwd=BENCH_DIR.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        output = process.stdout + (process.stderr if process.returncode else "")
        print(output, end="", flush=True)
        print(f"   ({elapsed:.0f} s, exit {process.returncode})", flush=True)
        log += [f"== {name}", output.rstrip(), f"   ({elapsed:.0f} s, exit {process.returncode})"]
        found = [line.split("\t")[1:] for line in process.stdout.splitlines() if line.startswith("RESULT\t")]
        rows += found or [[name, "(failed: no figures)", "", "", "MISS"]]
    widths = [
        max(len(row[i]) for row in [*rows, ["bench", "figure", "value", "target", "ok"]]) for i in range(5)
    ]
    lines = ["", "summary:"]
    for row in [["bench", "figure", "value", "target", "ok"], *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print("\n".join(lines))
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    (results / "last-run.txt").write_text("\n".join(log + lines) + "\n")


if __name__ == "__main__":
    main()
