"""Markdown that streams cheaply: finished top-level blocks become one fixed widget each and are
never parsed or rendered again; only the open block (the tail) is re-rendered, at most once per
frame however many chunks arrived. Text is kept here as a string, not in widgets.

Why not Textual's `MarkdownStream`: on an 81 KB answer it needs ~19 s on our machines and rebuilds
whole lists per append (shared/research/STREAMING.md); this renders with Rich's Markdown, the same
renderer finished messages use, so a message looks the same while and after it streams.
"""

from __future__ import annotations

import itertools

from markdown_it import MarkdownIt
from rich.console import Group
from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from devic_tui.text_safety import visible

FRAME_SECONDS = 1 / 30
BLOCKS_PER_SEGMENT = 12
CODE_THEME = "monokai"


def render_markdown(text: str) -> RichMarkdown:
    """The one way the app renders Markdown from a server (links shown, never made clickable)."""
    return RichMarkdown(visible(text) or " ", code_theme=CODE_THEME, hyperlinks=False)


def _parser() -> MarkdownIt:
    # The same rules Rich's Markdown parses with, so block boundaries agree with the final render.
    return MarkdownIt().enable("strikethrough").enable("table")


def split_finished(text: str, parser: MarkdownIt) -> tuple[list[str], int]:
    """The finished top-level blocks at the start of `text`, and the offset where the open one starts.

    Every top-level block but the last is finished: Markdown cannot change a block once another
    top-level block has begun after it.
    """
    tokens = parser.parse(text)
    starts = [t.map[0] for t in tokens if t.level == 0 and t.map is not None and t.nesting >= 0]
    if len(starts) < 2:
        return [], 0
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    blocks = ["\n".join(lines[start:end]).strip("\n") for start, end in itertools.pairwise(starts)]
    return [b for b in blocks if b], offsets[starts[-1]]


class StreamingMarkdown(Vertical):
    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    StreamingMarkdown > .md-segment { height: auto; margin: 0 0 1 0; }
    StreamingMarkdown > .md-tail { height: auto; }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._text = ""
        self._open_from = 0
        self._parser = _parser()
        self._timer: Timer | None = None
        self._tail = Static("", classes="md-tail")
        self._segment: Static | None = None
        self._segment_blocks: list[RichMarkdown | Text] = []
        self._block_count = 0

    @property
    def text(self) -> str:
        return self._text

    @property
    def block_count(self) -> int:
        return self._block_count

    def compose(self) -> ComposeResult:
        yield self._tail

    def append(self, fragment: str) -> None:
        """Add text; the screen catches up on the next frame."""
        self._text += fragment.replace("\r\n", "\n").replace("\r", "\n")
        if self._timer is None:
            self._timer = self.set_timer(FRAME_SECONDS, self._flush)

    async def _flush(self) -> None:
        self._timer = None
        open_text = self._text[self._open_from :]
        blocks, open_at = split_finished(open_text, self._parser)
        if blocks:
            self._open_from += open_at
            await self._seal(blocks)
        self._tail.update(render_markdown(self._text[self._open_from :]))

    async def _seal(self, blocks: list[str]) -> None:
        """Add finished blocks to the current segment: a few widgets, each holding many blocks,
        keep the per-frame layout cost flat however long the answer grows."""
        for block in blocks:
            self._block_count += 1
            if self._segment is None or len(self._segment_blocks) >= BLOCKS_PER_SEGMENT:
                self._segment = Static("", classes="md-segment")
                self._segment_blocks = []
                await self.mount(self._segment, before=self._tail)
            elif self._segment_blocks:
                self._segment_blocks.append(Text())  # the blank line Rich puts between blocks
            self._segment_blocks.append(render_markdown(block))
        if self._segment is not None:
            self._segment.update(Group(*self._segment_blocks))

    async def finish(self) -> None:
        """Render whatever is still pending, now."""
        if self._timer is not None:
            self._timer.stop()
        await self._flush()
