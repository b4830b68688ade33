"""blackbox: the real app run in a real terminal emulator (tmux), timed by what the screen shows, to
check the figures the in-app benches (startup.py, stream_mixed.py, keys_while_streaming.py) measure
inside the process (`App.run_test`, a hook on `Screen._compositor_refresh`) against the terminal's view.

Setup, per run: a tmux server of our own (`tmux -L devic-blackbox-PID -f /dev/null`: never the
person's server or tmux.conf), one window of 120x40, TERM=xterm-256color, and for every launch a fresh
temporary HOME, XDG_CONFIG_HOME/XDG_DATA_HOME/XDG_CACHE_HOME/XDG_STATE_HOME and DEVIC_TUI_DATA_DIR (an
empty history; nothing is shared with the person's data). The config is
$XDG_CONFIG_HOME/devic-tui/config.toml (mode 0600, token in it): one agent server, assistant `long`,
at the paced server below (the same settings as `_common.bench_settings`). The app is
`.venv/bin/devic-tui`; the server is killed and the folders removed at the end of each run.

How the screen is read: one tmux control-mode client (`tmux -C attach -f no-output,ignore-size`, so
no pane output is sent to it and it never resizes the window) sends `capture-pane -p` (the pane's
text as tmux has parsed the app's output so far) and `send-keys`, with no process started per
command. A capture's round trip is printed (about 0.1 ms idle); the pane is captured every 2 ms
(--poll). A moment "on screen" is when the first capture showing it returned, so every figure is
late by up to one poll interval plus a capture's round trip: the "idle floor" below measures that.
All times are CLOCK_MONOTONIC (`time.monotonic()`), shared by every process on Linux.

Figures (median and worst: of the runs; for the starts, of every launch):
1. start: parent's clock just before it asks tmux to start the process (`respawn-pane`, the program
   executed directly, no shell) -> the first capture with the composer's box on screen (its top
   border titled "Message" and its bottom border), for the app with an empty history and for
   `devic-tui --demo` (which starts the embedded emulator); and for a bare Textual app with Header,
   Tree, VerticalScroll, TextArea, Footer (`bare_child()` here, its TextArea's border titled "Bare
   composer"; started as `python -c "import blackbox; blackbox.bare_child()"`, so that its bytecode
   comes from __pycache__ like the app's: `python bench/blackbox.py --bare-child` runs it too, but
   compiles this file first, ~25 ms), launched the same way in the same run, interleaved (--launches
   of each per run). Target: app <= 1.3x bare (medians). Also printed: a key sent once the composer
   showed -> on screen in it (it takes keys), and launch -> the chat ready ("New chat with ..." in
   the chat: the sidebar has listed the server; what startup.py's "first full frame" is, headless;
   with an early first frame of the app's own this comes later than the composer). Each launch is
   preceded by a blank pane and its previous process gone; one launch of each, not counted, warms the
   page cache first.
2. last text: `bench/_paced_server.py --text long --chunk-size 4 --rate 2000 --report FILE` (its own
   process; the report holds the monotonic time of each stream's last chunk write). "hello" and
   Enter through send-keys; then the pane is captured until the answer's last visible line (the last
   code line of `long_answer()`, "return x * 3 + 133", which its second-to-last chunk completes, 0.5 ms
   before the last) is on screen: the pane follows the bottom of the answer. Figure: last chunk
   written -> that line on screen; target <= 50 ms. Also: the stream's duration (server's first to
   last chunk) and the CPU the app, tmux and this script used per second of it.
3. keys while streaming: a second message ("again"); once the composer shows the answer coming
   ("answering..."), "z" goes to the composer every 100 ms (`send-keys -l`, timestamped just before
   the command is written) until the server has sent the last chunk; per key: sent -> the composer's
   text showing that many "z". Focus must stay in the composer after Enter: the first key not
   showing within 2 s is reported as such. Target: p95 <= 33 ms, max <= 60 ms. Idle floor: the same
   with no answer coming, 20 keys in the idle app after the stream (the poll interval, the capture,
   tmux's own reading of the pty, and the app's handling of a key at rest).

Run: .venv/bin/python bench/blackbox.py [--runs 3] [--launches 2] [--poll 2]
(about 30 s a run; needs tmux; other work on the machine shows in every figure: run it alone)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WIDTH, HEIGHT = 120, 40
APP_TITLE = "Message"
BARE_TITLE = "Bare composer"
READY_TEXT = "New chat with"
BUSY_TEXT = "answering"
KEY = "z"
KEY_INTERVAL = 0.1
IDLE_KEYS = 20
STREAM_TEXT, CHUNK, RATE = "long", 4, 2000.0


# ---- the bare app (child process) ----


def bare_child() -> None:
    """startup.py's bare app, its TextArea in a titled border so that it can be seen in the pane."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Footer, Header, Static, TextArea, Tree

    class Bare(App[None]):
        CSS = """
        Tree { height: 8; }
        #composer { height: 5; border: round $accent; }
        """
        AUTO_FOCUS = "#composer"

        def compose(self) -> ComposeResult:
            yield Header()
            tree: Tree[None] = Tree("servers")
            tree.root.add_leaf("bench")
            yield tree
            with VerticalScroll():
                yield Static("New chat")
            composer = TextArea(id="composer")
            composer.border_title = BARE_TITLE
            yield composer
            yield Footer()

    Bare().run()


# ---- tmux ----


class Tmux:
    """A private tmux server with one 120x40 pane, driven through one control-mode client."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.base = ["tmux", "-L", name, "-f", "/dev/null"]
        self.env = env
        self.socket: Path | None = None
        self.control: subprocess.Popen[bytes] | None = None
        self.capture_times: list[float] = []
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "bb", "-x", str(WIDTH), "-y", str(HEIGHT), "cat"],
            env=env,
            check=True,
        )
        try:
            self._attach()
        except BaseException:
            self.close()
            raise

    def _attach(self) -> None:
        self.control = subprocess.Popen(
            [*self.base, "-C", "attach-session", "-t", "bb", "-f", "no-output,ignore-size"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self.env,
            bufsize=0,
        )
        assert self.control.stdin is not None
        assert self.control.stdout is not None
        self._in = self.control.stdin
        self._out = self.control.stdout.fileno()
        self._buffer = b""
        self._sync()
        self.socket = Path(self.command("display -p '#{socket_path}'")[0])
        for option in (
            "set -g status off",
            "set -g window-size manual",
            "set -g remain-on-exit on",
            "set -g automatic-rename off",
            "set -g default-terminal xterm-256color",
            "set -g history-limit 100",
        ):
            self.command(option)
        self.pane = self.command("display -p -t bb '#{pane_id}'")[0]
        self.server_pid = int(self.command("display -p '#{pid}'")[0])
        size = self.command(f"display -p -t {self.pane} '#{{pane_width}}x#{{pane_height}}'")[0]
        assert size == f"{WIDTH}x{HEIGHT}", f"the pane is {size}, not {WIDTH}x{HEIGHT}"

    def _line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = os.read(self._out, 1 << 16)
            if not chunk:
                raise RuntimeError("the tmux control client went away")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _reply(self) -> list[str]:
        """The output block of our next command. Notifications (%...) are skipped, and so are blocks
        whose %begin flags are not 1: the attach's own reply, which may come after our first one."""
        while True:
            head = self._line()
            if not head.startswith(b"%begin"):
                continue
            lines: list[str] = []
            while not (end := self._line()).startswith((b"%end", b"%error")):
                lines.append(end.decode("utf-8", "replace"))
            if head.split()[-1] != b"1":
                continue
            if end.startswith(b"%error"):
                raise RuntimeError(f"tmux: {' '.join(lines)}")
            return lines

    def _sync(self) -> None:
        """Wait for the reply to a command of ours: the control client is then ready."""
        self._in.write(b"display -p 'devic-blackbox-sync'\n")
        while True:
            try:
                if self._reply() == ["devic-blackbox-sync"]:
                    return
            except RuntimeError:
                continue

    def command(self, line: str) -> list[str]:
        self._in.write(line.encode() + b"\n")
        return self._reply()

    def capture(self) -> tuple[list[str], float, float]:
        """The pane's text; when the capture was asked and when it came back."""
        sent = time.monotonic()
        self._in.write(f"capture-pane -p -t {self.pane}\n".encode())
        lines = self._reply()
        got = time.monotonic()
        self.capture_times.append(got - sent)
        return lines, sent, got

    def send_text(self, text: str) -> float:
        """Type `text` literally; the time just before the command was written."""
        assert "'" not in text
        sent = time.monotonic()
        self._in.write(f"send-keys -t {self.pane} -l '{text}'\n".encode())
        self._reply()
        return sent

    def send_key(self, key: str) -> float:
        sent = time.monotonic()
        self._in.write(f"send-keys -t {self.pane} {key}\n".encode())
        self._reply()
        return sent

    def pane_pid(self) -> int:
        return int(self.command(f"display -p -t {self.pane} '#{{pane_pid}}'")[0])

    def respawn(self, argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
        """Kill what runs in the pane and start argv there; the time just before asking."""
        words = [*(f"-e '{key}={value}'" for key, value in env.items()), *(f"'{arg}'" for arg in argv)]
        assert not any("'" in item for item in [*argv, *env.values()]), "no quotes in paths, please"
        line = f"respawn-pane -k -t {self.pane} -c '{cwd}' " + " ".join(words)
        sent = time.monotonic()
        self.command(line)
        return sent

    def blank(self, limit: float = 10.0) -> None:
        """Stop what runs in the pane, wait until it is gone, and wait for a blank pane."""
        old = self.pane_pid()
        self.command(f"respawn-pane -k -t {self.pane} cat")
        self.command(f"clear-history -t {self.pane}")
        deadline = time.monotonic() + limit
        while Path(f"/proc/{old}").exists() or any(line.strip() for line in self.capture()[0]):
            if time.monotonic() > deadline:
                raise RuntimeError("the pane did not become blank (or its process did not exit)")
            time.sleep(0.01)

    def close(self) -> None:
        """Kill the server (and with it the pane's process), and remove its socket."""
        subprocess.run([*self.base, "kill-server"], env=self.env, capture_output=True, check=False)
        if self.control is not None:
            with contextlib.suppress(Exception):
                self._in.close()
            try:
                self.control.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.control.kill()
        if self.socket is not None:
            self.socket.unlink(missing_ok=True)


# ---- reading the screen ----


@dataclass
class Box:
    text: str
    """What is inside the border (lines joined)."""
    subtitle: str
    """The bottom border's text."""


def find_box(lines: Sequence[str], title: str) -> Box | None:
    """The rounded box whose top border begins with `title`, when it is wholly on screen."""
    head = f"╭─ {title} "
    for row, line in enumerate(lines):
        column = line.find(head)
        if column < 0:
            continue
        inside: list[str] = []
        for below in lines[row + 1 :]:
            if below[column : column + 1] == "╰":
                subtitle = below[column + 1 :].rstrip().rstrip("╯").strip("─ ")
                return Box("\n".join(inside), subtitle)
            right = below.rfind("│")
            inside.append(below[column + 1 : right] if right > column else below[column + 1 :])
        return None
    return None


def keys_in(lines: Sequence[str], title: str) -> int:
    box = find_box(lines, title)
    return box.text.count(KEY) if box else -1


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timeout(RuntimeError):
    def __init__(self, what: str, lines: Sequence[str]) -> None:
        screen = "\n".join(f"    |{line}" for line in lines)
        super().__init__(f"timed out waiting for {what}; the pane showed:\n{screen}")


@dataclass
class Typist:
    """Keys sent into a composer and when each showed there."""

    tmux: Tmux
    title: str
    typed: int = 0
    pending: deque[tuple[float, int]] = field(default_factory=deque)
    latencies: list[float] = field(default_factory=list)

    def send(self) -> None:
        self.typed += 1
        self.pending.append((self.tmux.send_text(KEY), self.typed))

    def observe(self, lines: Sequence[str], seen: float) -> None:
        shown = keys_in(lines, self.title)
        while self.pending and self.pending[0][1] <= shown:
            self.latencies.append(seen - self.pending.popleft()[0])


class Poller:
    def __init__(self, tmux: Tmux, poll: float) -> None:
        self.tmux = tmux
        self.poll = poll

    def until(
        self,
        what: str,
        found: Callable[[list[str]], bool],
        *,
        limit: float,
        each: Callable[[list[str], float], None] | None = None,
        wake: Callable[[], float] | None = None,
    ) -> tuple[float, list[str]]:
        """Capture every `poll` s until `found`; the time the first capture that showed it came back.
        `each` sees every capture; `wake` (when given) says when the loop must run next at the latest."""
        deadline = time.monotonic() + limit
        while True:
            lines, sent, got = self.tmux.capture()
            if each is not None:
                each(lines, got)
            if found(lines):
                return got, lines
            if got > deadline:
                raise Timeout(what, lines)
            until = sent + self.poll
            if wake is not None:
                until = min(until, wake())
            time.sleep(max(0.0, until - time.monotonic()))


# ---- one run ----


@dataclass
class Launch:
    composer: float
    key: float | None
    ready: float | None


@dataclass
class RunFigures:
    starts: dict[str, list[Launch]] = field(default_factory=dict)
    last_text: float | None = None
    stream_total: float = 0.0
    enter_to_last: float = 0.0
    cpu: str = ""
    keys: list[float] = field(default_factory=list)
    keys_lost: int = 0
    focus_kept: bool = True
    idle: list[float] = field(default_factory=list)
    captures_streaming: list[float] = field(default_factory=list)


def app_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "devic-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "devic_tui"]


def write_config(config_home: Path, port: int) -> None:
    """`_common.bench_settings` as a person's TOML file (token in it, so mode 0600)."""
    folder = config_home / "devic-tui"
    folder.mkdir(parents=True)
    path = folder / "config.toml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(
            "[[servers]]\n"
            'name = "bench"\n'
            'kind = "agent"\n'
            f'base_url = "http://127.0.0.1:{port}/v1/api"\n'
            'token = "bench-token"\n'
            "read_timeout = 30.0\n\n"
            "[[servers.assistants]]\n"
            'id = "long"\n'
            'name = "long"\n'
        )


class Run:
    def __init__(self, root: Path, port: int, report: Path, poll: float) -> None:
        self.root = root
        self.port = port
        self.report = report
        self.launches = 0
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "HOME": str(root / "home"),
        }
        (root / "home").mkdir()
        self.tmux = Tmux(f"devic-blackbox-{os.getpid()}", self.env)
        self.poller = Poller(self.tmux, poll)

    def fresh_env(self, *, config: bool) -> dict[str, str]:
        """A HOME and XDG folders of this launch's own (with the bench config when `config`)."""
        self.launches += 1
        home = self.root / f"launch-{self.launches}"
        env = {
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_STATE_HOME": str(home / "state"),
            "DEVIC_TUI_DATA_DIR": str(home / "devic-tui-data"),
        }
        if "TEXTUAL_FPS" in os.environ:  # to compare Textual's update rates (the app sets 240)
            env["TEXTUAL_FPS"] = os.environ["TEXTUAL_FPS"]
        for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            Path(env[key]).mkdir(parents=True)
        if config:
            write_config(Path(env["XDG_CONFIG_HOME"]), self.port)
        return env

    def launch(self, kind: str) -> Launch:
        """Start `kind` (bare, app, demo) in a blank pane; time its composer, a key, and the chat."""
        self.tmux.blank()
        if kind == "bare":
            # Imported, not run as a script: a script is compiled at every start (~25 ms here), a
            # module's bytecode comes from __pycache__ as the app's does.
            code = f'import sys; sys.path.insert(0, "{BENCH_DIR}"); import blackbox; blackbox.bare_child()'
            argv, title = [sys.executable, "-c", code], BARE_TITLE
        else:
            argv, title = app_command() + (["--demo"] if kind == "demo" else []), APP_TITLE
        env = self.fresh_env(config=kind == "app")
        started = self.tmux.respawn(argv, env, ROOT)
        typist = Typist(self.tmux, title)
        ready: list[float] = []

        def chat_ready(lines: list[str], got: float) -> None:
            if kind != "bare" and not ready and any(READY_TEXT in line for line in lines):
                ready.append(got)

        seen, _ = self.poller.until(
            f"the {kind} composer",
            lambda lines: find_box(lines, title) is not None,
            limit=30,
            each=chat_ready,
        )
        typist.send()

        def each(lines: list[str], got: float) -> None:
            typist.observe(lines, got)
            chat_ready(lines, got)

        with contextlib.suppress(Timeout):
            self.poller.until(
                f"the key and the {kind} chat ready",
                lambda lines: not typist.pending and (kind == "bare" or bool(ready)),
                limit=15,
                each=each,
            )
        key = typist.latencies[0] if typist.latencies else None
        return Launch(seen - started, key, ready[0] - started if ready else None)

    def reports(self) -> list[tuple[float, float, int]]:
        if not self.report.exists():
            return []
        rows = [line.split() for line in self.report.read_text().splitlines() if line.strip()]
        return [(float(a), float(b), int(c)) for a, b, c in rows]

    def wait_report(self, count: int, limit: float = 30.0) -> tuple[float, float, int]:
        deadline = time.monotonic() + limit
        while len(found := self.reports()) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("the paced server did not report the stream's end")
            time.sleep(0.005)
        return found[count - 1]

    def idle_composer(self, lines: list[str]) -> bool:
        box = find_box(lines, APP_TITLE)
        return box is not None and BUSY_TEXT not in box.subtitle

    def streams(self, figures: RunFigures, marker: str) -> None:
        """Last text on screen (stream A), keys while streaming (stream B), then the idle floor."""
        self.tmux.blank()
        env = self.fresh_env(config=True)
        self.tmux.respawn(app_command(), env, ROOT)
        self.poller.until(
            "the chat ready",
            lambda lines: any(READY_TEXT in line for line in lines) and self.idle_composer(lines),
            limit=30,
        )
        time.sleep(0.3)  # let the start finish (drafts, the sidebar) before timing anything
        app_pid = self.tmux.pane_pid()
        before = len(self.reports())

        # A: last chunk -> last text on screen
        self.tmux.send_text("hello")
        self.poller.until(
            "hello in the composer",
            lambda lines: "hello" in (find_box(lines, APP_TITLE) or Box("", "")).text,
            limit=5,
        )
        cpu = (cpu_seconds(app_pid), cpu_seconds(self.tmux.server_pid), own_cpu())
        captured = len(self.tmux.capture_times)
        enter = self.tmux.send_key("Enter")
        try:
            seen, _ = self.poller.until(
                f"{marker!r} on screen", lambda lines: any(marker in line for line in lines), limit=60
            )
        except Timeout as problem:
            print(f"    the answer's last line never showed (does the pane follow the answer?): {problem}")
            seen = None
        first, last, _ = self.wait_report(before + 1)
        used = (cpu_seconds(app_pid), cpu_seconds(self.tmux.server_pid), own_cpu())
        wall = time.monotonic() - enter
        figures.cpu = ", ".join(
            f"{name} {(after - start) / wall:.2f}"
            for name, start, after in zip(("app", "tmux", "this script"), cpu, used, strict=True)
        )
        figures.captures_streaming = self.tmux.capture_times[captured:]
        figures.stream_total = last - first
        if seen is not None:
            figures.last_text = seen - last
            figures.enter_to_last = seen - enter
        self.poller.until("the answer finished", self.idle_composer, limit=30)

        # B: keys while streaming
        time.sleep(0.2)
        self.tmux.send_text("again")
        self.poller.until(
            "again in the composer",
            lambda lines: "again" in (find_box(lines, APP_TITLE) or Box("", "")).text,
            limit=5,
        )
        self.tmux.send_key("Enter")
        self.poller.until(
            "the second answer coming",
            lambda lines: not self.idle_composer(lines) and keys_in(lines, APP_TITLE) == 0,
            limit=10,
        )
        typist = Typist(self.tmux, APP_TITLE)
        typist.send()
        try:
            self.poller.until(
                "the first key in the composer",
                lambda lines: not typist.pending,
                limit=2,
                each=typist.observe,
            )
        except Timeout:
            figures.focus_kept = False
            print("    the first key sent while streaming did not show in the composer: focus left it?")
        else:
            next_key = time.monotonic() + KEY_INTERVAL
            ended: list[float] = []  # when the server's report said the last chunk went: typing stops

            def each(lines: list[str], got: float) -> None:
                nonlocal next_key
                typist.observe(lines, got)
                if not ended and len(self.reports()) > before + 1:
                    ended.append(got)
                if not ended and time.monotonic() >= next_key:
                    typist.send()
                    next_key += KEY_INTERVAL

            with contextlib.suppress(Timeout):
                self.poller.until(
                    "every key on screen",
                    lambda lines: bool(ended) and (not typist.pending or time.monotonic() > ended[0] + 3),
                    limit=60,
                    each=each,
                    wake=lambda: next_key,
                )
            figures.keys = typist.latencies
            figures.keys_lost = len(typist.pending)
        self.wait_report(before + 2)
        self.poller.until("the second answer finished", self.idle_composer, limit=30)

        # the idle floor
        time.sleep(0.3)
        idle = Typist(self.tmux, APP_TITLE, typed=max(0, keys_in(self.tmux.capture()[0], APP_TITLE)))
        for _ in range(IDLE_KEYS):
            idle.send()
            next_key = time.monotonic() + KEY_INTERVAL
            with contextlib.suppress(Timeout):
                self.poller.until("an idle key", lambda lines: not idle.pending, limit=2, each=idle.observe)
            time.sleep(max(0.0, next_key - time.monotonic()))
        figures.idle = idle.latencies
        figures.keys_lost += len(idle.pending)

    def close(self) -> None:
        """Stop the app and wait until it has exited (the next run starts on a quiet machine), then
        the tmux server."""
        with contextlib.suppress(Exception):
            self.tmux.blank()
        self.tmux.close()


def last_line(text: str) -> str:
    """The answer's last visible line (its last non-blank line that is not a code fence)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("```")]
    marker = lines[-1]
    assert len(re.findall(re.escape(marker), text)) == 1, f"{marker!r} is not unique in the answer"
    return marker


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f}"


def spread_ms(values: Sequence[float], digits: int = 0) -> str:
    """'p50 A / p95 B / max C ms' (values in seconds)."""
    from _common import percentile

    if not values:
        return "n/a"
    p50, p95, top = (percentile(values, 50), percentile(values, 95), max(values))
    return f"p50 {p50 * 1000:.{digits}f} / p95 {p95 * 1000:.{digits}f} / max {top * 1000:.{digits}f} ms"


def report_run(index: int, figures: RunFigures, captures: Sequence[float]) -> None:
    starts = "; ".join(
        f"{kind} {', '.join(ms(launch.composer) for launch in launches)} ms (then a key"
        f" +{', '.join(ms(launch.key) for launch in launches)} ms"
        + (
            ""
            if kind == "bare"
            else f"; chat ready at {', '.join(ms(launch.ready) for launch in launches)} ms"
        )
        + ")"
        for kind, launches in figures.starts.items()
    )
    print(f"  run {index}: launch -> composer on screen: {starts}")
    print(
        f"    last chunk -> last text on screen {ms(figures.last_text)} ms; stream"
        f" {figures.stream_total:.2f} s (server's first -> last chunk), Enter -> last text"
        f" {figures.enter_to_last:.2f} s; CPU s per s of it: {figures.cpu}"
    )
    print(f"    capture round trip while streaming {spread_ms(figures.captures_streaming, 2)}")
    focus = "" if figures.focus_kept else " (focus left the composer)"
    print(
        f"    keys while streaming: {len(figures.keys)} keys, sent -> on screen {spread_ms(figures.keys)};"
        f" lost {figures.keys_lost}{focus}"
    )
    print(
        f"    idle floor: {len(figures.idle)} keys, {spread_ms(figures.idle, 1)};"
        f" capture round trip over the run {spread_ms(captures, 2)}"
    )


def summarise(runs: Sequence[RunFigures]) -> None:
    from _common import percentile, result

    def every(kind: str) -> list[Launch]:
        return [launch for run in runs for launch in run.starts[kind]]

    def composer(kind: str) -> list[float]:
        return [launch.composer for launch in every(kind)]

    def median_ms(values: Sequence[float | None]) -> str:
        known = [value for value in values if value is not None]
        return ms(statistics.median(known)) if known else "n/a"

    bare = statistics.median(composer("bare"))
    for kind, name in (("app", "0 conversations"), ("demo", "--demo")):
        values = composer(kind)
        median = statistics.median(values)
        result(
            "blackbox-startup",
            f"{name}: launch -> composer on screen (tmux)",
            f"{median * 1000:.0f} / {max(values) * 1000:.0f} ms = {median / bare:.2f}x bare"
            f" ({bare * 1000:.0f} ms); chat ready {median_ms([launch.ready for launch in every(kind)])} ms,"
            f" a key then +{median_ms([launch.key for launch in every(kind)])} ms",
            "<= 1.3x bare",
            median / bare <= 1.3,
        )
    lasts = [run.last_text for run in runs]
    seen = [value for value in lasts if value is not None]
    missing = len(lasts) - len(seen)
    result(
        "blackbox-stream-mixed",
        "last chunk -> last text on screen (tmux)",
        (f"{statistics.median(seen) * 1000:.0f} / {max(seen) * 1000:.0f} ms" if seen else "never shown")
        + (f" ({missing} runs never showed it)" if seen and missing else "")
        + f"; stream {statistics.median(run.stream_total for run in runs):.2f} s",
        "<= 50 ms",
        bool(seen) and not missing and max(seen) <= 0.05,
    )
    typed = [run for run in runs if run.keys]
    lost = sum(run.keys_lost for run in runs)
    kept = all(run.focus_kept for run in runs)
    if typed:
        p95s = [percentile(run.keys, 95) for run in typed]
        worst = max(max(run.keys) for run in typed)
        p50 = statistics.median(percentile(run.keys, 50) for run in typed)
        value = (
            f"{statistics.median(p95s) * 1000:.0f} / {max(p95s) * 1000:.0f} ms (p50 {p50 * 1000:.0f},"
            f" max {worst * 1000:.0f} ms; {sum(len(run.keys) for run in typed)} keys, {lost} lost"
            f"{'' if kept else '; focus left the composer'})"
        )
        ok = max(p95s) <= 0.033 and worst <= 0.06 and lost == 0 and kept
    else:
        value, ok = "no key shown" + ("" if kept else " (focus left the composer)"), False
    result(
        "blackbox-keys",
        "key -> on screen while streaming, p95 (median/worst run) (tmux)",
        value,
        "p95 <= 33 ms, max <= 60 ms",
        ok,
    )
    idle = [value for run in runs for value in run.idle]
    result("blackbox-keys", "idle floor: key -> on screen, no stream (tmux)", spread_ms(idle, 1), "", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll", type=float, default=2.0, help="ms between captures of the pane")
    parser.add_argument("--launches", type=int, default=2, help="launches of each kind per run")
    parser.add_argument("--bare-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_child:
        bare_child()
        return
    sys.path.insert(0, str(BENCH_DIR))
    from _common import result
    from _paced_server import paced_server

    from devic_tui.emulator.scripts import long_answer

    if shutil.which("tmux") is None:
        print("blackbox: tmux is not installed; skipped")
        result("blackbox", "(skipped: no tmux)", "", "", None)
        return
    version = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False).stdout.strip()
    marker = last_line(long_answer())
    print(
        f"blackbox: {version}, pane {WIDTH}x{HEIGHT}, a capture every {args.poll:g} ms;"
        f" app: {' '.join(app_command())}; the answer's last line: {marker!r}"
    )
    runs: list[RunFigures] = []
    with tempfile.TemporaryDirectory(prefix="devic-blackbox-") as scratch:
        report = Path(scratch) / "report.txt"
        with paced_server(STREAM_TEXT, CHUNK, RATE, report=report) as port:
            for index in range(args.runs):
                root = Path(scratch) / f"run-{index + 1}"
                root.mkdir()
                run = Run(root, port, report, args.poll / 1000)
                figures = RunFigures()
                try:
                    if index == 0:
                        for kind in ("bare", "app", "demo"):  # warm the page cache and .pyc files
                            run.launch(kind)
                    for _ in range(args.launches):
                        for kind in ("bare", "app", "demo"):
                            figures.starts.setdefault(kind, []).append(run.launch(kind))
                    run.streams(figures, marker)
                finally:
                    run.close()
                    shutil.rmtree(root, ignore_errors=True)
                report_run(index + 1, figures, run.tmux.capture_times)
                runs.append(figures)
    summarise(runs)


if __name__ == "__main__":
    main()
