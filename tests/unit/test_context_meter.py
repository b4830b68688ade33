"""The context meter's headless facts: the token estimate (about four characters a token, rounded
up), the window with where it comes from, and what a chat's next request carries against it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devic_tui.context_meter import CHARS_PER_TOKEN, ContextWindow, estimate_tokens
from devic_tui.context_use import ContextUse, compact, compact_window, context_use
from devic_tui.models import ChatSettings, Usage
from devic_tui.records import COPY_OF, StoredMessage, new_id, now


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("a", 1),
        ("abcd", 1),
        ("abcde", 2),
        ("x" * 4000, 1000),
        ("x" * 4001, 1001),
        ("héllo wörld", 3),  # characters, not bytes
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_estimate_is_about_four_characters_a_token() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 100
    assert estimate_tokens(text) == -(-len(text) // CHARS_PER_TOKEN)
    assert CHARS_PER_TOKEN == 4


def test_estimate_grows_with_the_text() -> None:
    counts = [estimate_tokens("w" * n) for n in range(200)]
    assert counts == sorted(counts)


def test_context_window_defaults_to_unknown() -> None:
    window = ContextWindow()
    assert (window.tokens, window.source, window.known) == (None, "unknown", False)


def test_context_window_is_frozen_and_checked() -> None:
    window = ContextWindow(tokens=32768, source="server")
    assert window.known
    with pytest.raises(ValidationError):
        window.tokens = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ContextWindow(tokens=0, source="config")
    with pytest.raises(ValidationError):
        ContextWindow(tokens=10, source="guess")


# --- what a chat's next request carries (context_use) -------------------------------------------


def _message(role: str, content: str, **fields: object) -> StoredMessage:
    return StoredMessage(id=new_id(), role=role, content=content, created_at=now(), **fields)  # type: ignore[arg-type]


WINDOW = ContextWindow(tokens=1000, source="server")


def test_the_servers_count_of_the_last_answer_is_used_as_it_is() -> None:
    branch = [
        _message("user", "x" * 400),
        _message("assistant", "y" * 400, usage=Usage(input_tokens=120, output_tokens=80)),
    ]
    use = context_use(branch, None, WINDOW)
    assert (use.tokens, use.estimated) == (200, False)
    assert use.label == "ctx 200/1k 20%"


def test_without_usage_the_branch_and_the_system_prompt_are_estimated() -> None:
    branch = [_message("user", "x" * 400), _message("assistant", "y" * 200)]
    use = context_use(branch, ChatSettings(system_prompt="z" * 40), WINDOW)
    assert (use.tokens, use.estimated) == (10 + 100 + 50, True)
    assert use.label.startswith("ctx ~160/")


def test_messages_after_the_last_reported_answer_are_added_as_estimates() -> None:
    branch = [
        _message("user", "a"),
        _message("assistant", "b", usage=Usage(input_tokens=500, output_tokens=100)),
        _message("user", "c" * 400),
    ]
    use = context_use(branch, None, WINDOW)
    assert (use.tokens, use.estimated, use.level) == (700, True, "half")


def test_a_copied_answers_figures_are_those_of_its_original_chat_and_are_not_used() -> None:
    branch = [
        _message("user", "x" * 40, metadata={COPY_OF: "m1"}),
        _message(
            "assistant", "y" * 40, usage=Usage(input_tokens=900, output_tokens=50), metadata={COPY_OF: "m2"}
        ),
    ]
    assert context_use(branch, None, WINDOW).tokens == 20


@pytest.mark.parametrize(
    ("tokens", "level"),
    [(0, "low"), (499, "low"), (500, "half"), (799, "half"), (800, "high"), (1500, "high")],
)
def test_the_meter_turns_at_half_and_at_eighty_percent(tokens: int, level: str) -> None:
    assert ContextUse(tokens=tokens, estimated=False, window=WINDOW).level == level


def test_an_unknown_window_is_shown_as_such_and_never_counts_as_past_it() -> None:
    use = ContextUse(tokens=12_400, estimated=True, window=ContextWindow())
    assert use.label == "ctx ~12.4k/?"
    assert use.level == "low"
    assert not use.over_with("x" * 10**6)


def test_sizes_read_as_models_are_named() -> None:
    assert [compact(n) for n in (950, 12_400, 100_000, 1_250_000)] == ["950", "12.4k", "100k", "1.2M"]
    assert [compact_window(n) for n in (32_768, 131_072, 8000)] == ["32k", "128k", "8k"]
    assert ContextUse(tokens=12_400, estimated=False, window=ContextWindow(tokens=32_768)).label == (
        "ctx 12.4k/32k 38%"
    )


def test_a_message_that_takes_the_request_past_the_window_is_seen() -> None:
    use = ContextUse(tokens=990, estimated=False, window=WINDOW)
    assert not use.over_with("x" * 40)
    assert use.over_with("x" * 41)
