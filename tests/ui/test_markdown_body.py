"""An answer's body draws, a line at a time, exactly what one render of its whole text draws: when
read from history, when streamed in pieces and then finished, after its old blocks' lines were let
go and rendered again, and when the text at the end is not what streamed. A long answer keeps only
a few hundred rendered lines."""

from __future__ import annotations

import random

import pytest
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.strip import Strip

from devic_tui.emulator.scripts import long_answer
from devic_tui.text_safety import visible
from devic_tui.widgets import markdown_stream
from devic_tui.widgets.markdown_stream import CODE_THEME, BlockLayout, MarkdownBody, render_markdown

TEXT = long_answer(target_chars=12_000, seed=3)


def rows(lines: list[Strip] | list[list[Segment]]) -> list[str]:
    """Lines as text with their styles, trailing unstyled blanks dropped (how they look)."""
    shown: list[str] = []
    for line in lines:
        parts = list(Segment.simplify(list(line)))
        while parts and not parts[-1].text.strip() and not (parts[-1].style and parts[-1].style.bgcolor):
            parts.pop()
        shown.append("".join(p.style.render(p.text) if p.style else p.text for p in parts))
    return shown


def whole_render(app: App[None], text: str, width: int) -> list[str]:
    """One render of the whole text by Rich's own Markdown."""
    options = app.console_options.update(width=width, height=None, highlight=False)
    markdown = RichMarkdown(visible(text), code_theme=CODE_THEME, hyperlinks=False)
    return rows(app.console.render_lines(markdown, options, pad=False))


def test_the_shared_parser_markdown_is_what_rich_makes() -> None:
    """render_markdown skips Rich's __init__ (it builds a parser per document): what it sets must be
    what Rich sets, so a Rich that sets more fails here, not on screen."""
    ours, rich = render_markdown(TEXT), RichMarkdown(TEXT, code_theme=CODE_THEME, hyperlinks=False)
    assert sorted(vars(ours)) == sorted(vars(rich))
    for name, value in vars(rich).items():
        if name != "parsed":
            assert getattr(ours, name) == value, name
    assert [(t.type, t.map, t.content) for t in ours.parsed] == [
        (t.type, t.map, t.content) for t in rich.parsed
    ]


class BodyApp(App[None]):
    def __init__(self, body: MarkdownBody) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        yield self.body


@pytest.fixture
def few_kept_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markdown_stream, "KEPT_LINES", 30)


async def test_a_body_from_history_draws_the_whole_render_even_after_letting_lines_go(
    few_kept_lines: None,
) -> None:
    app = BodyApp(MarkdownBody(TEXT))
    async with app.run_test(size=(90, 30)):
        width = app.body.content_region.width
        expected = whole_render(app, TEXT, width)
        assert rows(app.body.lines(width)) == expected
        backwards = [app.body.render_line(y) for y in reversed(range(len(expected)))]
        styled = [line.apply_style(app.body.rich_style) for line in app.body.lines(width)]
        assert rows(list(reversed(backwards))) == rows(styled)
        assert app.body.virtual_size.height == len(expected)


async def test_streamed_in_pieces_then_finished_draws_the_whole_render(few_kept_lines: None) -> None:
    written = [""]
    app = BodyApp(MarkdownBody(source=lambda: written[0]))
    async with app.run_test(size=(90, 30)) as pilot:
        rng = random.Random(5)
        while len(written[0]) < len(TEXT):
            written[0] = TEXT[: len(written[0]) + rng.randint(1, 400)]
            app.body.poke(now=True)
            await pilot.pause()
            assert app.body.received_chars == len(written[0])
        width = app.body.content_region.width
        assert rows(app.body.lines(width)) == whole_render(app, TEXT, width)
        await app.body.finish(TEXT)
        await pilot.pause()
        assert not app.body.streaming
        assert rows(app.body.lines(width)) == whole_render(app, TEXT, width)
        assert app.body.virtual_size.height == len(whole_render(app, TEXT, width))


async def test_an_answer_that_ends_with_other_text_shows_that_text() -> None:
    written = ["# Draft\n\nfirst words"]
    app = BodyApp(MarkdownBody(source=lambda: written[0]))
    async with app.run_test(size=(60, 20)) as pilot:
        app.body.poke(now=True)
        await pilot.pause()
        final = "# Final\n\n- one\n- two\n"
        await app.body.finish(final)
        await pilot.pause()
        assert rows(app.body.lines(app.body.content_region.width)) == whole_render(
            app, final, app.body.content_region.width
        )


def test_a_layout_keeps_few_lines_and_renders_a_block_again_only_when_it_was_let_go(
    few_kept_lines: None,
) -> None:
    rendered: list[str] = []

    def render(block: str) -> list[Strip]:
        rendered.append(block)
        return [Strip([Segment(f"{block}:{n}")]) for n in range(3)]

    blocks = [f"b{n}" for n in range(100)]
    layout = BlockLayout(blocks, 40, render)
    layout.catch_up()
    assert len(rendered) == 100  # each once, for its height
    assert layout.height == 100 * 3 + 99  # a blank line between blocks
    assert layout.kept_lines <= 30
    assert layout.line(0).text == "b0:0"
    assert len(rendered) == 101  # let go, so rendered again
    assert layout.line(1).text == "b0:1"
    assert layout.line(3).text == ""  # the blank line between b0 and b1
    assert len(rendered) == 101
    blocks.append("b100")
    layout.catch_up()
    assert layout.line(layout.height - 1).text == "b100:2"
