"""A tiny paced SSE server in the agent API's shape, for the streaming benches.

`POST /v1/api/chat/{slug}` answers `data: {"chunk": "..."}` events then `data: [DONE]`, sending
chunk i at exactly `start + i / rate` seconds (every chunk that is due is written at each wake-up, so
the schedule never drifts even when a sleep oversleeps). The emulator's `asyncio.sleep(delay)` after
each chunk drifts (each sleep overshoots), so it cannot hold 2,000 chunks/s; this server can.

Run as a separate process so that it does not share the GIL with the app being measured:
`python bench/_paced_server.py --text long --chunk-size 4 --rate 2000` prints its port on stdout.
Texts come from the emulator's scripts (`long_answer()`, `fences_answer()`; `long1m`: `long_answer()`
repeated to ~1 MB), so they are deterministic;
`--chars N` cuts the text at its last paragraph break before N characters. Each request gets its own
stream on its own schedule (several chats can stream from one server at once), and its own
conversation id.

`--report FILE` (optional; used by bench/blackbox.py) appends one line per finished stream:
`time.monotonic()` of the first and of the last chunk's write, and the number of chunks (CLOCK_MONOTONIC
is shared by every process on Linux, so another process can compare its own clock with them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from devic_tui.emulator.scripts import chunked, fences_answer, long_answer


def fences_13k(blocks: int = 125) -> str:
    """The issue's stream-fences payload: ~13.5 KB with 125 small code blocks. The emulator's
    `fences_answer()` has the 125 blocks but only ~7 KB, so each block here gets one more code line
    and a sentence of prose; deterministic."""
    parts = []
    for i in range(1, blocks + 1):
        parts.append(
            f"Step {i}: scale the input by {i % 7}; check.\n\n```python\n"
            f"value_{i} = compute({i}, scale={i % 7})\nassert value_{i} >= 0\n```\n"
        )
    return "\n".join(parts)


def sse(payload: object) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def cut(text: str, chars: int) -> str:
    """`text` up to its last paragraph break before `chars` characters (all of it when 0)."""
    if not chars or len(text) <= chars:
        return text
    return text[: text.rfind("\n\n", 0, chars) + 2]


def long_1m(chars: int = 1_000_000) -> str:
    """~1 MB of mixed Markdown for stream-scale: `long_answer()` (~80 KB) repeated, each copy after a
    numbered heading (`# Part N`), cut at the last paragraph break before `chars`; deterministic."""
    answer = long_answer()
    parts: list[str] = []
    size = 0
    while size < chars:
        part = f"# Part {len(parts) + 1}\n\n{answer}"
        parts.append(part)
        size += len(part) + 1
    return cut("\n".join(parts), chars)


TEXTS = {"long": long_answer, "fences": fences_answer, "fences13k": fences_13k, "long1m": long_1m}


class Paced:
    def __init__(self, text: str, chunk_size: int, rate: float, report: str | None = None) -> None:
        self.events = [sse({"chunk": piece}) for piece in chunked(text, chunk_size)]
        self.rate = rate
        self.served = 0
        self.report = report

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"cache-control: no-cache\r\nconnection: close\r\n\r\n"
            )
            await writer.drain()
            self.served += 1
            await self.stream(writer, f"bench-conversation-{self.served}")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def stream(self, writer: asyncio.StreamWriter, conversation_id: str) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        total = len(self.events)
        first = last = 0.0
        while sent < total:
            due = min(total, int((loop.time() - start) * self.rate) + 1)
            if due > sent:
                writer.write(b"".join(self.events[sent:due]))
                last = time.monotonic()
                first = first or last
                sent = due
                await writer.drain()
            await asyncio.sleep(max(0.0, start + sent / self.rate - loop.time()))
        writer.write(sse({"conversationId": conversation_id}) + sse("[DONE]"))
        await writer.drain()
        if self.report:
            with open(self.report, "a") as out:  # noqa: ASYNC230 (one short line, after the stream)
                out.write(f"{first:.6f} {last:.6f} {total}\n")


@contextlib.contextmanager
def paced_server(
    text: str, chunk_size: int, rate: float, chars: int = 0, report: Path | None = None
) -> Iterator[int]:
    """Start this server in its own process; yield its port; stop it afterwards. `rate` is per
    stream (each request is paced on its own); `chars` cuts the text (0: whole); `report`: see above."""
    here = Path(__file__).resolve()
    arguments = ["--text", text, "--chunk-size", str(chunk_size), "--rate", str(rate), "--chars", str(chars)]
    if report is not None:
        arguments += ["--report", str(report)]
    process = subprocess.Popen(
        [sys.executable, str(here), *arguments], stdout=subprocess.PIPE, text=True, cwd=here.parent.parent
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--text", choices=sorted(TEXTS), default="long")
    parser.add_argument("--chunk-size", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2000.0, help="chunks per second")
    parser.add_argument("--chars", type=int, default=0, help="cut the text to about this many characters")
    parser.add_argument("--report", help="append each stream's first/last chunk time (monotonic) here")
    args = parser.parse_args()
    paced = Paced(cut(TEXTS[args.text](), args.chars), args.chunk_size, args.rate, args.report)
    server = await asyncio.start_server(paced.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
