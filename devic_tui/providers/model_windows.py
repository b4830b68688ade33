"""A model's context window as an OpenAI-compatible server tells it, for the context meter.

Where servers say it (each checked against the server's own code or documentation):
- in the model's `GET {base}/models` entry: vLLM `max_model_len`; OpenRouter `context_length` (and
  `top_provider.context_length`); Groq and others `context_window`; LM Studio's native listing and
  Mistral `max_context_length`, LM Studio `loaded_context_length` for a loaded model;
- Ollama (its `/v1/models` entries carry `owned_by` = the model's namespace, `library` for the
  models of its library, and no window): `POST {root}/api/show {"model": id}`, whose `model_info`
  holds `<architecture>.context_length` and whose `parameters` (Modelfile lines, one text) may set
  `num_ctx`;
- LM Studio (its `/v1/models` entries say `owned_by: organization_owner` and no window):
  `GET {root}/api/v0/models/{id}`, with `loaded_context_length` while the model is loaded and
  `max_context_length` always.

`{root}` is the base URL without its trailing `/v1`. Those requests go through the server's
HttpClient to the same origin as the base URL (so with its token, proxy, TLS and redirect rules).
Any failure means "the server does not say": None, logged at debug level, never raised."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from devic_tui.config import ServerConfig
from devic_tui.providers.errors import ProviderError
from devic_tui.providers.http import HttpClient
from devic_tui.providers.parsing import as_list, first_str

log = logging.getLogger("devic_tui.context")

ENTRY_KEYS = (
    "max_model_len",
    "context_length",
    "context_window",
    "loaded_context_length",
    "max_context_length",
)
"""Keys of a `/models` entry that hold the window, the first found wins (LM Studio's loaded length
before its maximum: the loaded one is what the server runs)."""
NESTED_ENTRY_KEYS = (("top_provider", "context_length"),)
"""The same, one object down (OpenRouter's figure for the provider it routes to first)."""

OLLAMA_PORT = 11434
OLLAMA_OWNER = "library"
LMSTUDIO_PORT = 1234
LMSTUDIO_OWNER = "organization_owner"


def as_tokens(value: Any) -> int | None:
    """A positive whole number of tokens from a JSON value (a number or digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def window_of_entry(entry: Any) -> int | None:
    """The window a `/models` entry (or LM Studio model object) states, if any."""
    if not isinstance(entry, dict):
        return None
    for key in ENTRY_KEYS:
        found = as_tokens(entry.get(key))
        if found is not None:
            return found
    for outer, inner in NESTED_ENTRY_KEYS:
        nested = entry.get(outer)
        found = as_tokens(nested.get(inner)) if isinstance(nested, dict) else None
        if found is not None:
            return found
    return None


def _num_ctx(parameters: Any) -> int | None:
    """`num_ctx` from Ollama's `parameters`: Modelfile PARAMETER lines such as `num_ctx   8192`."""
    if not isinstance(parameters, str):
        return None
    for line in parameters.splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx":
            return as_tokens(value.strip().strip('"'))
    return None


def window_of_ollama_show(body: Any) -> int | None:
    """The window of an Ollama `/api/show` answer.

    `num_ctx` when the model's Modelfile sets it: that is the context Ollama actually allocates and
    truncates prompts to. Otherwise `model_info["<architecture>.context_length"]`, the length the
    model was trained for. That one is an upper bound: without `num_ctx` Ollama runs the server's
    own default (`OLLAMA_CONTEXT_LENGTH`), which no API call reports; the model's figure is still
    the best the server says, and a config's `context_window` can always be set instead."""
    if not isinstance(body, dict):
        return None
    configured = _num_ctx(body.get("parameters"))
    if configured is not None:
        return configured
    info = body.get("model_info")
    if not isinstance(info, dict):
        return None
    architecture = first_str(info, ("general.architecture",))
    if architecture:
        found = as_tokens(info.get(f"{architecture}.context_length"))
        if found is not None:
            return found
    # An architecture named differently from its keys: any one `*.context_length` will do.
    lengths = [as_tokens(v) for k, v in info.items() if isinstance(k, str) and k.endswith(".context_length")]
    return next((n for n in lengths if n is not None), None)


def root_url(server: ServerConfig) -> str | None:
    """The base URL without its trailing `/v1` (where Ollama and LM Studio serve their own APIs);
    None when the base URL does not end with `/v1` (then the root cannot be told)."""
    parts = urlsplit(server.resolved_base_url)
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        return None
    return urlunsplit((parts.scheme, parts.netloc, path.removesuffix("/v1"), "", ""))


def _port(server: ServerConfig) -> int | None:
    try:
        return urlsplit(server.resolved_base_url).port
    except ValueError:
        return None


def looks_like_ollama(server: ServerConfig, entry: dict[str, Any] | None) -> bool:
    """Ollama's default port, or an entry owned by Ollama's library namespace."""
    owner = first_str(entry, ("owned_by",)) if entry else None
    return owner == OLLAMA_OWNER or _port(server) == OLLAMA_PORT


def looks_like_lmstudio(server: ServerConfig, entry: dict[str, Any] | None) -> bool:
    """LM Studio's default port, or an entry owned the way LM Studio's are."""
    owner = first_str(entry, ("owned_by",)) if entry else None
    return owner == LMSTUDIO_OWNER or _port(server) == LMSTUDIO_PORT


class ModelWindows:
    """One OpenAI-compatible server's model entries (kept from its model listing) and the windows
    read from them or from the server's native API."""

    def __init__(self, server: ServerConfig, http: HttpClient, models_path: str) -> None:
        self.server = server
        self.http = http
        self.models_path = models_path
        self.entries: dict[str, dict[str, Any]] = {}
        self._listed = False

    def remember(self, body: Any) -> None:
        """Keep the entries of a `/models` answer (every one, configured models included)."""
        self._listed = True
        for item in as_list(body, "models"):
            model_id = first_str(item, ("id", "name")) if isinstance(item, dict) else None
            if model_id:
                self.entries[model_id] = item

    async def _entry(self, model_id: str) -> dict[str, Any] | None:
        if model_id not in self.entries and not self._listed:
            self._listed = True  # asked once; a refused listing is not asked again
            try:
                self.remember(await self.http.request_json("GET", self.models_path))
            except ProviderError as error:
                log.debug("server %r: no model list for its context windows: %s", self.server.name, error)
        return self.entries.get(model_id)

    async def window(self, model_id: str) -> int | None:
        """The model's window as the server says it; None when it does not, or asking failed."""
        try:
            entry = await self._entry(model_id)
            found = window_of_entry(entry)
            if found is not None:
                return found
            root = root_url(self.server)
            if root is None:
                return None
            if looks_like_ollama(self.server, entry):
                body = await self.http.request_json("POST", f"{root}/api/show", json={"model": model_id})
                found = window_of_ollama_show(body)
            if found is None and looks_like_lmstudio(self.server, entry):
                body = await self.http.request_json("GET", f"{root}/api/v0/models/{quote(model_id, safe='')}")
                found = window_of_entry(body)
            return found
        except ProviderError as error:
            log.debug("server %r: no context window for %r: %s", self.server.name, model_id, error)
            return None
