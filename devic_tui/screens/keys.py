"""The keys that act on the chat on screen, with their stable ids (the config's keymap remaps them
by id; F1 and the command palette list them). Each is a priority binding of the main screen, so it
acts before the focused widget (the composer, say) could take the key, and types nothing."""

from __future__ import annotations

from textual.binding import Binding


def _chat_key(key: str, action: str, description: str, binding_id: str, *, show: bool = False) -> Binding:
    """A key acting on the chat on screen: a priority binding, so it acts before the focused
    widget (the composer) could take the key, and types nothing."""
    return Binding(key, action, description, id=binding_id, show=show, priority=True)


SCREEN_BINDINGS: list[Binding] = [
    _chat_key("ctrl+n", "new_chat", "New chat", "new-chat", show=True),
    _chat_key("ctrl+l", "switch_chat", "Switch chat", "switch-chat", show=True),
    _chat_key("ctrl+f", "search", "Search", "search", show=True),
    _chat_key("ctrl+o", "attach_files", "Attach", "attach", show=True),
    _chat_key("escape", "stop", "Cancel an edit; take back queued messages; then stop the answer", "stop"),
    _chat_key("ctrl+r", "retry", "Answer the last message again (the first answer stays)", "retry"),
    _chat_key("ctrl+g", "edit_last", "Edit your last message, to send it as a new branch", "edit-last"),
    _chat_key("alt+m", "branch_map", "Branch map: the chat as a tree, Enter shows a branch", "branch-map"),
    _chat_key("alt+k", "fork_chat", "Fork: a new chat holding this one up to here", "fork-chat"),
    _chat_key("f8", "copy_last", "Copy", "copy", show=True),
    _chat_key("f9", "copy_code", "Copy a code block", "copy-code"),
    _chat_key("alt+r", "rename_chat", "Rename the chat", "rename-chat"),
    _chat_key("alt+t", "tag_chat", "Tag the chat", "tag-chat"),
    _chat_key("alt+a", "archive_chat", "Archive the chat, or bring it back", "archive-chat"),
    _chat_key("alt+v", "toggle_archived", "Show or hide the archived chats", "show-archived"),
    _chat_key("alt+d", "delete_chat", "Delete the chat", "delete-chat"),
    _chat_key("alt+u", "duplicate_chat", "Duplicate the chat", "duplicate-chat"),
    _chat_key("alt+x", "reset_chat", "Reset the chat", "reset-chat"),
    _chat_key("alt+e", "export_chat", "Export the chat", "export-chat"),
    _chat_key(
        "f6", "chat_settings", "Chat settings: system prompt, temperature, context window", "chat-settings"
    ),
    _chat_key(
        "f5", "assistant_details", "Assistant: details, greeting, knowledge; edit or new AI", "assistant"
    ),
    _chat_key("f7", "usage", "Usage: tokens per assistant and day, this week and month", "usage"),
    _chat_key("ctrl+b", "toggle_sidebar", "Show or hide the sidebar", "toggle-sidebar"),
    _chat_key("f2", "focus_sidebar", "Focus the chat list", "focus-sidebar"),
    _chat_key("f3", "focus_pane", "Focus the messages", "focus-pane"),
    _chat_key("f4", "focus_composer", "Focus the composer", "focus-composer"),
]
