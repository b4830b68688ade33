"""What the command line prints: exit codes, one-line errors on standard error (always redacted),
JSON, plain tables, and answers as raw text (piped) or Markdown rendered by rich (a terminal).

Nothing a server or a file sent acts on the terminal: while a command runs, standard output and
standard error are `SafeStream`s, which show every control character (escape sequences, bells,
title changes, OSC 52) as a visible stand-in, on a terminal or a pipe alike. `--raw` (ask, show,
export) leaves standard output byte-exact for scripts that want it. rich draws its own styling, so
it writes to the stream beneath, and is given text that `visible` has already made harmless; it is
never given server text as markup. rich is imported only when standard output is a terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO, cast

from devic_tui.errors import DevicTuiError
from devic_tui.redact import redact
from devic_tui.text_safety import visible

if TYPE_CHECKING:
    from devic_tui.providers.errors import ProviderError

EXIT_OK = 0
EXIT_SERVER = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_INTERRUPTED = 130

PROG = "devic-tui"
RAW_HELP = (
    "write the text byte for byte, control characters included, unrendered "
    "(by default they show as visible symbols so no text can act on your terminal)"
)


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
    """3 for a refused or missing token, 2 for a refused URL, file or proxy/TLS setting, 1 for
    anything the server (or the network) did."""
    from devic_tui.providers.errors import (
        AuthError,
        FileRejectedError,
        InsecureURLError,
        MissingTokenError,
        NetworkSetupError,
    )

    if isinstance(problem, AuthError | MissingTokenError):
        return EXIT_AUTH
    if isinstance(problem, InsecureURLError | FileRejectedError | NetworkSetupError):
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


def table(
    rows: Sequence[Sequence[str] | None], headers: Sequence[str], *, numbers_from: int | None = None
) -> str:
    """Columns two spaces apart, left-aligned, the last one not padded (titles may be long); with
    `numbers_from`, that column and those after it right-aligned (numbers). A None row is a blank
    line."""
    present = [headers, *(row for row in rows if row is not None)]
    last = len(headers) - 1
    widths = [max(len(row[i]) for row in present) for i in range(len(headers))]

    def aligned(i: int, cell: str) -> str:
        if numbers_from is not None and i >= numbers_from:
            return cell.rjust(widths[i])
        return cell if i == last else cell.ljust(widths[i])

    lines = []
    for row in [headers, *rows]:
        cells = [] if row is None else [aligned(i, cell) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class SafeStream:
    """A text stream that writes control characters as visible stand-ins (`text_safety.visible`).
    Only text goes through it: it offers no `buffer` to write bytes around it."""

    def __init__(self, beneath: TextIO) -> None:
        self.beneath = beneath
        self.encoding: str = getattr(beneath, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        self.beneath.write(visible(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.beneath.flush()

    def isatty(self) -> bool:
        return is_terminal(self.beneath)

    def fileno(self) -> int:
        return self.beneath.fileno()


def beneath(stream: TextIO) -> TextIO:
    """The stream a `SafeStream` writes to (for rich, whose own styling must pass), else `stream`."""
    return stream.beneath if isinstance(stream, SafeStream) else stream


@contextlib.contextmanager
def safe_output(*, raw_stdout: bool = False) -> Iterator[None]:
    """While a command runs, nothing it prints can act on the terminal: standard error always, and
    standard output unless `raw_stdout` (`--raw`: byte-exact output for scripts)."""
    saved = sys.stdout, sys.stderr
    if not raw_stdout:
        sys.stdout = cast(TextIO, SafeStream(sys.stdout))
    sys.stderr = cast(TextIO, SafeStream(sys.stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def print_markdown(text: str, file: TextIO | None = None, *, raw: bool = False) -> None:
    """Rendered when `file` is a terminal (unless `raw`), the text as it is otherwise."""
    out = file or sys.stdout
    if raw or not is_terminal(out):
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console(file=beneath(out)).print(Markdown(visible(text)))


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

        console = Console(file=beneath(self.out))
        block = visible(block.strip("\n"))
        if self._blocks and not self._after_heading:  # rich already spaces out headings
            console.print()
        console.print(Markdown(block))
        self._blocks += 1
        self._after_heading = block.startswith("#")
        self.out.flush()
