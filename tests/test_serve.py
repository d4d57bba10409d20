"""`kvtui serve` against a real server on 127.0.0.1 (loopback only, every wait bounded).

No shell (an injection attempt runs nothing; a path with spaces and `;` works), one-line errors
with exit 2 for a busy or bad port, the same errors as `kvtui run` for a bad script, port 0
announces the real port, the page is titled after the script, a websocket from a foreign page
is refused, sessions are capped, and an app whose browser tab went away is gone.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from kvtui.cli import serve as serve_module
from kvtui.cli.app import app
from kvtui.cli.serve import origin_allowed

TIMEOUT = 30.0
GOOD_SCRIPT = "config:\n  capacity: 4\nsteps:\n  - use 1 2\n"


class Served:
    """A `kvtui serve` process; its stderr lines are collected by a thread."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "KVTUI_STATE_DIR": str(cwd / "state"), "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kvtui.cli.app", "serve", *args], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()  # the one line with the URL (or EOF on an error)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", self.banner)
        self.url = f"http://127.0.0.1:{match.group(1)}" if match else ""

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + TIMEOUT
        for line in self.seen:
            if found := re.search(pattern, line):
                return found
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} in {self.seen}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        server.stop()


def start(started: list[Served], cwd: Path, *args: str) -> Served:
    server = Served(["--port", "0", *args], cwd)
    started.append(server)
    assert server.url, (server.banner, server.proc.poll())
    return server


def run_serve(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KVTUI_STATE_DIR": str(cwd / "state"), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "kvtui.cli.app", "serve", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


async def first_bytes(ws: aiohttp.ClientWebSocketResponse, want: int = 1000) -> int:
    """Read until the app has drawn something (bounded)."""
    got = 0
    deadline = time.monotonic() + TIMEOUT
    while got < want and time.monotonic() < deadline:
        message = await ws.receive(timeout=TIMEOUT)
        if message.type != aiohttp.WSMsgType.BINARY:
            break
        got += len(message.data)
    return got


# -- errors before anything is served -------------------------------------------------------------


def test_injection_attempt_runs_nothing(tmp_path: Path) -> None:
    result = run_serve(tmp_path, "nosuch || touch pwned", "--port", "0")
    assert result.returncode == 2
    assert result.stderr == (
        "kvtui: no script file or preset named 'nosuch || touch pwned' (see `kvtui presets`)\n"
    )
    assert not (tmp_path / "pwned").exists()


def test_busy_port_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_serve(tmp_path, "--port", str(port))
    assert result.returncode == 2
    assert result.stderr == f"kvtui serve: cannot listen on 127.0.0.1 port {port}: Address already in use\n"


@pytest.mark.parametrize("port", ["99999", "-1", "http", "65536"])
def test_bad_port_is_one_line_exit_2(tmp_path: Path, port: str) -> None:
    result = run_serve(tmp_path, "--port", port)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"'{port}' is not a port (1..65535, or 0 for any free one)" in result.stderr


def test_bad_script_fails_as_run_does(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("config:\n  capacity: 0\n")
    served = run_serve(tmp_path, str(bad), "--port", "0")
    ran = subprocess.run([sys.executable, "-m", "kvtui.cli.app", "run", str(bad)], capture_output=True,
                         text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert served.returncode == ran.returncode == 1
    assert served.stderr == ran.stderr == f"{bad}:2: config: capacity must be in 1 .. 1_000_000, got 0\n"
    assert served.stdout == ""


def test_remote_host_needs_an_explicit_flag_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[serve_module.ServeOptions] = []
    monkeypatch.setattr(serve_module, "serve_app", calls.append)
    refused = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and calls == []
    assert "--host 0.0.0.0 is reachable from other machines: add --allow-remote" in refused.stderr
    allowed = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--allow-remote"])
    assert allowed.exit_code == 0
    assert "warning: listening on 0.0.0.0" in allowed.stderr
    assert [c.host for c in calls] == ["0.0.0.0"]
    pointless = CliRunner().invoke(app, ["serve", "--allow-remote"])
    assert pointless.exit_code == 2 and len(calls) == 1
    CliRunner().invoke(app, ["serve", "my script.yaml"])  # not found: nothing served
    assert len(calls) == 1


def test_the_app_is_launched_from_an_argument_vector(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[serve_module.ServeOptions] = []
    monkeypatch.setattr(serve_module, "serve_app", calls.append)
    script = tmp_path / "a b; touch pwned.yaml"
    script.write_text(GOOD_SCRIPT)
    result = CliRunner().invoke(app, ["serve", str(script), "-e", "lru", "-c", "6"])
    assert result.exit_code == 0, result.stderr
    (options,) = calls
    assert options.argv[1:] == ["-m", "kvtui.cli.app", "open", "--eviction", "lru", "--capacity", "6",
                                "--", str(script)]
    assert options.title == "a b; touch pwned"


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("http://127.0.0.1:8000", True), ("http://localhost:8000", True), ("http://127.0.0.1:8001", False),
        ("http://evil.example:8000", False), ("https://evil.example", False), (None, False), ("", False),
        ("null", False), ("file://", False), ("http://127.0.0.1:notaport", False),
    ],
)
def test_origin_rule(origin: str | None, ok: bool) -> None:
    assert origin_allowed(origin, "127.0.0.1", 8000) is ok


def test_origin_rule_on_a_wildcard_host() -> None:
    """Reached as 10.0.0.5:8000, a server on 0.0.0.0 accepts pages of 10.0.0.5:8000 only."""
    assert origin_allowed("http://10.0.0.5:8000", "0.0.0.0", 8000, "10.0.0.5:8000")
    assert not origin_allowed("http://evil.example:8000", "0.0.0.0", 8000, "10.0.0.5:8000")
    assert not origin_allowed("http://10.0.0.5:8000", "0.0.0.0", 8000, None)
    assert not origin_allowed("http://10.0.0.5:8000", "10.0.0.6", 8000, "10.0.0.5:8000")


# -- a real server ---------------------------------------------------------------------------------


async def test_page_websocket_origin_and_session_cap(tmp_path: Path, serve: list[Served]) -> None:
    server = start(serve, tmp_path, "lineage-leaf-first", "--max-sessions", "1")
    assert server.banner.startswith("kvtui serve: Lineage evicts leaves first on http://127.0.0.1:")
    assert not server.url.endswith(":0")
    ws_url = server.url.replace("http", "ws") + "/ws?width=100&height=30"
    async with aiohttp.ClientSession() as client:
        async with client.get(server.url + "/") as page:
            assert page.status == 200
            assert "<title>kvtui · Lineage evicts leaves first</title>" in await page.text()
        for origin in ("http://evil.example", None):
            headers = {"Origin": origin} if origin else {}
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(ws_url, headers=headers)
            assert refused.value.status == 403
        async with client.ws_connect(ws_url, headers={"Origin": server.url}) as ws:
            assert await first_bytes(ws) >= 1000
            with pytest.raises(aiohttp.WSServerHandshakeError) as full:
                await client.ws_connect(ws_url, headers={"Origin": server.url})
            assert full.value.status == 503
    server.wait_for(r"session 1 ended")
    assert server.seen[0] == "kvtui serve: refused a websocket from origin http://evil.example"


async def test_disconnected_clients_leave_no_process(tmp_path: Path, serve: list[Served]) -> None:
    script = tmp_path / "a b; touch pwned.yaml"
    script.write_text(GOOD_SCRIPT)
    server = start(serve, tmp_path, str(script))
    ws_url = server.url.replace("http", "ws") + "/ws"
    pids = []
    async with aiohttp.ClientSession() as client:
        for number in (1, 2, 3):
            ws = await client.ws_connect(ws_url, headers={"Origin": server.url})
            if number == 2:
                assert await first_bytes(ws) >= 1000  # the app really runs the file with a space
            await ws.close()  # 1 and 3: the tab goes away during start-up
            pids.append(int(server.wait_for(rf"session {number} started \(pid (\d+)\)").group(1)))
            server.wait_for(rf"session {number} ended")
    for pid in pids:
        assert not alive(pid)
    assert children(server.proc.pid) == []
    assert not (tmp_path / "pwned").exists()
    server.stop()
    assert server.proc.returncode == 0


async def test_stopping_the_server_stops_open_sessions(tmp_path: Path, serve: list[Served]) -> None:
    server = start(serve, tmp_path)
    async with aiohttp.ClientSession() as client:
        ws = await client.ws_connect(server.url.replace("http", "ws") + "/ws", headers={"Origin": server.url})
        assert await first_bytes(ws) >= 1000
        pid = int(server.wait_for(r"session 1 started \(pid (\d+)\)").group(1))
        assert alive(pid)
        server.stop()  # SIGTERM while the tab is still open
    assert server.proc.returncode == 0
    assert not alive(pid)


STUBBORN_APP = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # like the app seen spinning after a disconnect
    "sys.stdout.write('__GANGLION__\\n'); sys.stdout.flush()\n"
    "time.sleep(600)\n"
)


async def test_an_app_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    launcher = (
        "import sys\n"
        "from kvtui.cli.serve import ServeOptions, serve_app\n"
        f"serve_app(ServeOptions([sys.executable, '-c', {STUBBORN_APP!r}], 'stubborn', '127.0.0.1', 0, 2))\n"
    )
    env = {**os.environ, "KVTUI_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen([sys.executable, "-c", launcher], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    server = Served.__new__(Served)  # reuse the line reader on this process
    server.proc, server.lines, server.seen = proc, queue.Queue(), []
    threading.Thread(target=server._read, daemon=True).start()
    try:
        assert proc.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group()  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(url.replace("http", "ws") + "/ws", headers={"Origin": url})
            pid = int(server.wait_for(r"session 1 started \(pid (\d+)\)").group(1))
            await ws.close()
        started = time.monotonic()
        server.wait_for(r"session 1 ended")
        assert time.monotonic() - started < 15  # quit request, SIGTERM, then SIGKILL: bounded
        assert not alive(pid)
    finally:
        server.stop()
