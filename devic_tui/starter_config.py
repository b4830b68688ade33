"""The starter config file `devic-tui config init` writes: one server of each kind, all disabled but
the built-in `demo`, with comments explaining every field and what to do next.

tomli-w writes values but not comments, so the text is put together here: a header comment block,
then per section a few comment lines around key/value pieces that tomli-w dumps one at a time (so
quoting and escaping are always valid TOML). The file is created with mode 0600 from the start,
because a person may paste a token into it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomli_w

from devic_tui.files import make_private_dir

Field = tuple[str, Any, str]
"""A key, its value, and a comment shown above it ("" for none)."""

HEADER = """\
# devic-tui configuration (TOML).
#
# Precedence, highest first: command-line flags (such as --demo), DEVIC_TUI_* environment variables
# (nested fields with __, e.g. DEVIC_TUI_TRANSCRIPT_FORMAT=toml), this file, the built-in defaults.
# `devic-tui locate` prints where this file and your transcripts live; `devic-tui config check`
# validates the file and tries each enabled server. Every field is documented in devic_tui/config.py.
#
# Tokens: prefer token_env (the NAME of an environment variable holding the token) or token_command
# (a command that prints it, e.g. a password manager). A token written in this file works too, but
# then keep the file private (it is created with mode 0600).
"""

SETTINGS: list[Field] = [
    ("transcript_format", "json", "How transcripts are written: json (fast) or toml (easier to read)."),
    ("theme", "textual-dark", "A built-in Textual theme or the name of a theme file."),
    ("show_sidebar", True, "Whether the sidebar is open at start (Ctrl+B toggles it)."),
]

SERVERS: list[tuple[str, list[Field], list[str]]] = [
    (
        "The built-in emulator: starts on a loopback port when needed; no account, no network.",
        [
            ("name", "demo", ""),
            ("kind", "demo", "devic, devs, agent, openai or demo."),
            ("enabled", True, "Set to false once your own servers work."),
        ],
        [],
    ),
    (
        "Devic.ai assistants (the assistant list and chats come from the API).",
        [
            ("name", "devic", "A short unique name: shown in the sidebar, used by --server."),
            ("kind", "devic", ""),
            ("enabled", False, "Set to true after setting the token variable below."),
            ("token_env", "DEVIC_TOKEN", "The NAME of the environment variable holding the API key."),
            ("path_prefix", "/api/v1", "/api/v1 (default) or /v1."),
            ("request_shape", "message", "message (default), messages or legacy."),
            ("async_mode", True, "Poll for progress so answers show message by message."),
        ],
        [
            'base_url = "https://api.devic.ai"   # the default when empty',
            'tenant_id = "my-tenant"   # Devic tenantId, for multi-tenant setups',
            'proxy = "http://proxy.corp:3128"   # overrides HTTPS_PROXY/ALL_PROXY; "none" goes direct',
            'ca_bundle = "~/certs/corp-ca.pem"   # a company CA to trust besides the system\'s',
            'client_cert = "~/certs/me.pem"   # a client certificate (client_key = "…" if its key is apart)',
        ],
    ),
    (
        "A Devs.ai-style platform (AIs, chats, files and tool calls).",
        [
            ("name", "devs", ""),
            ("kind", "devs", ""),
            ("enabled", False, ""),
            ("token_command", "pass show devs", "A command that prints the token (a password manager)."),
        ],
        ['base_url = "https://api.devs.ai"   # the default when empty'],
    ),
    (
        "A slug-addressed agent chat API: it cannot list its agents, so name them here.",
        [
            ("name", "agent", ""),
            ("kind", "agent", ""),
            ("enabled", False, ""),
            ("base_url", "https://platform.example.com/v1/api", "Required: the URL before /chat/{slug}."),
            ("token_env", "AGENT_TOKEN", ""),
            ("stream", True, "Ask for a streamed answer (server-sent events)."),
            (
                "assistants",
                [{"id": "support", "name": "Support", "description": "Answers product questions"}],
                "id is the agent's slug; name and description are what the sidebar shows.",
            ),
        ],
        [],
    ),
    (
        "Any OpenAI-compatible server: OpenAI, Ollama, vLLM, LM Studio (models come from GET /models).",
        [
            ("name", "local", ""),
            ("kind", "openai", ""),
            ("enabled", False, ""),
            (
                "base_url",
                "http://localhost:11434/v1",
                "Ollama here; plain http:// is allowed to this machine only.",
            ),
        ],
        [
            'token_env = "OPENAI_API_KEY"   # for api.openai.com; Ollama needs none',
            "read_timeout = 120.0   # seconds a stream may stay silent (local models can be slow)",
        ],
    ),
]


def _comment(text: str) -> list[str]:
    return [f"# {text}"] if text else []


def _fields(fields: Iterable[Field]) -> list[str]:
    lines: list[str] = []
    for key, value, comment in fields:
        lines += _comment(comment)
        lines.append(tomli_w.dumps({key: value}).rstrip("\n"))
    return lines


def starter_text() -> str:
    """The whole starter file as TOML text with comments."""
    lines = [HEADER.rstrip("\n"), "", *_fields(SETTINGS)]
    lines += [
        "# The server `devic-tui ask` uses without --server (default: the first enabled one).",
        '# default_server = "devic"',
    ]
    for description, fields, optional in SERVERS:
        lines += ["", *_comment(description), "[[servers]]", *_fields(fields)]
        lines += [f"# {line}" for line in optional]
    return "\n".join(lines) + "\n"


def write_starter_config(path: Path, force: bool = False) -> Path:
    """Write the starter file at `path` (mode 0600); FileExistsError if it exists and not `force`."""
    make_private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if force else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(starter_text())
    os.chmod(path, 0o600)
    return path


def next_step_text(path: Path) -> str:
    """What to tell the person after the file is written."""
    return (
        f"wrote {path} (mode 0600)\n"
        "next steps:\n"
        "  1. try it now: `devic-tui` opens the app against the built-in demo server\n"
        "  2. edit the file: set enabled = true on a server and point it at your token\n"
        "     (token_env names an environment variable; token_command runs a password manager)\n"
        "  3. `devic-tui config check` tells you, per server, whether it is reachable and the token works"
    )
