"""What the emulator's assistants say: deterministic answers for each name, chunked for streaming."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

ASSISTANTS: dict[str, str] = {
    "echo": "Echoes what you send, files included",
    "markdown": "Shows off Markdown: headings, lists, a table and code",
    "long": "A very long answer with many code blocks",
    "fences": "Many small code blocks, quickly",
    "slow": "Answers slowly, chunk by chunk",
    "tools": "Asks you for details through a form first",
    "ratelimit-once": "Rate limited once, then fine",
    "flaky": "Fails twice with 500, then fine",
    "cut": "Drops the connection half way",
    "junk": "Answers with junk",
    "unauthorized": "Refuses every token",
    "huge": "Sends more than 10 MB",
    "hang": "Goes silent half way",
    "hostile": "Sends escape codes \x1b]0;pwned-title\x07\x1b[2J\x1b[31mred\x1b[0m [bold]markup[/bold]",
    "limited": "Near its limit (OpenAI-compatible): few requests left, then refused until it resets",
}

DEMO_ASSISTANTS = ("echo", "markdown", "long", "slow", "tools", "cut", "limited")


def echo_answer(prompt: str, files: Sequence[str] = (), *, turn: int = 1) -> str:
    quoted = "\n".join(f"> {line}" if line else ">" for line in prompt.splitlines()) or "> (empty)"
    lines = [f"You said (message {turn} of this chat):", "", quoted]
    if files:
        lines += ["", "Attached:", *[f"- `{name}`" for name in files]]
    words, chars = len(prompt.split()), len(prompt)
    lines += ["", f"That is **{words} word{'s' * (words != 1)}** and {chars} character{'s' * (chars != 1)}."]
    return "\n".join(lines)


MARKDOWN_TOUR = """\
# A short tour

Markdown renders **as it streams**: *emphasis*, `inline code`, and [links](https://example.com).

## A list

1. Streaming keeps finished blocks as they are.
2. Only the block being written changes.
   - nested items work too
   - like this one

## A table

| language | typing | first release |
| --- | --- | --- |
| Python | dynamic | 1991 |
| Rust | static | 2015 |
| Go | static | 2012 |

## Code

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

```rust
fn main() {
    println!("Hello from Rust");
}
```

```bash
devic-tui --demo
```

> A quote, to finish: the terminal is a fine place to think.
"""


def long_answer(target_chars: int = 80_000, seed: int = 42) -> str:
    """A long, code-heavy Markdown answer; the same text for the same arguments."""
    rng = random.Random(seed)
    words = [
        "stream",
        "render",
        "widget",
        "block",
        "parse",
        "buffer",
        "token",
        "frame",
        "layout",
        "chunk",
        "cache",
        "terminal",
        "history",
        "message",
        "answer",
        "server",
        "latency",
    ]
    parts: list[str] = []
    section = 0
    size = 0
    while size < target_chars:
        section += 1
        body = [
            f"## Section {section}",
            "",
            " ".join(rng.choice(words) for _ in range(60)) + ".",
            "",
        ]
        if section % 3 == 0:
            body += [f"- item {i}: " + " ".join(rng.choice(words) for _ in range(8)) for i in range(1, 5)]
            body.append("")
        if section % 5 == 0:
            body += [
                "| key | value |",
                "| --- | --- |",
                *[f"| {rng.choice(words)} | {rng.randint(1, 999)} |" for _ in range(4)],
                "",
            ]
        body += [
            "```python",
            f"def step_{section}(x: int) -> int:",
            f"    return x * {rng.randint(2, 9)} + {section}",
            "```",
            "",
        ]
        text = "\n".join(body)
        parts.append(text)
        size += len(text)
    return "\n".join(parts)


def fences_answer(blocks: int = 125) -> str:
    parts = []
    for i in range(1, blocks + 1):
        parts.append(f"Step {i}:\n\n```python\nvalue_{i} = compute({i}, scale={i % 7})\n```\n")
    return "\n".join(parts)


HOSTILE_ANSWER = (
    "# Escape codes \x1b]0;pwned-title\x07\n\n"
    "A title change \x1b]2;pwned-again\x1b\\, a cleared screen \x1b[2J\x1b[H, colour \x1b[31mred\x1b[0m,\n"
    "a clipboard write \x1b]52;c;ZXZpbA==\x07, a bell \x07 and an 8-bit CSI \x9b2J.\n\n"
    "Markup that must stay text: [bold]B[/bold] [link=https://evil.example]L[/link] [@click=app.quit]Q[/]\n"
)
"""What the `hostile` assistant answers: every kind of text that could act on a terminal."""


def answer_for(name: str, prompt: str, files: Sequence[str] = (), *, turn: int = 1) -> str:
    if name == "hostile":
        return HOSTILE_ANSWER
    if name == "markdown":
        return MARKDOWN_TOUR
    if name == "long":
        return long_answer()
    if name == "fences":
        return fences_answer()
    if name == "huge":
        return long_answer(target_chars=10_500_000, seed=7)
    return echo_answer(prompt, files, turn=turn)


def chunked(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]
