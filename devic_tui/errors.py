"""The root of every error devic-tui raises on purpose. Each layer has its own family under it
(providers: `ProviderError`; history: `TranscriptError`; config: `ConfigError`; command line:
`CliError`), and `str()` of any of them is a message for a person, so the one place that turns a
failed task into a notice (the app's worker handler, the command line's exit) needs no other
knowledge of where it came from."""

from __future__ import annotations


class DevicTuiError(Exception):
    """Something went wrong that a person can act on; `str()` says what, in their words."""
