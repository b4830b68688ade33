"""The context meter's facts, with no UI in them: how many tokens a text is likely to take, and how
large a model's context window is and who said so.

The window comes from the server where it says so (an OpenAI-compatible `/models` entry that
carries it, Ollama's `/api/show`, LM Studio's model listing: `Provider.context_window`), else from
`context_window` in the config, else it is unknown. `ChatService.context_window` is the one door
that resolves it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CHARS_PER_TOKEN = 4
"""The rule of thumb behind `estimate_tokens`: about four characters of English text per token in
the BPE tokenizers of the common model families."""

WindowSource = Literal["server", "config", "unknown"]


def estimate_tokens(text: str) -> int:
    """A cheap estimate of how many tokens `text` takes: its length in characters divided by four,
    rounded up (so any text at all counts as at least one token, and "" as none).

    No tokenizer is run: the figure is a rough guide for a meter, often off by a quarter either way
    (code, other languages and unusual characters take more tokens per character). Prefer the token
    counts a server reports (`Usage`) where there are some."""
    return -(-len(text) // CHARS_PER_TOKEN)


class ContextWindow(BaseModel):
    """How many tokens a model's context holds, and where the figure comes from: the `server`'s own
    model description, the `config`'s `context_window`, or `unknown` (tokens is then None)."""

    model_config = ConfigDict(frozen=True)

    tokens: int | None = Field(default=None, gt=0)
    source: WindowSource = "unknown"

    @property
    def known(self) -> bool:
        return self.tokens is not None
