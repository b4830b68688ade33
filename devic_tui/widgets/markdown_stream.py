"""Markdown that streams cheaply, and renders a finished message the same way.

Rich's Markdown renders a document as its top-level blocks one after another, with one blank line
between them (none after a horizontal rule), and each block renders the same whether alone or in
the whole document. So a document is kept as a list of top-level blocks, each rendered once per
width and cached (`BlockDocument`). While an answer streams, only the open last block is parsed
and rendered again, at most once per frame however many chunks arrived; finished blocks are sealed
into a few segment widgets and never parsed or highlighted again. A finished message is one widget
holding one BlockDocument. Text is kept in the model (the stored message), not in widgets.

Why not Textual's `MarkdownStream`: on an 81 KB answer it needs ~19 s on our machines, rebuilds
whole lists per append and mounts ~80 widgets per 4 KB (shared/research/STREAMING.md).
"""

from __future__ import annotations

import itertools
import re
import time
import zlib
from collections.abc import Callable, Iterable

from markdown_it import MarkdownIt
from rich.console import Console, RenderableType
from rich.markdown import Markdown as RichMarkdown
from textual._context import active_app
from textual.css.styles import RulesMap
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style
from textual.timer import Timer
from textual.visual import RenderOptions, Visual
from textual.widget import Widget

from devic_tui.text_safety import visible
from devic_tui.widgets.typing_clock import TYPING

FRAME_SECONDS = 1 / 30
KEY_QUIET = 0.04
"""After a key, the answer waits this long before it moves again, so the key's frame paints the key
alone (cheap) instead of the key and the answer's new lines (the most expensive kind of frame)…"""
MOST_DEFERRED = 0.1
"""…but never more than this after it was last drawn, however fast the person types."""
CODE_THEME = "monokai"
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def is_rule(block: str) -> bool:
    """Whether a block is a horizontal rule, after which Rich puts no blank line."""
    return bool(_RULE.match(block.strip("\n")))


def render_markdown(text: str) -> RichMarkdown:
    """Rich's Markdown as the app configures it (links shown, never made clickable)."""
    return RichMarkdown(visible(text) or " ", code_theme=CODE_THEME, hyperlinks=False)


def markdown_parser() -> MarkdownIt:
    # The rules Rich's Markdown parses with, so block boundaries agree with its rendering.
    return MarkdownIt().enable("strikethrough").enable("table")


def split_blocks(text: str, parser: MarkdownIt) -> tuple[list[str], str]:
    """The finished top-level blocks of `text`, and the open last one (which may still grow).

    Every top-level block but the last is finished: Markdown cannot change a block once another
    top-level block has begun after it.
    """
    tokens = parser.parse(text)
    starts = [t.map[0] for t in tokens if t.level == 0 and t.map is not None and t.nesting >= 0]
    if not starts:
        return [], text
    lines = text.split("\n")
    finished = ["\n".join(lines[start:end]) for start, end in itertools.pairwise(starts)]
    return [b for b in finished if b.strip()], "\n".join(lines[starts[-1] :])


def all_blocks(text: str, parser: MarkdownIt | None = None) -> list[str]:
    finished, last = split_blocks(text, parser or markdown_parser())
    return [*finished, last] if last.strip() else finished


def _starts_blank(lines: list[Strip]) -> bool:
    return bool(lines) and not lines[0].text


def _render_lines(renderable: RenderableType, width: int) -> list[Strip]:
    app = active_app.get(None)
    console = app.console if app is not None else Console(force_terminal=True, color_system="truecolor")
    base = app.console_options if app is not None else console.options
    options = base.update(width=width, height=None, highlight=False)
    return [Strip(line) for line in console.render_lines(renderable, options, pad=False)]


class _CachedVisual(Visual):
    """A Visual whose lines are made once per width and kept: Textual asks a Static for its
    height and then for its lines, and again whenever the layout changes; a Rich renderable would
    be rendered (and its code highlighted) every time."""

    _WIDTHS_KEPT = 3

    def __init__(self) -> None:
        self._by_width: dict[int, list[Strip]] = {}

    def _make_lines(self, width: int) -> list[Strip]:
        raise NotImplementedError

    def lines(self, width: int) -> list[Strip]:
        found = self._by_width.get(width)
        if found is None:
            if len(self._by_width) >= self._WIDTHS_KEPT:
                self._by_width.pop(next(iter(self._by_width)))
            found = self._by_width[width] = self._make_lines(width)
        return found

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return container_width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return len(self.lines(width))

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        base = style.rich_style
        return [line.apply_style(base) for line in self.lines(width)[:height]]


class CachedMarkdown(_CachedVisual):
    """A whole Markdown message, rendered once per width (a message read from history)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _make_lines(self, width: int) -> list[Strip]:
        return _render_lines(render_markdown(self.text), width)


class BlockDocument(_CachedVisual):
    """Markdown as top-level blocks, each rendered once per width and kept, so adding a block
    renders only that block. Its lines are those of one render of the whole text."""

    def __init__(self, blocks: Iterable[str] = (), *, previous: str | None = None) -> None:
        super().__init__()
        self.blocks: list[str] = list(blocks)
        self.previous = previous
        """The block just before this document's first, when it continues another (a segment)."""
        self._block_lines: dict[int, list[list[Strip]]] = {}

    @classmethod
    def from_text(cls, text: str) -> BlockDocument:
        return cls(all_blocks(text))

    @classmethod
    def joined(cls, parts: list[BlockDocument]) -> BlockDocument:
        """One document of several, keeping the lines their blocks were already rendered to."""
        whole = cls([block for part in parts for block in part.blocks])
        widths = {width for part in parts for width in part._block_lines}
        for width in widths:
            reused: list[list[Strip]] = []
            for part in parts:
                lines = part._block_lines.get(width, [])
                reused.extend(lines)
                if len(lines) < len(part.blocks):
                    break  # the rest is rendered when first asked for
            whole._block_lines[width] = reused
        return whole

    def extend(self, blocks: Iterable[str]) -> None:
        self.blocks.extend(blocks)
        self._by_width.clear()  # the joined lines; each block's own lines stay

    def _make_lines(self, width: int) -> list[Strip]:
        rendered = self._block_lines.setdefault(width, [])
        if len(self._block_lines) > self._WIDTHS_KEPT:
            self._block_lines.pop(next(iter(self._block_lines)))
        for block in self.blocks[len(rendered) :]:
            rendered.append(_render_lines(render_markdown(block), width))
        joined: list[Strip] = []
        for index, lines in enumerate(rendered):
            before = self.blocks[index - 1] if index else self.previous
            if before is not None and not is_rule(before) and not _starts_blank(lines):
                # Rich's one blank line between blocks; containers (lists, tables) bring their own.
                joined.append(Strip.blank(0))
            joined.extend(lines)
        return joined


class StreamingMarkdown(Widget):
    """The answer being written, as one widget drawn a line at a time: the lines of its finished
    blocks (each block rendered once, when it is sealed), then the open last block's.

    It reads the text from its source (the turn's record of the answer: the one copy of the text)
    when poked, at most once per frame, taking only what was added since the last look. Text is
    only ever appended while an answer streams; whether the final text is still what was read
    (a server may send the whole answer again at the end) is told by a running checksum, so no
    second copy of the text is kept here.

    Textual asks a widget for the lines it shows (`render_line`), so a frame costs the lines on
    screen however long the answer is, and no child widgets are laid out as it grows."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    """

    def __init__(self, source: Callable[[], str], *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._source = source
        self._open = ""
        self._parser = markdown_parser()
        self._timer: Timer | None = None
        self.document = BlockDocument()
        """Every sealed block, in order: becomes the finished message's body."""
        self._width = 0
        self._block_lines: list[list[Strip]] = []
        """Each sealed block's lines at `_width`."""
        self._sealed: list[Strip] = []
        """The sealed blocks' lines joined (Rich's blank line between blocks) at `_width`."""
        self._tail: list[Strip] = []
        """The open block's lines at `_width` (with the blank line before it)."""
        self._tail_doc: BlockDocument | None = None
        self.received_chars = 0
        """How much of the source's text was read so far (and is on screen after the flush)."""
        self._checksum = 0
        self._drawn_at = 0.0

    def reads(self, text: str) -> bool:
        """Whether `text` is exactly what this widget read and rendered."""
        return len(text) == self.received_chars and zlib.crc32(text.encode("utf-8", "surrogatepass")) == (
            self._checksum
        )

    @property
    def block_count(self) -> int:
        return len(self.document.blocks)

    # --- drawing -----------------------------------------------------------------------------------

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._lay_out(width)
        return len(self._sealed) + len(self._tail)

    def lines(self, width: int) -> list[Strip]:
        """The lines this widget draws at `width`, unstyled (what a check of the streamed form reads)."""
        self._lay_out(width)
        return [*self._sealed, *self._tail]

    def render_line(self, y: int) -> Strip:
        sealed = len(self._sealed)
        if y < sealed:
            line = self._sealed[y]
        elif y - sealed < len(self._tail):
            line = self._tail[y - sealed]
        else:
            return Strip.blank(self.size.width, self.rich_style)
        return line.apply_style(self.rich_style)

    def _lay_out(self, width: int) -> None:
        """Every sealed block's lines at `width` (made once per block and width), and the tail's."""
        if width <= 0:
            return
        if width != self._width:
            self._width = width
            self._block_lines, self._sealed = [], []
            self._render_tail()
        blocks = self.document.blocks
        for index in range(len(self._block_lines), len(blocks)):
            lines = _render_lines(render_markdown(blocks[index]), width)
            if index and not is_rule(blocks[index - 1]) and not _starts_blank(lines):
                self._sealed.append(Strip.blank(0))
            self._block_lines.append(lines)
            self._sealed.extend(lines)

    def _render_tail(self) -> None:
        if not self._open.strip() or self._width <= 0:
            self._tail_doc, self._tail = None, []
            return
        last = self.document.blocks[-1] if self.document.blocks else None
        self._tail_doc = BlockDocument([self._open], previous=last)
        self._tail = self._tail_doc.lines(self._width)

    # --- reading the source ------------------------------------------------------------------------

    def poke(self, *, now: bool = False) -> None:
        """The source has more text: the screen catches up on the next frame, or, `now`, before
        the next one is drawn (a chat just shown must not show old text first)."""
        if now:
            if self._timer is not None:
                self._timer.stop()
            self._timer = None
            self.call_later(self._flush, now=True)
        elif self._timer is None:
            self._timer = self.set_timer(FRAME_SECONDS, self._flush)

    def _take_new_text(self) -> str:
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
            self._open += new.replace("\r\n", "\n").replace("\r", "\n")
        height = len(self._sealed) + len(self._tail)
        start = len(self._sealed)
        finished, self._open = split_blocks(self._open, self._parser)
        self.document.extend(finished)
        self._lay_out(self._width)
        self._render_tail()
        if not self._width or len(self._sealed) + len(self._tail) != height:
            self.refresh(layout=True)
        elif self._width:
            # Same height: only the lines from the first that can have changed are drawn again.
            self.refresh(Region(0, start, self.size.width, height - start))

    async def finish(self) -> BlockDocument:
        """Render whatever is pending now; return the whole answer as one document, keeping the
        lines its blocks were rendered to."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        await self._flush(now=True)
        blocks = list(self.document.blocks)
        if self._open.strip():
            blocks.append(self._open)
        whole = BlockDocument(blocks)
        if self._width:
            # The open block's own lines, without the blank line the tail shows before it.
            tail = self._tail_doc._block_lines.get(self._width, []) if self._tail_doc is not None else []
            whole._block_lines[self._width] = [*self._block_lines, *tail]
        return whole
