"""Tests of the command line beside the TUI (`devic-tui ask`, `chats`, `show`, `config`...)."""
