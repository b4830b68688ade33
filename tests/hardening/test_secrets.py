"""A token never leaves memory: after a full session (the app on every kind of demo server, a file
attached, a refused send, a screenshot, exports, then the command line: ask, a refused ask, chats,
show, export, config check), no file anywhere under the test's folders holds it, and neither do logs,
notifications, errors, or the repr/str of any object that carries it."""

from __future__ import annotations

import concurrent.futures
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from pydantic import SecretStr

from devic_tui.app import DevicTuiApp
from devic_tui.config import ServerConfig, Settings
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorServer
from devic_tui.providers.errors import ProviderError
from devic_tui.providers.http import HttpClient
from devic_tui.providers.registry import create_provider
from devic_tui.store.export import to_json, to_markdown, to_toml
from tests.cli.conftest import Result, agent_server
from tests.ui.conftest import current, pick, send, settle

SECRET = "sk-HARDEN-7c1e0f-QX92-zz"
TOKEN_ENV = "DEVIC_HARDEN_SECRET"
FILES = Path(__file__).parents[1] / "ui" / "files"


def every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def assert_nowhere(root: Path) -> list[Path]:
    """No file under `root` holds the token, in any of the encodings it could be written in."""
    needles = [SECRET.encode(), SECRET.encode("utf-16-le"), SECRET.encode("utf-16-be")]
    found = every_file(root)
    for path in found:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"the token is in {path}"
    return found


@pytest.fixture
def errors_made(monkeypatch: pytest.MonkeyPatch) -> list[ProviderError]:
    """Every ProviderError constructed while the test runs."""
    made: list[ProviderError] = []
    original = ProviderError.__init__

    def recording(self: ProviderError, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(ProviderError, "__init__", recording)
    return made


def secret_servers(emulator: EmulatorServer) -> list[ServerConfig]:
    return [
        server.model_copy(update={"token": None, "token_env": TOKEN_ENV, "poll_interval": 0.05})
        for server in demo_servers(emulator.base_url)
    ]


async def test_a_full_session_writes_the_token_nowhere(
    emulator: EmulatorServer,
    make_app: Callable[..., DevicTuiApp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    errors_made: list[ProviderError],
    write_config: Callable[..., Path],
    cli_process: Callable[..., Result],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    caplog.set_level(logging.DEBUG)
    exports = tmp_path / "exports"
    exports.mkdir()
    texts: list[str] = []

    # --- the app, on every kind of server -------------------------------------------------------
    app = make_app(servers=secret_servers(emulator))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        for kind in ("devic", "devs", "agent", "openai"):
            await pick(pilot, screen, f"demo-{kind}", "echo")
            if kind in ("devs", "agent"):  # one uploads, one inlines
                await current(screen).add_files([FILES / "hello.py"])
                await pilot.pause(0.3)
            await send(pilot, screen, f"hello {kind} server")
            screen = await settle(pilot)
            await send(pilot, screen, "and once more")
            screen = await settle(pilot)
            assert current(screen).pane.views()[-1].data.status == "complete"
            conversation = current(screen).conversation
            assert conversation is not None
            for name, write in (("md", to_markdown), ("json", to_json), ("toml", to_toml)):
                (exports / f"{kind}.{name}").write_text(write(conversation), encoding="utf-8")
        await pick(pilot, screen, "demo-agent", "unauthorized")
        await send(pilot, screen, "this one is refused")
        screen = await settle(pilot)
        refused = current(screen).pane.views()[-1].data
        assert refused.status == "failed"
        assert refused.error
        (tmp_path / "screenshot.svg").write_text(app.export_screenshot(), encoding="utf-8")
        texts += [n.message + n.title for n in app._notifications]
        texts += [str(v.data) for v in current(screen).pane.views()]
        providers = list(app.service._providers.values())
        assert len(providers) == len(demo_servers(emulator.base_url))
        texts += [repr(p) for p in providers] + [str(p) for p in providers]
        texts += [repr(p._http) for p in providers if hasattr(p, "_http")]
        texts += [repr(app.service.settings), str(app.service.settings)]
    assert any("refused" in t or "401" in t for t in texts)  # the refusal was said

    # --- the command line, in real processes ----------------------------------------------------
    servers = [
        {k: v for k, v in agent_server(emulator.base_url, token_env=TOKEN_ENV).items() if k != "token"},
        {"name": "oa", "kind": "openai", "base_url": f"{emulator.base_url}/v1", "token_env": TOKEN_ENV},
    ]
    config = write_config(servers)
    assert SECRET not in config.read_text()
    asked = cli_process("--config", config, "ask", "-a", "echo", "--attach", FILES / "notes.md", "hi there")
    assert asked.code == 0, asked.err
    chat = re.search(r"conversation: (\w+)", asked.err)
    assert chat is not None
    commands: list[tuple[str | Path, ...]] = [
        ("ask", "-s", "oa", "-a", "echo", "hello openai"),
        ("ask", "-a", "unauthorized", "refused please"),
        ("chats",),
        ("show", chat.group(1)),
        ("export", chat.group(1), "-f", "json", "-o", exports / "cli.json"),
        ("export", chat.group(1), "-f", "md", "-o", exports / "cli.md"),
        ("config", "check"),
        ("--debug", "ask", "-a", "cut", "broken off"),
    ]
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:  # real processes, side by side
        runs = [asked, *pool.map(lambda args: cli_process("--config", config, *args), commands)]
    assert runs[2].code == 3
    assert "refused the token" in runs[2].err
    assert (exports / "cli.json").exists()
    assert (exports / "cli.md").exists()
    texts += [r.out + r.err for r in runs]

    # --- objects that hold it -------------------------------------------------------------------
    inline = ServerConfig(name="inline", kind="openai", token=SecretStr(SECRET), base_url="https://x.example")
    settings = Settings(servers=[inline])
    http = HttpClient(inline)
    provider = create_provider(inline)
    await http._auth_headers()  # the token resolved and held
    texts += [repr(inline), str(inline), repr(settings), str(settings), repr(http), str(http)]
    texts += [repr(provider), str(provider), inline.model_dump_json(), settings.model_dump_json()]
    await http.aclose()
    await provider.aclose()

    # --- nothing anywhere -----------------------------------------------------------------------
    assert errors_made, "the session raised no ProviderError: the refusal was not exercised"
    texts += [str(e) for e in errors_made] + [repr(e) for e in errors_made]
    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    for text in texts:
        assert SECRET not in text, text
    written = assert_nowhere(tmp_path)
    names = {p.name for p in written}
    assert any(n.endswith(".sqlite3") for n in names), names
    assert sum(1 for p in written if "transcripts" in p.parts) >= 6, names
    assert {"screenshot.svg", "cli.json", "cli.md", "devs.json"} <= names


def test_the_walk_finds_a_token_written_in_the_usual_ways(tmp_path: Path) -> None:
    """The check itself: a token in a TOML file, a UTF-16 file or a SQLite database is found."""
    import sqlite3

    (tmp_path / "a.toml").write_text(tomli_w.dumps({"token": SECRET}))
    with pytest.raises(AssertionError):
        assert_nowhere(tmp_path)
    (tmp_path / "a.toml").unlink()
    (tmp_path / "b.txt").write_bytes(SECRET.encode("utf-16-le"))
    with pytest.raises(AssertionError):
        assert_nowhere(tmp_path)
    (tmp_path / "b.txt").unlink()
    db = sqlite3.connect(tmp_path / "c.sqlite3")
    db.execute("create table t (x text)")
    db.execute("insert into t values (?)", (SECRET,))
    db.commit()
    db.close()
    with pytest.raises(AssertionError):
        assert_nowhere(tmp_path)
