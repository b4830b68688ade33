"""The pure pieces of the command line: composing the message from MESSAGE and standard input,
Markdown block splitting for the terminal renderer, one-line redacted errors, exit code mapping."""

from __future__ import annotations

import io

import pytest

from devic_tui.commands.ask import compose_message, fenced
from devic_tui.commands.output import AnswerWriter, CliError, _split_point, exit_code_for, one_line
from devic_tui.providers.errors import (
    AuthError,
    FileRejectedError,
    MissingTokenError,
    NotFoundError,
    ServerError,
)
from devic_tui.redact import register_secret


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_compose_message() -> None:
    assert compose_message("hi", io.StringIO("")) == "hi"
    assert compose_message("hi", io.StringIO("a\nb\n")) == "hi\n\n```\na\nb\n```"
    assert compose_message(None, io.StringIO("from a pipe\n")) == "from a pipe"
    assert compose_message("-", io.StringIO("dash")) == "dash"
    assert compose_message("hi", Tty("ignored")) == "hi"
    with pytest.raises(CliError, match="no message"):
        compose_message(None, Tty(""))
    with pytest.raises(CliError, match="empty"):
        compose_message(None, io.StringIO(""))
    assert compose_message(None, io.StringIO(""), has_files=True) == ""


def test_fence_outgrows_the_text() -> None:
    assert fenced("x") == "```\nx\n```"
    assert fenced("```py\ny\n```\n") == "````\n```py\ny\n```\n````"


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("one paragraph", 0),
        ("para\n\nnext", 6),
        ("para\n\n```\ncode\n\nmore\n", 6),  # the blank line inside the fence is no block end
        ("```\na\n\nb\n```\n\nafter", 14),
        ("~~~~\na\n\n~~~~\n\n", 14),
        ("a\n\nb\n\nc", 6),
    ],
)
def test_split_point(text: str, cut: int) -> None:
    assert _split_point(text) == cut


def test_answer_writer_piped_is_raw_and_ends_with_a_newline() -> None:
    out = io.StringIO()
    writer = AnswerWriter(out)
    writer.sync("Hel")
    writer.sync("Hello **bold**")
    writer.sync("something else")  # replaced at the end: what was shown stays
    writer.finish()
    assert out.getvalue() == "Hello **bold**\n"


def test_answer_writer_on_a_terminal_renders_whole_blocks_as_they_finish() -> None:
    out = io.StringIO()
    writer = AnswerWriter(out, render=True)
    writer.sync("# Title\n\nSome **bold")
    assert "Title" in out.getvalue()
    assert "Some" not in out.getvalue()  # the paragraph is not finished
    writer.sync("# Title\n\nSome **bold** text\n\n```python\nx = 1\n")
    assert "Some bold text" in out.getvalue()
    assert "x = 1" not in out.getvalue()
    writer.finish()
    assert "x = 1" in out.getvalue()
    assert "**" not in out.getvalue()


def test_json_mode_writes_nothing() -> None:
    out = io.StringIO()
    writer = AnswerWriter(out, enabled=False)
    writer.sync("text")
    writer.finish()
    assert out.getvalue() == ""


def test_one_line_folds_and_redacts() -> None:
    register_secret("s3cr3t-value")
    assert one_line("config has errors:\n  a: bad\n  b: worse s3cr3t-value\n") == (
        "config has errors: a: bad; b: worse ***"
    )


def test_exit_codes_by_error_class() -> None:
    assert exit_code_for(AuthError("x")) == 3
    assert exit_code_for(MissingTokenError("x")) == 3
    assert exit_code_for(FileRejectedError("x")) == 2
    assert exit_code_for(NotFoundError("x")) == 1
    assert exit_code_for(ServerError("x")) == 1
