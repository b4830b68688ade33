"""A writer killed half way (SIGKILL, at whatever point it reached) leaves history readable, with
every message it had recorded as final."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devic_tui.branches import ConversationTree
from devic_tui.store import codecs
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.turn import SAVE_INTERVAL
from tests.unit.store_helpers import conversation, message

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


BRANCH_ANSWER = r"""
import asyncio
import sys
import time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from devic_tui.branches import branch_plan
from devic_tui.config import ServerConfig
from devic_tui.providers.base import Capabilities, Provider
from devic_tui.providers.events import TextDelta
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.turn import Turn


class Endless(Provider):
    kind = "endless"
    capabilities = Capabilities(streams=True, server_history=True)

    async def send(self, request):
        print("chat", request.conversation_id, request.carry_history, flush=True)
        i = 0
        while True:
            await asyncio.sleep(0.02)
            yield TextDelta(text="word%d " % i)
            i += 1


async def main():
    store = TranscriptStore(Path(sys.argv[1]), sys.argv[2])
    conv = store.load("tree")
    provider = Endless(ServerConfig(name="endless", kind="openai"), None)
    turn = Turn(provider, store, conv, "more on the second branch", [], plan=branch_plan(conv, sys.argv[4]))
    await turn.begin()
    print("begun", turn.user.id, turn.answer.id, flush=True)
    async for event in turn.events():
        if isinstance(event, TextDelta):
            print("text", time.monotonic(), repr(event.text), flush=True)


asyncio.run(main())
"""


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_sigkill_mid_answer_on_a_branch_keeps_every_branch(tmp_path: Path, fmt: str) -> None:
    """A conversation with two branches (in server chats X and Y); a writer answers on the second,
    which is not on screen, and is killed mid-answer: the first branch and the messages before the
    answer are the same, byte for byte; the answer holds its text up to at most the last ~second."""
    directory = tmp_path / "transcripts"
    conv = conversation("tree", 0)
    roles = ["user", "assistant"] * 3
    first = [(0, None), (1, "m00000"), (2, "m00001"), (3, "m00002")]  # m0 m1 m2 m3, chat X
    second = [(4, "m00001"), (5, "m00004")]  # m4 (an edit of m2) m5, chat Y
    for index, parent in first + second:
        chat = "X" if index < 4 else "Y"
        content = f"message {index} 🦜 " + "x" * 3000 * index
        role = roles[index % 2]
        conv.messages.append(message(index, content, role=role, parent_id=parent, remote_chat_id=chat))
    conv.messages[0].parent_id = ""
    conv.shown_id = "m00003"  # the first branch is on screen
    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    store.save(conv)
    store.close()
    before = {m.id: json.dumps(codecs.message_plain(m), ensure_ascii=False) for m in conv.messages}

    root = str(Path(__file__).resolve().parents[2])
    process = subprocess.Popen(
        [sys.executable, "-c", BRANCH_ANSWER, str(directory), fmt, root, "m00005"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert process.stdout is not None
    try:
        head = [process.stdout.readline(), process.stdout.readline()]
        assert head[0].startswith("begun"), head
        _, user_id, answer_id = head[0].split()
        assert head[1].split() == ["chat", "Y", "False"]  # the branch continues its own chat
        started = time.monotonic()
        lines: list[str] = []
        while time.monotonic() - started < 2.6:
            lines.append(process.stdout.readline())
            assert lines[-1], "the writer stopped early"
        killed = time.monotonic()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        lines += process.stdout.read().splitlines()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    printed = [(float(when), ast.literal_eval(text)) for _, when, text in (x.split(" ", 2) for x in lines)]

    reopened = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    loaded = reopened.load("tree")
    assert reopened.notices == []
    assert [m.id for m in loaded.messages] == [*before, user_id, answer_id]
    for item in loaded.messages[:6]:
        assert json.dumps(codecs.message_plain(item), ensure_ascii=False) == before[item.id]
    user, answer = loaded.messages[6:]
    assert (user.parent_id, user.remote_chat_id, user.content) == ("m00005", "Y", "more on the second branch")
    assert (answer.parent_id, answer.remote_chat_id, answer.status) == (user.id, "Y", "streaming")
    assert loaded.shown_id == answer.id
    tree = ConversationTree(loaded)
    assert tree.leaves() == ["m00003", answer.id]
    assert [m.id for m in tree.shown_path()] == ["m00000", "m00001", "m00004", "m00005", user.id, answer.id]

    streamed = "".join(text for _, text in printed)
    assert streamed.startswith(answer.content)  # nothing but what was streamed, in order
    # saved at least every SAVE_INTERVAL while it streams: what was streamed up to a little more
    # than that before the kill is on disk
    due = "".join(text for when, text in printed if when <= killed - SAVE_INTERVAL - 0.6)
    assert due
    assert answer.content.startswith(due), (len(due), len(answer.content), len(streamed))

    reopened.compact("tree")  # the store that holds the lock folds it: still the same tree
    assert reopened.load("tree") == loaded
    reopened.close()
