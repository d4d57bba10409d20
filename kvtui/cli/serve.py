"""`kvtui serve`: the TUI in a browser, on textual-serve, without a shell and without leaks.

textual-serve's stock server runs its command through a shell, listens wherever it is told,
accepts a websocket from any web page and waits forever for an app that never answers. Here:

* each browser tab's app is started from an argument vector (`create_subprocess_exec`), in its
  own process group, and killed (SIGTERM, then SIGKILL) when its tab goes away;
* the listening socket is bound before the server starts, so a busy or bad port is one line
  (exit 2) and port 0 prints the port the system picked;
* a websocket is accepted only from a page of this server (its `Origin` must name this host and
  port) and only while fewer than `max_sessions` apps run.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost",)
STOP_GRACE = 2.0  # seconds an app gets to quit on its own before it is killed

log = logging.getLogger("kvtui.serve")


@dataclass(frozen=True)
class ServeOptions:
    argv: list[str]  # the app command, one argument per element (never a shell line)
    title: str  # the page's title: the script's name
    host: str
    port: int  # 0: any free port
    max_sessions: int


class ServeError(Exception):
    """A problem to report as one line before anything is served (exit 2)."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or ServeError naming what went wrong."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise ServeError(f"cannot resolve --host {host!r}: {_reason(exc)}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host} port {port}: {_reason(exc)}") from None
    sock.setblocking(False)
    return sock


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def origin_allowed(origin: str | None, host: str, port: int, request_host: str | None = None) -> bool:
    """A browser page may connect only if it came from this server (same host and port).

    Loopback names are interchangeable (a page opened as localhost connects to 127.0.0.1). A
    server on a wildcard address (`--host 0.0.0.0 --allow-remote`) does not know the name it is
    reached by, so there the page must come from the host and port the browser asked for
    (`request_host`, the Host header). A request without an Origin is refused: browsers always
    send one for a websocket.
    """
    if not origin:
        return False
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or origin_port != port or parts.hostname is None:
        return False
    if parts.hostname == host.strip("[]"):
        return True
    if is_loopback(host):
        return is_loopback(parts.hostname)
    if _is_wildcard(host) and request_host:
        return parts.netloc.lower() == request_host.lower()
    return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def serve_app(options: ServeOptions) -> None:
    """Bind, print the URL, serve until interrupted. ServeError → one line, exit 2."""
    import typer

    try:
        sock = bind(options.host, options.port)
    except ServeError as exc:
        typer.echo(f"kvtui serve: {exc}", err=True)
        raise typer.Exit(2) from None
    port = int(sock.getsockname()[1])
    logging.basicConfig(level=logging.WARNING, format="kvtui serve: %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    server = _make_server(options, port)
    typer.echo(f"kvtui serve: {options.title} on {url_of(options.host, port)}/ (Ctrl+C to quit)")
    server.run(sock)


def _make_server(options: ServeOptions, port: int) -> Any:
    """A textual-serve Server whose apps run from an argument vector (imported lazily)."""
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    class ExecAppService(AppService):
        """An app started without a shell, in its own process group, reliably stopped."""

        async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
            environment = self._build_environment(width=width, height=height)
            self._process = process = await asyncio.create_subprocess_exec(
                *options.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=environment,
                start_new_session=True,
            )
            assert process.stdin is not None
            self._stdin = process.stdin
            return process

        @property
        def pid(self) -> int | None:
            return self._process.pid if self._process is not None else None

        async def stop(self) -> None:
            """Ask the app to quit; kill its process group if it has not within STOP_GRACE."""
            process = self._process
            if self._task is not None:
                task, self._task = self._task, None
                await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
                if process is not None and process.returncode is None:
                    await self.send_meta({"type": "quit"})
                with contextlib.suppress(Exception):  # a timeout or a dead pipe: the kill follows
                    await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
                await _kill(process)
                if not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            else:
                await _kill(process)

    class KvtuiServer(Server):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(
                " ".join(options.argv), host=options.host, port=port, title=options.title,
                public_url=url_of(options.host, port),
            )
            self.sessions: set[ExecAppService] = set()
            self.started = 0

        def initialize_logging(self) -> None:
            """Keep kvtui's plain one-line logging (textual-serve's prints tracebacks with locals)."""

        async def on_startup(self, app: web.Application) -> None:
            """No banner: serve_app printed the one line that matters."""

        async def on_shutdown(self, app: web.Application) -> None:
            await asyncio.gather(*(service.stop() for service in list(self.sessions)), return_exceptions=True)

        async def handle_index(self, request: web.Request) -> web.Response:
            """The stock page, titled after the script."""
            import aiohttp_jinja2

            context = await Server.handle_index.__wrapped__(self, request)
            if _is_wildcard(options.host):  # point the page back at the address the browser used
                here = f"http://{request.host}"
                context["app_websocket_url"] = f"ws://{request.host}/ws"
                context["config"]["static"]["url"] = f"{here}/static/"
            response = aiohttp_jinja2.render_template("app_index.html", request, context)
            title = f"<title>kvtui · {html.escape(options.title)}</title>"
            response.text = (response.text or "").replace("<head>", f"<head>\n    {title}", 1)
            return response

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            if not origin_allowed(origin, options.host, port, request.host):
                log.warning("refused a websocket from origin %s", _clip(origin or "(none)"))
                raise web.HTTPForbidden(text="kvtui serve: this page's origin may not drive the app\n")
            if len(self.sessions) >= options.max_sessions:
                log.warning("refused a session: %d already open (--max-sessions)", len(self.sessions))
                raise web.HTTPServiceUnavailable(
                    text=f"kvtui serve: {len(self.sessions)} sessions already open (--max-sessions)\n"
                )
            return await self._run_session(request)

        async def _run_session(self, request: web.Request) -> web.WebSocketResponse:
            from textual_serve.server import to_int

            websocket = web.WebSocketResponse(heartbeat=15)
            width = max(1, min(to_int(request.query.get("width", "80"), 80), 1000))
            height = max(1, min(to_int(request.query.get("height", "24"), 24), 1000))
            service = ExecAppService(
                self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                close=websocket.close, download_manager=self.download_manager, debug=False,
            )
            self.sessions.add(service)
            self.started += 1
            number = self.started
            try:
                await websocket.prepare(request)
                await service.start(width, height)
                log.info("session %d started (pid %s)", number, service.pid)
                await self._process_messages(websocket, service)
            except (asyncio.CancelledError, ConnectionError):
                pass
            except Exception as error:  # noqa: BLE001 - one line, never a traceback
                log.warning("session %d: %s", number, _clip(str(error) or type(error).__name__))
            finally:
                await service.stop()
                self.sessions.discard(service)
                log.info("session %d ended", number)
                if not websocket.closed:
                    await websocket.close()
            return websocket

        async def _process_messages(self, websocket: web.WebSocketResponse, service: Any) -> None:
            """Like textual-serve's, but a malformed message is ignored instead of failing."""
            from aiohttp import WSMsgType

            async for message in websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    envelope = message.json()
                    kind, data = envelope[0], envelope[1]
                    if kind == "stdin":
                        await service.send_bytes(str(data).encode("utf-8"))
                    elif kind == "resize":
                        await service.set_terminal_size(int(data["width"]), int(data["height"]))
                    elif kind == "ping":
                        await websocket.send_json(["pong", data])
                    elif kind == "blur":
                        await service.blur()
                    elif kind == "focus":
                        await service.focus()
                except (ValueError, TypeError, KeyError, IndexError):
                    continue

        def run(self, sock: socket.socket) -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(self._make_app(), sock=sock, handle_signals=False, loop=loop,
                        print=lambda *args: None, access_log=None)

    return KvtuiServer()


async def _kill(process: Any) -> None:
    """End an app and everything it started: SIGTERM to its group, SIGKILL if it lingers."""
    if process is None or process.returncode is not None:
        return
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            break
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
            return
        except TimeoutError:
            continue
    await process.wait()


def _clip(text: str) -> str:
    from kvtui.sim.errors import shorten

    return shorten(text.replace("\n", " "))
