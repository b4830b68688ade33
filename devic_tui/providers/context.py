"""The context block: how the first message of a branch carries the branch's earlier exchange to an
API that keeps its own history and takes no earlier messages (Devic's `message` and `legacy` shapes,
Devs, the agent API). Our choice of format, documented in docs/BRANCHES.md: a clearly delimited
block the assistant reads as earlier conversation, then a blank line and the message itself."""

from __future__ import annotations

from devic_tui.models import HistoryMessage

OPEN = "<earlier_conversation>"
CLOSE = "</earlier_conversation>"
INTRO = "This conversation continues from the earlier exchange below; reply to the message after it."


def context_block(history: list[HistoryMessage]) -> str:
    """The earlier exchange, each message as `[role]` then its text; empty for no history."""
    if not history:
        return ""
    entries = "\n\n".join(f"[{message.role}]\n{message.content}" for message in history)
    return f"{OPEN}\n{INTRO}\n\n{entries}\n{CLOSE}"


def text_with_context(text: str, history: list[HistoryMessage], carry: bool) -> str:
    """The text to send: the message, preceded by the context block when the branch's new chat
    must be given its earlier exchange."""
    block = context_block(history) if carry else ""
    return f"{block}\n\n{text}" if block else text
