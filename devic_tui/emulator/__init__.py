"""The loopback API emulator: a real HTTP server (Starlette on uvicorn, 127.0.0.1) that serves all four
APIs of the contract with state, for the tests and for `devic-tui --demo`. No Textual here.

Every API routes by the name of the assistant (Devic identifier, agent slug, OpenAI model, Devs AI id).
Names and what they do, the same in every API:

- `echo`: a Markdown answer quoting what was sent, attachments included.
- `markdown`: a tour of Markdown: headings, lists, a table, code in three languages.
- `long`: a very long Markdown answer with many code blocks (about 80 KB).
- `fences`: about 13.5 KB with 125 small code blocks.
- `slow`: the echo answer in slow chunks (`EmulatorOptions.slow_delay` apart).
- `ratelimit-once`: 429 with `Retry-After: 1` on the first send, then like `echo`.
- `flaky`: 500 on the first two sends, then like `echo`.
- `unauthorized`: 401 on every call.
- `missing`: 404 on every call (so does any unknown name).
- `junk`: 200 whose body is not what the API promises.
- `cut`: the stream (or the answer body) stops half way and the connection drops.
- `tools`: asks for user input through a tool call first (Devs; Devic in async mode).
- `huge`: a stream of more than 10 MB.
- `hang`: sends a little, then stays silent for a long time.
- `limited`: like `echo`, but near a limit (OpenAI-compatible API): 4 of 100 requests left, the
  model gateway's `devic` usage block in each answer, then 429 TENANT_LIMIT_EXCEEDED until the
  window starts again (`quotas`).

Any bearer token works except the literal `bad-token` (401); a request without a token gets 401.
The Devs API also refuses creating or editing AIs with the token `readonly-token` (403).

Devs knowledge (`devs_knowledge`): data sources index over `EmulatorOptions.index_seconds`
(INITIALIZED, INDEXING with a rising percentage, COMPLETED); a file whose name holds `broken` ends
FAILED; the `hostile` AI starts with a data source whose name holds escape codes.

`EmulatorOptions` sets the pacing, and a few behaviours of a whole API rather than of one name: an
assistant listing that answers 404 (`unlisting_apis`), the length of the `long` answer
(`long_chars`), Devic answers shaped like those of a server generated from the OpenAPI
document (`devic_generated_answers`), and which server the OpenAI-compatible API's model listing is
like, and so where a model's context window is found (`openai_server`: vLLM, OpenAI, Ollama, LM
Studio; see `model_servers`).
"""

from devic_tui.emulator.server import EmulatorOptions, EmulatorServer

__all__ = ["EmulatorOptions", "EmulatorServer"]
