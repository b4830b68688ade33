"""What the command line prints: exit codes, one-line errors on standard error (always redacted),
JSON, plain tables, and answers as raw text (piped) or Markdown rendered by rich (a terminal).

rich is imported only when standard output is a terminal, so piped use stays quick to start.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from devic_tui.errors import DevicTuiError
from devic_tui.providers.errors import (
    AuthError,
    FileRejectedError,
    InsecureURLError,
    MissingTokenError,
    ProviderError,
)
from devic_tui.redact import redact

EXIT_OK = 0
EXIT_SERVER = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_INTERRUPTED = 130

PROG = "devic-tui"


class CliError(DevicTuiError):
    """A failure to report as one line on standard error, ending the command with `code`."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def one_line(text: str) -> str:
    """Redacted, and folded onto one line (a multi-line config error becomes `first: a; b`)."""
    lines = [line.strip() for line in redact(text).splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    head, rest = lines[0], lines[1:]
    return f"{head} {'; '.join(rest)}" if rest else head


def error(message: str) -> None:
    print(f"{PROG}: {one_line(message)}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    print(f"{PROG}: {redact(message)}", file=sys.stderr, flush=True)


def exit_code_for(problem: ProviderError) -> int:
    """3 for a refused or missing token, 2 for a refused URL or file, 1 for anything the server did."""
    if isinstance(problem, AuthError | MissingTokenError):
        return EXIT_AUTH
    if isinstance(problem, InsecureURLError | FileRejectedError):
        return EXIT_USAGE
    return EXIT_SERVER


def provider_failure(problem: ProviderError) -> CliError:
    return CliError(str(problem), exit_code_for(problem))


def silence_stdout() -> None:
    """The reader of standard output went away (`| head`): send the rest to /dev/null, so neither
    later writes nor the flush at exit raise BrokenPipeError."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def print_json(value: Any, file: TextIO | None = None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    print(redact(text), file=file or sys.stdout, flush=True)


def when(stamp: datetime | None) -> str:
    """A timestamp in local time, to the minute."""
    return stamp.astimezone().strftime("%Y-%m-%d %H:%M") if stamp else ""


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Left-aligned columns; the last one is not padded (titles may be long)."""
    all_rows = [list(headers), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers) - 1)]
    lines = []
    for row in all_rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def print_markdown(text: str, file: TextIO | None = None) -> None:
    """Rendered when `file` is a terminal, the raw text otherwise."""
    out = file or sys.stdout
    if not is_terminal(out):
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console(file=out).print(Markdown(text))


def _split_point(text: str) -> int:
    """The end of the last blank line outside a code fence (0 if none): text before it is whole blocks."""
    fence = ""
    cut = 0
    position = 0
    lines = text.split("\n")
    for line in lines[:-1]:  # the last piece has no newline yet
        position += len(line) + 1
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence) and not stripped[len(fence) :].strip("`~"):
                fence = ""
        elif stripped.startswith(("```", "~~~")):
            marker = stripped[0]
            fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
        elif not stripped:
            cut = position
    return cut


class AnswerWriter:
    """Writes an answer as it arrives: raw text to a pipe, or, on a terminal, each finished Markdown
    block (up to a blank line outside code) rendered by rich, and the rest when the answer ends."""

    def __init__(self, out: TextIO, *, enabled: bool = True, render: bool | None = None) -> None:
        self.out = out
        self.enabled = enabled
        self.render = is_terminal(out) if render is None else render
        self.written = ""
        self._pending = ""
        self._blocks = 0
        self._after_heading = False

    def sync(self, content: str) -> None:
        """Show whatever `content` (the answer so far) adds to what was already shown."""
        if not self.enabled:
            return
        if content.startswith(self.written):
            added = content[len(self.written) :]
        elif not self.written:
            added = content
        else:
            return  # the server replaced the answer at the end; what was shown stays
        if not added:
            return
        self.written += added
        if not self.render:
            self.out.write(added)
            self.out.flush()
            return
        self._pending += added
        cut = _split_point(self._pending)
        if cut:
            self._render(self._pending[:cut])
            self._pending = self._pending[cut:]

    def finish(self) -> None:
        if not self.enabled:
            return
        if self.render:
            self._render(self._pending)
            self._pending = ""
        elif self.written and not self.written.endswith("\n"):
            self.out.write("\n")
            self.out.flush()

    def _render(self, block: str) -> None:
        if not block.strip():
            return
        from rich.console import Console
        from rich.markdown import Markdown

        console = Console(file=self.out)
        block = block.strip("\n")
        if self._blocks and not self._after_heading:  # rich already spaces out headings
            console.print()
        console.print(Markdown(block))
        self._blocks += 1
        self._after_heading = block.startswith("#")
        self.out.flush()
