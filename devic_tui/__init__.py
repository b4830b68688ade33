"""devic-tui: a keyboard-driven terminal chat client for AI assistants served over HTTP."""

__version__ = "0.1.0"
