"""Markdown drawn a line at a time: the body of an answer, streaming or finished.

Rich's Markdown renders a document as its top-level blocks one after another, with one blank line
between them (none after a horizontal rule), and each block renders the same whether alone or in
the whole document. So a message is kept as its top-level blocks, laid out at the width shown
(`BlockLayout`: each block's height and first line), and drawn a line at a time: Textual asks for
the lines on screen, and only the blocks those lines fall in are rendered. The lines of the blocks
drawn lately are kept (`KEPT_LINES`); a block scrolled back to is rendered again. So a frame costs
the lines on screen, a long answer holds a few hundred lines of rendered text however long it is,
and the garbage collector has few objects to walk (a 1 MB answer held whole was ~270,000 of them,
and full collections of 400-650 ms while it streamed).

While an answer streams, only its open last block is parsed and rendered again, at most once per
frame however many chunks arrived; finished blocks are sealed and never parsed again. When the
answer ends, the open block is sealed too: the finished message is the same widget, and its lines
are those of one render of the whole text. The text lives in the model (the turn's record, the
stored message), not here.

Why not Textual's `MarkdownStream`: on an 81 KB answer it needs ~19 s on our machines, rebuilds
whole lists per append and mounts ~80 widgets per 4 KB (shared/research/STREAMING.md).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable

from markdown_it import MarkdownIt
from rich.console import Console, ConsoleOptions
from rich.markdown import Markdown as RichMarkdown
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from devic_tui.text_safety import visible
from devic_tui.widgets.typing_clock import TYPING

FRAME_SECONDS = 1 / 60
"""The answer being written catches up with its source at most this often (a 60 Hz frame; at 1/30
a 3,000 chunks/s answer was on screen up to 100 ms after the network, at 1/60 up to ~65 ms)."""
KEY_QUIET = 0.04
"""After a key, the answer waits this long before it moves again, so the key's frame paints the key
alone (cheap) instead of the key and the answer's new lines (the most expensive kind of frame)…"""
MOST_DEFERRED = 0.1
"""…but never more than this after it was last drawn, however fast the person types."""
KEPT_LINES = 400
"""Rendered lines a message keeps (about ten screens; more when one block is longer)."""
RUN_CHARS = 4000
"""A finished message is laid out in runs of blocks of about this size (most messages are one run)."""
CODE_THEME = "monokai"
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")

Render = Callable[[str], list[Strip]]
"""One block of Markdown to its lines (at the width of the layout that calls it)."""


def is_rule(block: str) -> bool:
    """Whether a block is a horizontal rule, after which Rich puts no blank line."""
    return bool(_RULE.match(block.strip("\n")))


@functools.cache
def markdown_parser() -> MarkdownIt:
    """The one parser, with the rules Rich's Markdown parses with (so block boundaries agree with its
    rendering). Parsing keeps no state in the parser, so one serves every document."""
    return MarkdownIt().enable("strikethrough").enable("table")


class SharedParserMarkdown(RichMarkdown):
    """Rich's Markdown, parsed by the one shared parser. Rich's own `__init__` builds a parser with
    its link finder for every document: ~0.3 ms and a few hundred KB of patterns each, which is most
    of rendering one block. This sets what that `__init__` sets (a test checks the two agree)."""

    def __init__(self, markup: str) -> None:  # Rich's __init__ is not called: it would parse again
        self.markup = markup
        self.parsed = markdown_parser().parse(markup)
        self.code_theme = CODE_THEME
        self.justify = None
        self.style = "none"
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = CODE_THEME


def render_markdown(text: str) -> RichMarkdown:
    """Rich's Markdown as the app configures it (links shown, never made clickable)."""
    return SharedParserMarkdown(visible(text) or " ")


def split_blocks(text: str) -> tuple[list[str], str]:
    """The finished top-level blocks of `text`, and the open last one (which may still grow).

    Every top-level block but the last is finished: Markdown cannot change a block once another
    top-level block has begun after it.
    """
    tokens = markdown_parser().parse(text)
    starts = [t.map[0] for t in tokens if t.level == 0 and t.map is not None and t.nesting >= 0]
    if not starts:
        return [], text
    lines = text.split("\n")
    finished = ["\n".join(lines[start:end]) for start, end in itertools.pairwise(starts)]
    return [b for b in finished if b.strip()], "\n".join(lines[starts[-1] :])


def all_blocks(text: str) -> list[str]:
    finished, last = split_blocks(text)
    return [*finished, last] if last.strip() else finished


def runs_of_blocks(blocks: list[str], chars: int) -> list[str]:
    """Consecutive blocks joined into runs of about `chars`, each rendered as one document (which
    draws what its blocks draw one by one, and costs one render instead of many). A run never
    ends with a horizontal rule, so `is_rule` still tells what follows a run."""
    runs: list[str] = []
    current: list[str] = []
    size = 0
    for block in blocks:
        current.append(block)
        size += len(block)
        if size >= chars and not is_rule(block):
            runs.append("\n".join(current))
            current, size = [], 0
    if current:
        runs.append("\n".join(current))
    return runs


def plain_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def blank_line_between(before: str | None, lines: list[Strip]) -> bool:
    """Whether Rich puts a blank line before a block rendered to `lines`, after the block `before`
    (containers such as lists and tables bring their own)."""
    return before is not None and not is_rule(before) and not (lines and not lines[0].text)


def block_renderer(console: Console, options: ConsoleOptions, width: int) -> Render:
    """Blocks to lines at `width`, rendered as the app's console renders."""
    at_width = options.update(width=width, height=None, highlight=False)

    def render(block: str) -> list[Strip]:
        return [Strip(line) for line in console.render_lines(render_markdown(block), at_width, pad=False)]

    return render


class BlockLayout:
    """A list of blocks laid out at one width: where each block's lines start, and the lines of the
    blocks drawn lately. Blocks are only ever added at the end of the list it was given."""

    def __init__(self, blocks: list[str], width: int, render: Render) -> None:
        self.blocks = blocks
        self.width = width
        self.render = render
        self._starts: list[int] = []
        """First line of each block (of the blank line before it, when it has one)."""
        self._blank_before: list[bool] = []
        self.height = 0
        self._kept: OrderedDict[int, list[Strip]] = OrderedDict()
        self._kept_lines = 0

    @property
    def kept_lines(self) -> int:
        """How many rendered lines are kept now."""
        return self._kept_lines

    def catch_up(self) -> None:
        """Lay out the blocks added since the last call (each is rendered once to learn its height)."""
        for index in range(len(self._starts), len(self.blocks)):
            lines = self.render(self.blocks[index])
            blank = blank_line_between(self.blocks[index - 1] if index else None, lines)
            self._starts.append(self.height)
            self._blank_before.append(blank)
            self.height += blank + len(lines)
            self._keep(index, lines)

    def line(self, y: int) -> Strip:
        index = bisect.bisect_right(self._starts, y) - 1
        offset = y - self._starts[index] - self._blank_before[index]
        if offset < 0:
            return Strip.blank(0)
        lines = self._kept.get(index)
        if lines is None:
            lines = self.render(self.blocks[index])
            self._keep(index, lines)
        else:
            self._kept.move_to_end(index)
        return lines[offset] if offset < len(lines) else Strip.blank(0)

    def _keep(self, index: int, lines: list[Strip]) -> None:
        self._kept[index] = lines
        self._kept_lines += len(lines)
        while self._kept_lines > KEPT_LINES and len(self._kept) > 1:
            _, dropped = self._kept.popitem(last=False)
            self._kept_lines -= len(dropped)


class MarkdownBody(Widget):
    """An answer's body, drawn a line at a time from its blocks (`BlockLayout`) and, while it is
    being written, the open last block's lines.

    Given a `source` (the turn's record of the answer: the one copy of the text), it streams: when
    poked it reads the source, at most once per frame, taking only what was added since the last
    look, until `finish`. Text is only ever appended while an answer streams; whether the final text
    is still what was read (a server may send the whole answer again at the end) is told by a
    running checksum, so no second copy of the text is kept here."""

    DEFAULT_CSS = """
    MarkdownBody { height: auto; }
    """

    def __init__(
        self, text: str = "", *, source: Callable[[], str] | None = None, classes: str | None = None
    ) -> None:
        super().__init__(classes=classes)
        self._source = source
        self.blocks: list[str] = [] if source is not None else self._runs(text)
        """The sealed blocks in order (a finished message's: runs of them, `runs_of_blocks`)."""
        self._open = ""
        self._timer: Timer | None = None
        self._layout: BlockLayout | None = None
        self._other_layout: BlockLayout | None = None
        """The layout at the width asked for before (kept: Textual may ask for it again)."""
        self._tail: list[Strip] = []
        """The open block's lines at the layout's width (with the blank line before it)."""
        self.received_chars = 0 if source is not None else len(text)
        """How much of the text was read (and is on screen after the flush)."""
        self._checksum = 0
        self._drawn_at = 0.0

    @property
    def streaming(self) -> bool:
        return self._source is not None

    def reads(self, text: str) -> bool:
        """Whether `text` is exactly what this widget read from its source and rendered."""
        return len(text) == self.received_chars and zlib.crc32(text.encode("utf-8", "surrogatepass")) == (
            self._checksum
        )

    def show(self, text: str) -> None:
        """Show `text` instead (a finished message whose text changed); streaming stops."""
        self._stop_timer()
        self._source = None
        self.blocks, self._open, self._tail = self._runs(text), "", []
        self._layout = self._other_layout = None
        self.received_chars = len(text)
        self.refresh(layout=True)

    @staticmethod
    def _runs(text: str) -> list[str]:
        text = plain_newlines(text)
        if len(text) <= RUN_CHARS:  # one run: no need to find its blocks
            return [text] if text.strip() else []
        return runs_of_blocks(all_blocks(text), RUN_CHARS)

    # --- drawing -----------------------------------------------------------------------------------

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        layout = self._lay_out(width)
        return (layout.height if layout is not None else 0) + len(self._tail)

    def render_line(self, y: int) -> Strip:
        layout = self._layout
        laid_out = layout.height if layout is not None else 0
        if layout is not None and y < laid_out:
            line = layout.line(y)
        elif y - laid_out < len(self._tail):
            line = self._tail[y - laid_out]
        else:
            return Strip.blank(self.size.width, self.rich_style)
        return line.apply_style(self.rich_style)

    def lines(self, width: int) -> list[Strip]:
        """Every line this widget draws at `width`, unstyled (what a check of its form reads)."""
        layout = self._lay_out(width)
        if layout is None:
            return []
        return [*(layout.line(y) for y in range(layout.height)), *self._tail]

    def _lay_out(self, width: int) -> BlockLayout | None:
        """The layout at `width` with every sealed block in it, and the open block's lines."""
        if width <= 0:
            return self._layout
        if self._layout is None or self._layout.width != width:
            # Textual often asks at two widths in turn (without and with a scrollbar): keep both.
            layout = self._other_layout
            if layout is None or layout.width != width or layout.blocks is not self.blocks:
                layout = BlockLayout(
                    self.blocks, width, block_renderer(self.app.console, self.app.console_options, width)
                )
            self._layout, self._other_layout = layout, self._layout
            self._render_tail()
        self._layout.catch_up()
        return self._layout

    def _render_tail(self) -> None:
        layout = self._layout
        if not self._open.strip() or layout is None:
            self._tail = []
            return
        lines = layout.render(self._open)
        before = self.blocks[-1] if self.blocks else None
        self._tail = [Strip.blank(0), *lines] if blank_line_between(before, lines) else lines

    # --- reading the source ------------------------------------------------------------------------

    def poke(self, *, now: bool = False) -> None:
        """The source has more text: the screen catches up on the next frame, or, `now`, before
        the next one is drawn (a chat just shown must not show old text first)."""
        if self._source is None:
            return
        if now:
            self._stop_timer()
            self.call_later(self._flush, now=True)
        elif self._timer is None:
            self._timer = self.set_timer(FRAME_SECONDS, self._flush)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = None

    def _take_new_text(self) -> str:
        if self._source is None:
            return ""
        text = self._source()
        new = text[self.received_chars :]
        self.received_chars = len(text)
        self._checksum = zlib.crc32(new.encode("utf-8", "surrogatepass"), self._checksum)
        return new

    async def _flush(self, *, now: bool = False) -> None:
        self._timer = None
        typed, drawn = TYPING.since(), time.monotonic() - self._drawn_at
        if not now and typed < KEY_QUIET and drawn < MOST_DEFERRED:
            self._timer = self.set_timer(min(KEY_QUIET - typed, MOST_DEFERRED - drawn), self._flush)
            return
        self._drawn_at = time.monotonic()
        new = self._take_new_text()
        if new:
            self._open += plain_newlines(new)
        layout = self._layout
        start = layout.height if layout is not None else 0
        height = start + len(self._tail)
        finished, self._open = split_blocks(self._open)
        self.blocks.extend(finished)
        if layout is None:
            self.refresh(layout=True)
            return
        layout.catch_up()
        self._render_tail()
        if layout.height + len(self._tail) != height:
            self.refresh(layout=True)
        else:
            # Same height: only the lines from the first that can have changed are drawn again.
            self.refresh(Region(0, start, self.size.width, height - start))

    async def finish(self, text: str) -> None:
        """The answer ended with `text`: render whatever is pending and seal the open block, so the
        lines are those of one render of the whole text; or, when `text` is not what streamed, show
        it afresh. The widget reads its source no more."""
        self._stop_timer()
        await self._flush(now=True)
        if not self.reads(text):
            self.show(text)
            return
        self._source = None
        if self._open.strip():
            self.blocks.append(self._open)
        self._open, self._tail = "", []
        if self._layout is not None:
            self._layout.catch_up()
        self.refresh(layout=True)
