"""The emulator's HTTP server: one Starlette app with every API's routes, run by uvicorn on a loopback
port, either in a background thread (tests, `--demo`) or in the foreground (`devic-tui emulator`)."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from devic_tui.emulator import agent, devic, devs, model_servers, openai
from devic_tui.emulator.common import EmulatorOptions, EmulatorState

__all__ = ["EmulatorOptions", "EmulatorServer", "EmulatorTLS", "build_app"]

_START_TIMEOUT = 10.0


def build_app(state: EmulatorState) -> Starlette:
    routes: list[BaseRoute] = [
        *devic.routes(),
        *devs.routes(),
        *agent.routes(),
        *openai.routes(),
        *model_servers.routes(),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app


def _silence_uvicorn() -> None:
    """uvicorn's own logging would draw over the TUI and report the `cut` fault as a crash."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it uvicorn's separate header and body writes wait
    # on the client's delayed ACK, about 40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass(frozen=True)
class EmulatorTLS:
    """Serve https:// with these PEM files (tests of the client's certificate settings)."""

    certfile: str
    """The server's certificate chain, with its key unless `keyfile` is given."""
    keyfile: str | None = None
    client_ca: str | None = None
    """When set, every client must present a certificate signed by this CA."""


class EmulatorServer:
    """The emulator on 127.0.0.1; port 0 picks a free one. Use as a context manager or start/stop."""

    def __init__(
        self,
        options: EmulatorOptions | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: EmulatorTLS | None = None,
    ) -> None:
        self.state = EmulatorState(options=options or EmulatorOptions())
        self.host = host
        self.tls = tls
        self._socket = _bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        _silence_uvicorn()
        self._app = build_app(self.state)
        tls_settings: dict[str, Any] = {}
        if tls is not None:
            tls_settings = {
                "ssl_certfile": tls.certfile,
                "ssl_keyfile": tls.keyfile,
                "ssl_ca_certs": tls.client_ca,
                "ssl_cert_reqs": ssl.CERT_REQUIRED if tls.client_ca else ssl.CERT_NONE,
            }
        config = uvicorn.Config(self._app, log_config=None, lifespan="off", access_log=False, **tls_settings)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def reset(self, options: EmulatorOptions | None = None) -> EmulatorState:
        """Forget every chat, file and fault count (tests share one server and reset it)."""
        self.state = EmulatorState(options=options or self.state.options)
        self._app.state.emulator = self.state
        return self.state

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="devic-tui-emulator",
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (`devic-tui emulator`)."""
        self._server.run(sockets=[self._socket])

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
