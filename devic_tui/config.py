"""The user's settings: one pydantic-settings root read from a TOML file and the environment.

Precedence, highest first: values given on the command line (such as `--demo`), then `DEVIC_TUI_*`
environment variables (nested fields with `__`, e.g. `DEVIC_TUI_TRANSCRIPT_FORMAT=toml`), then the TOML
file (`devic-tui locate` prints its path; `DEVIC_TUI_CONFIG` overrides it), then the defaults below.
The docstring under each field is the user's documentation of it.
"""

from __future__ import annotations

import contextvars
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from devic_tui import locations
from devic_tui.errors import DevicTuiError
from devic_tui.models import ChatSettings

ServerKind = Literal["devic", "devs", "agent", "openai", "demo"]
RequestShape = Literal["message", "messages", "legacy"]
AuthHeader = Literal["auto", "authorization", "x-authorization"]
CompletionsPath = Literal["auto", "/chat/completions", "/chats/completions"]
TranscriptFormat = Literal["json", "toml"]

API_NAMES: dict[str, str] = {
    "devic": "Devic",
    "devs": "Devs platform",
    "agent": "agent chat",
    "openai": "OpenAI-compatible",
    "demo": "demo",
}
"""Each kind of server's API, named for a person."""

DEFAULT_BASE_URLS: dict[str, str] = {
    "devic": "https://api.devic.ai",
    "devs": "https://api.devs.ai",
    "openai": "https://api.openai.com/v1",
}


class ConfigError(DevicTuiError):
    """The configuration cannot be used; the message names the file, the field and the problem."""


class AnswerDefaults(BaseModel):
    """How an assistant is asked to answer, set for a whole server and per assistant (the
    assistant's value wins). A chat takes them when it starts and keeps them in its transcript, so a
    chat reopened later sends what it sent before; the chat settings dialog (F6) edits them.
    Only OpenAI-compatible APIs take the system prompt and the parameters; Devic takes `metadata`."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: str | None = None
    """OpenAI-compatible: sent as the first message (`role: system`) of every request."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """OpenAI-compatible: sampling temperature, 0 to 2 (unset: the server's default)."""
    top_p: float | None = Field(default=None, gt=0, le=1)
    """OpenAI-compatible: nucleus sampling, above 0 up to 1 (unset: the server's default)."""
    max_tokens: int | None = Field(default=None, gt=0)
    """OpenAI-compatible: the most tokens an answer may have (unset: the server's default)."""
    context_window: int | None = Field(default=None, gt=0)
    """The model's context window in tokens, for the context meter, where the server does not say
    it (a server's own figure wins)."""


class ModelPrice(BaseModel):
    """What a model's tokens cost, in your currency per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    """Per million input (prompt) tokens."""
    output: float = Field(ge=0)
    """Per million output (answer) tokens."""
    cached_input: float | None = Field(default=None, ge=0)
    """Per million input tokens read from the server's cache (unset: the input price)."""


class AssistantConfig(AnswerDefaults):
    """An assistant offered by a server whose API cannot list them, or one whose answers are set up
    here (its system prompt, temperature, …)."""

    id: str = Field(min_length=1)
    """The Devic identifier, the agent slug, the Devs AI id or the OpenAI model name."""
    name: str | None = None
    """The name shown in the sidebar (the id when unset)."""
    description: str = ""
    """One line shown under the name."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Devic: merged over the server's `metadata` for this assistant's messages."""

    @property
    def display_name(self) -> str:
        return self.name or self.id


class ServerConfig(AnswerDefaults):
    """One server the app talks to. The answer settings (system_prompt, temperature, top_p,
    max_tokens, context_window) given here apply to each of its assistants that sets none of its own."""

    name: str = Field(min_length=1)
    """A short unique name, shown in the sidebar and used by `--server`."""
    kind: ServerKind
    """Which API it speaks: devic, devs, agent, openai, or demo (the built-in emulator)."""
    enabled: bool = True
    """Set to false to keep an entry without using it."""
    base_url: str = ""
    """Where the API lives; empty means the vendor's public URL (required for `agent`)."""
    token_env: str | None = None
    """The name of an environment variable that holds the token (the preferred way)."""
    token_command: str | None = None
    """A command whose output is the token, for password managers (`pass show devic`)."""
    token: SecretStr | None = None
    """The token itself; keep the file private (mode 0600) if you use this."""
    connect_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for a connection."""
    read_timeout: float = Field(default=60.0, gt=0)
    """Seconds a stream or a poll may stay silent before it is given up."""
    max_retries: int = Field(default=3, ge=0, le=10)
    """How often a refused or failed request is retried before any answer arrived."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Sent with every Devic message as `metadata`."""
    tenant_id: str | None = None
    """Devic `tenantId` for multi-tenant setups."""
    subtenant_id: str | None = None
    """Devic `subtenantId` (sent in the `messages` request shape)."""
    path_prefix: str | None = None
    """Devic path prefix: `/api/v1` (default, what Devic's own clients use) or `/v1`."""
    request_shape: RequestShape = "message"
    """Devic request body: `message` (default), `messages` (OpenAPI) or `legacy` (chatUuid)."""
    async_mode: bool = True
    """Devic: send with `?async=true` and poll, so progress shows message by message."""
    poll_interval: float = Field(default=1.0, gt=0)
    """Devic async mode: seconds before the first progress poll; each wait grows ×1.5 up to 10 s."""
    stream: bool = True
    """Agent and OpenAI-compatible servers: ask for a streamed answer."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers sent with every request (e.g. `x-user-identifier`)."""
    auth_header: AuthHeader = "auto"
    """The header the token goes in: `authorization` (`Authorization: Bearer …`), `x-authorization`
    (the Devs platform's legacy `X-Authorization: Bearer …`, all its 2024 server reads), or `auto`:
    `Authorization`, and for a Devs server that refuses it with 401, `X-Authorization` from then on."""
    completions_path: CompletionsPath = "auto"
    """Where an OpenAI-compatible server's chat completions are (after `base_url`). `auto`:
    `/chat/completions`, and `/chats/completions` where that is missing; a base URL ending in
    `/api/v1` (the Devs platform's) tries `/chats/completions` first. The one that answers is kept."""
    assistants: list[AssistantConfig] = Field(default_factory=list)
    """Assistants to offer where the API cannot list them (agent slugs, say), and assistants whose
    answers are set up here (a listing server lists them first)."""
    allow_insecure_http: bool = False
    """Allow plain `http://` to a host that is not this machine (the token then travels unencrypted)."""
    max_answer_bytes: int = Field(default=10_000_000, gt=0)
    """An answer whose text (in UTF-8 bytes) grows longer than this is cut off there, and the cut
    is said."""
    max_stream_bytes: int = Field(default=500_000_000, gt=0)
    """A guard against a stream that never ends: after this many bytes on the wire (event framing
    included, often 30 times the text when chunks are small) the answer is cut off, and the cut is
    said. Keep it well above `max_answer_bytes`."""
    proxy: str | None = None
    """The proxy for this server, overriding the environment: `http://proxy.corp:3128`, `https://…`
    or `socks5://127.0.0.1:1080` (`user:password@` before the host if it asks for them); "none" or ""
    goes direct. Unset: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY decide, except that a server
    on this machine (localhost, 127.0.0.0/8, ::1) is never reached through them."""
    ca_bundle: Path | None = None
    """A PEM file of CA certificates to trust for this server besides the system's (your company's
    own CA, say). `~` is expanded; a relative path is taken from the config file's folder."""
    client_cert: Path | None = None
    """A PEM client certificate, for servers that ask for one (with its key, unless client_key is set)."""
    client_key: Path | None = None
    """The client certificate's private key, when it is in a file of its own; it must not be encrypted."""

    @field_validator("ca_bundle", "client_cert", "client_key")
    @classmethod
    def _expand_path(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        path = path.expanduser()
        config_file = _config_path.get()
        if not path.is_absolute() and config_file is not None:
            path = config_file.parent / path
        return path

    @model_validator(mode="after")
    def _check(self) -> ServerConfig:
        sources = [s for s in (self.token_env, self.token_command, self.token) if s]
        if len(sources) > 1:
            raise ValueError("give only one of token_env, token_command and token")
        if self.kind == "agent" and not self.base_url:
            raise ValueError("an agent server needs base_url (e.g. https://platform/v1/api)")
        if self.client_key and not self.client_cert:
            raise ValueError("client_key needs client_cert (the certificate it belongs to)")
        if self.enabled:
            for setting, path in (
                ("ca_bundle", self.ca_bundle),
                ("client_cert", self.client_cert),
                ("client_key", self.client_key),
            ):
                if path is not None and not path.is_file():
                    raise ValueError(f"{setting}: there is no file at {path}")
        return self

    def assistant(self, assistant_id: str) -> AssistantConfig | None:
        return next((a for a in self.assistants if a.id == assistant_id), None)

    def chat_settings(self, assistant_id: str) -> ChatSettings:
        """What a new chat with the assistant starts with: its own values over the server's."""
        own = self.assistant(assistant_id)
        values: dict[str, Any] = {}
        for name in AnswerDefaults.model_fields:
            mine = getattr(own, name) if own is not None else None
            values[name] = mine if mine is not None else getattr(self, name)
        values["metadata"] = {**self.metadata, **(own.metadata if own is not None else {})}
        return ChatSettings(**values)

    @property
    def resolved_base_url(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS.get(self.kind, "")).rstrip("/")

    def token_source_hint(self) -> str:
        """Where the token comes from, in words, for error messages (never the token)."""
        if self.token_env:
            return f"check the variable {self.token_env}"
        if self.token_command:
            return "check the output of token_command"
        if self.token:
            return "check the token in the config file"
        return f"set token_env for server '{self.name}' in the config file"


_config_path: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "devic_tui_config_path", default=None
)


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(env_prefix="DEVIC_TUI_", env_nested_delimiter="__", extra="forbid")

    servers: list[ServerConfig] = Field(default_factory=list)
    """The servers to talk to, in sidebar order."""
    default_server: str | None = None
    """The server `ask` uses when `--server` is not given (the first enabled one when unset)."""
    theme: str = "textual-dark"
    """A built-in Textual theme or one from a theme file."""
    transcript_format: TranscriptFormat = "json"
    """How transcripts are written: json (fast, the default) or toml (easier to read by hand)."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Key overrides by binding id, e.g. `{ send = "ctrl+s", new-chat = "alt+n" }`; several keys
    for one action are separated by commas. F1 lists every id with the key it has now."""
    show_sidebar: bool = True
    """Whether the sidebar is open at start."""
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Prices by model (the OpenAI model name, the Devic or Devs assistant id, the agent slug), e.g.
    `prices.gpt-4o = { input = 2.5, output = 10 }`: the usage view and `devic-tui usage` then show
    what the tokens cost. No price, no cost column."""
    bell_on_answer: bool = False
    """Ring the terminal bell when an answer finishes or fails in a chat you are not looking at
    (a notification says so either way)."""

    def keymap_by_id(self) -> dict[str, str]:
        """The keymap with ids as F1 shows them: environment variables cannot hold "-", so
        `DEVIC_TUI_KEYMAP__NEW_CHAT` means `new-chat`."""
        return {name.replace("_", "-").lower(): keys for name, keys in self.keymap.items()}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_path.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None and path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def enabled_servers(self) -> list[ServerConfig]:
        return [server for server in self.servers if server.enabled]

    def server(self, name: str) -> ServerConfig:
        for server in self.servers:
            if server.name == name:
                return server
        known = ", ".join(s.name for s in self.servers) or "none configured"
        raise ConfigError(f"no server named '{name}' (known: {known})")

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for server in self.servers:
            if server.name in seen:
                raise ValueError(f"two servers are named '{server.name}'")
            seen.add(server.name)
        return self


def _describe(error: ValidationError, path: Path) -> str:
    lines = [f"config file {path} has errors:"]
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {field}: {item['msg']}")
    return "\n".join(lines)


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; raise ConfigError with a readable message when they are wrong."""
    path = path or locations.config_file()
    token = _config_path.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error, path)) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"config file {path} cannot be read: {error.strerror}") from None
    finally:
        _config_path.reset(token)


def permission_warnings(settings: Settings, path: Path) -> list[str]:
    """Warnings for a config file holding a token that others on this machine can read."""
    if not any(server.token for server in settings.servers) or not path.exists():
        return []
    if path.stat().st_mode & 0o077:
        return [
            f"{path} holds a token and can be read by other users: run chmod 600 on it, "
            "or move the token to token_env or token_command"
        ]
    return []


def settings_for(path: Path, *, demo: bool = False) -> tuple[Settings, list[str]]:
    """The file's settings and the warnings about it; with `demo`, one demo server and nothing else
    (the file's own demo entry where it has one, with the assistants it sets up). Raises ConfigError
    with a readable message when the file is wrong."""
    settings = load_settings(path)
    warnings = permission_warnings(settings, path)
    if demo:
        own = next((s for s in settings.servers if s.kind == "demo" and s.enabled), None)
        entry = (own or ServerConfig(name="demo", kind="demo")).model_copy(update={"name": "demo"})
        settings = settings.model_copy(update={"servers": [entry], "default_server": None})
    return settings, warnings
