"""What the emulated OpenAI-compatible API says of its models' context windows, like the server
`EmulatorOptions.openai_server` names: vLLM's `max_model_len` in each `/v1/models` entry, nothing
(OpenAI's own API), or the native routes a client asks instead (shapes as the servers document them):

- Ollama: `/v1/models` entries `owned_by: library`; `POST /api/show {"model"}` answers with
  `model_info` (`general.architecture`, `<architecture>.context_length`) and `parameters` (the
  Modelfile's PARAMETER lines as one text; `long` sets `num_ctx` there, below its trained length).
- LM Studio: `/v1/models` entries `owned_by: organization_owner`; `GET /api/v0/models/{id}`
  answers with `max_context_length`, and `loaded_context_length` for a loaded model (`echo` is
  loaded with less than its maximum, the others are not loaded).

The windows: `long` holds 49152 tokens, so a long chat (about 12k tokens an answer) fills it in
four answers; every other model 32768. The native routes refuse like the rest of the emulator
(`unauthorized` 401, unknown names 404), answer `junk` with HTML, and answer 404 to everything when
`unlisting_apis` names their server."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from devic_tui.emulator.common import (
    ApiError,
    EmulatorOptions,
    apply_faults,
    endpoint,
    read_json,
    state_of,
)

OLLAMA = "ollama"
LMSTUDIO = "lmstudio"
DEFAULT_WINDOW = 32768
WINDOWS = {"long": 49152}
"""Context windows in tokens, by model (DEFAULT_WINDOW for the others)."""
TRAINED_LENGTH = 131072
"""What the models were "trained for": Ollama's `model_info` length where `num_ctx` is set lower,
LM Studio's `max_context_length` of a loaded model."""
OLLAMA_NUM_CTX = frozenset({"long"})
LMSTUDIO_LOADED = frozenset({"echo"})
ARCHITECTURE = "llama"


def window_of(name: str) -> int:
    return WINDOWS.get(name, DEFAULT_WINDOW)


def model_fields(options: EmulatorOptions, name: str) -> dict[str, Any]:
    """The fields of a `/v1/models` entry that depend on the server emulated (owner, window)."""
    if options.openai_server == "vllm":
        return {"max_model_len": window_of(name)}
    if options.openai_server == "ollama":
        return {"owned_by": "library"}
    if options.openai_server == "lmstudio":
        return {"owned_by": "organization_owner"}
    return {}


def render_error(error: ApiError) -> Response:
    """Ollama and LM Studio answer errors as `{"error": message}`."""
    return JSONResponse({"error": error.message}, status_code=error.status)


def _serving(request: Request, server: str) -> None:
    options = state_of(request).options
    if options.openai_server != server or server in options.unlisting_apis:
        raise ApiError(404, "404 page not found")


@endpoint(OLLAMA, render_error)
async def ollama_show(request: Request) -> Response:
    _serving(request, OLLAMA)
    body = await read_json(request)
    name = (body.get("model") or body.get("name")) if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise ApiError(400, "model is required")
    if name == "junk":
        return Response("<html><body>Bad gateway</body></html>", media_type="text/html")
    try:
        apply_faults(state_of(request), OLLAMA, name, on_send=False)
    except ApiError as error:
        if error.status != 404:
            raise
        raise ApiError(404, f"model '{name}' not found") from None
    window = window_of(name)
    parameters = ['stop                           "<|eot_id|>"']
    if name in OLLAMA_NUM_CTX:
        parameters.insert(0, f"num_ctx                        {window}")
    trained = TRAINED_LENGTH if name in OLLAMA_NUM_CTX else window
    return JSONResponse(
        {
            "modelfile": f"FROM {name}\n",
            "parameters": "\n".join(parameters),
            "template": "{{ .Prompt }}",
            "details": {"format": "gguf", "family": ARCHITECTURE, "parameter_size": "8.0B"},
            "model_info": {
                "general.architecture": ARCHITECTURE,
                "general.parameter_count": 8_030_261_248,
                f"{ARCHITECTURE}.context_length": trained,
                f"{ARCHITECTURE}.embedding_length": 4096,
            },
            "capabilities": ["completion"],
            "modified_at": "2024-05-01T12:00:00Z",
        }
    )


@endpoint(LMSTUDIO, render_error)
async def lmstudio_model(request: Request) -> Response:
    _serving(request, LMSTUDIO)
    name = request.path_params["model"]
    if name == "junk":
        return Response("<html><body>Bad gateway</body></html>", media_type="text/html")
    try:
        apply_faults(state_of(request), LMSTUDIO, name, on_send=False)
    except ApiError as error:
        if error.status != 404:
            raise
        raise ApiError(404, f"Model {name} not found") from None
    model: dict[str, Any] = {
        "id": name,
        "object": "model",
        "type": "llm",
        "publisher": "devic-emulator",
        "arch": ARCHITECTURE,
        "compatibility_type": "gguf",
        "quantization": "Q4_K_M",
        "state": "loaded" if name in LMSTUDIO_LOADED else "not-loaded",
        "max_context_length": TRAINED_LENGTH if name in LMSTUDIO_LOADED else window_of(name),
    }
    if name in LMSTUDIO_LOADED:
        model["loaded_context_length"] = window_of(name)
    return JSONResponse(model)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/show", ollama_show, methods=["POST"]),
        Route("/api/v0/models/{model:path}", lmstudio_model, methods=["GET"]),
    ]
