"""A writer killed half way (SIGKILL, at whatever point it reached) leaves history readable, with
every message it had recorded as final."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devic_tui.store.transcripts import TranscriptStore

WRITER = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tests.unit.store_helpers import conversation, message
from devic_tui.store.transcripts import TranscriptStore

store = TranscriptStore(Path(sys.argv[1]), sys.argv[2])
try:
    conv = store.load("killed")
except Exception:
    conv = conversation("killed", 0)
i = len(conv.messages)
while True:
    user = message(i, "question %d " % i + "x" * (i % 7) * 20_000)
    conv.messages.append(user)
    store.save_message(conv, user, final=True)
    print(user.id, flush=True)
    answer = message(i + 1, "", role="assistant", status="streaming")
    conv.messages.append(answer)
    for part in range(3):
        answer.content += "chunk %d " % part * 500
        store.save_message(conv, answer)
    answer.status = "complete"
    store.save_message(conv, answer, final=True)
    print(answer.id, flush=True)
    if i % 5 == 0:
        store.save(conv)
    if i % 11 == 0:
        store.compact("killed")
    i += 2
"""


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_sigkill_mid_write_leaves_a_readable_history(tmp_path: Path, fmt: str) -> None:
    directory = tmp_path / "transcripts"
    root = str(Path(__file__).resolve().parents[2])
    recorded: list[str] = []
    for stop_after in (5, 17, 31):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), fmt, root],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": root},
        )
        assert process.stdout is not None
        seen = 0
        while seen < stop_after:
            line = process.stdout.readline()
            assert line, "the writer stopped early"
            recorded.append(line.strip())
            seen += 1
        time.sleep(0.002 * stop_after % 0.03)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # whatever it printed after our last read but before the kill was recorded too
        recorded.extend(extra.strip() for extra in process.stdout.read().splitlines() if extra.strip())
        store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
        loaded = store.load("killed")
        ids = {m.id for m in loaded.messages}
        assert set(recorded) <= ids
        assert all(m.status == "complete" for m in loaded.messages if m.id in recorded)
        assert store.notices == []
        assert store.summaries()[0].id == "killed"
        store.close()
    leftovers = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
