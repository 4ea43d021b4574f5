"""The playground's web app: a Starlette ASGI app, one WebSocket session per browser tab.

``GET /`` serves the page and ``/static/`` its assets (shipped in the
package: no CDN, it works offline). ``/ws`` is the session: the page sends
JSON commands (``config``, ``start``, ``pause``, ``step``, ``reset``,
``unit``, ``export_model``, ``export_python``) and receives ``state`` frames
while training runs, at most :data:`FPS` a second. Every request is bounded:
the settings by :data:`deepstep.playground.session.LIMITS`, messages by
:data:`MAX_MESSAGE_BYTES`, sessions by :data:`MAX_SESSIONS`, training speed by
the session's batches-per-second bound. WebSocket connections from another
origin (another web site open in the same browser) are refused.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import DeepstepError

STATIC = Path(__file__).resolve().parent / "static"
MAX_SESSIONS = 16
MAX_MESSAGE_BYTES = 512_000
FPS = 12
MAX_COMMANDS_PER_SECOND = 30        # steps, settings, exports: more are refused


def create_app():
    """The ASGI app (Starlette)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    state = {"sessions": 0}

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def ws(websocket):
        if not _same_origin(websocket):
            await websocket.close(code=1008)
            return
        if state["sessions"] >= MAX_SESSIONS:
            await websocket.accept()
            await websocket.send_json({"type": "error", "message": f"The playground already has {MAX_SESSIONS} "
                                       "tabs open; close one and reload this page."})
            await websocket.close(code=1013)
            return
        state["sessions"] += 1
        try:
            await websocket.accept()
            await Connection(websocket).serve()
        finally:
            state["sessions"] -= 1

    routes = [Route("/", index), WebSocketRoute("/ws", ws), Mount("/static", StaticFiles(directory=STATIC))]
    return Starlette(routes=routes)


def _finite(x):
    """NaN and infinities as null (JSON has no NaN)."""
    if isinstance(x, float):
        return x if x == x and abs(x) != float("inf") else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _same_origin(websocket):
    origin = websocket.headers.get("origin")
    if not origin:
        return True                     # not a browser page (a script, a test client)
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc == host


class Connection:
    """One tab: its session, its running loop, its messages."""

    def __init__(self, websocket):
        self.ws = websocket
        self.session = None
        self.running = False
        self.loop_task = None
        self.lock = asyncio.Lock()
        self.recent = collections.deque()

    async def send(self, message):
        await self.ws.send_text(json.dumps(_finite(message), allow_nan=False))

    async def error(self, text):
        await self.send({"type": "error", "message": str(text)})

    async def serve(self):
        from starlette.websockets import WebSocketDisconnect

        try:
            while True:
                text = await self.ws.receive_text()
                if len(text) > MAX_MESSAGE_BYTES:
                    await self.error(f"That message is larger than {MAX_MESSAGE_BYTES // 1000} kB; "
                                     "upload a smaller CSV (at most 1000 rows).")
                    continue
                try:
                    msg = json.loads(text)
                    if not isinstance(msg, dict):
                        raise ValueError("not an object")
                except ValueError:
                    await self.error("Messages must be JSON objects with a 'type'.")
                    continue
                try:
                    await self.handle(msg)
                except DeepstepError as exc:
                    await self.error(exc)
        except WebSocketDisconnect:
            pass
        finally:
            self.running = False
            if self.loop_task:
                self.loop_task.cancel()

    def too_fast(self):
        now = time.monotonic()
        while self.recent and now - self.recent[0] > 1.0:
            self.recent.popleft()
        if len(self.recent) >= MAX_COMMANDS_PER_SECOND:
            return True
        self.recent.append(now)
        return False

    async def handle(self, msg):
        from .session import Session

        kind = msg.get("type")
        if kind not in ("start", "pause") and self.too_fast():
            await self.error(f"More than {MAX_COMMANDS_PER_SECOND} commands a second: this one was ignored.")
            return
        if kind == "config":
            await self.stop()
            async with self.lock:
                self.session = await asyncio.to_thread(Session, msg.get("config") or {})
                shot = await asyncio.to_thread(self.session.snapshot, True)
            await self.send(shot)
            return
        if self.session is None:
            await self.error("Send the settings first (a 'config' message).")
            return
        if kind == "start":
            if not self.running:
                self.running = True
                self.loop_task = asyncio.create_task(self.run())
        elif kind == "pause":
            await self.stop()
            await self.send(await self.locked(self.session.snapshot))
        elif kind == "reset":
            await self.stop()
            async with self.lock:
                self.session = await asyncio.to_thread(Session, self.session.config)
                shot = await asyncio.to_thread(self.session.snapshot, True)
            await self.send(shot)
        elif kind == "unit":
            self.session.set_unit(msg.get("layer", 1), msg.get("unit", 0))
            await self.send({"type": "equations", **(await self.locked(self.session.equations))})
        elif kind == "step":
            await self.stop()
            layer, unit = msg.get("layer"), msg.get("unit")
            eq = await self.locked(self.session.step, layer, unit)
            await self.send({"type": "equations", **eq})
            await self.send(await self.locked(self.session.snapshot))
        elif kind == "export_model":
            data = await self.locked(self.session.model_bytes)
            await self.send({"type": "download", "filename": "playground-model.npz",
                             "mime": "application/octet-stream", "base64": base64.b64encode(data).decode()})
        elif kind == "export_python":
            code = await self.locked(self.session.python_code)
            await self.send({"type": "download", "filename": "playground_run.py", "mime": "text/x-python",
                             "base64": base64.b64encode(code.encode()).decode()})
        else:
            await self.error(f"Unknown message type {kind!r}.")

    async def locked(self, fn, *args):
        async with self.lock:
            return await asyncio.to_thread(fn, *args)

    async def stop(self):
        self.running = False
        task, self.loop_task = self.loop_task, None
        if task and task is not asyncio.current_task():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def run(self):
        loop = asyncio.get_running_loop()
        while self.running:
            t = loop.time()
            async with self.lock:
                wait = await asyncio.to_thread(self.session.train_chunk)
                shot = await asyncio.to_thread(self.session.snapshot)
            await self.send(shot)
            if shot["status"] == "diverged":
                self.running = False
                break
            await asyncio.sleep(max(wait, 1 / FPS - (loop.time() - t), 0.0))


def serve(host="127.0.0.1", port=8000, open_browser=True, log_level="warning", ready=None):
    """Run the playground on uvicorn until interrupted.

    ``ready(url)`` is called once the server listens (then the browser opens).
    """
    import threading
    import webbrowser

    import uvicorn

    config = uvicorn.Config(create_app(), host=host, port=port, log_level=log_level, ws_max_size=MAX_MESSAGE_BYTES,
                            lifespan="off")
    server = uvicorn.Server(config)
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host

    def announce():
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if server.started:
            url = f"http://{shown}:{port}/"
            if ready:
                ready(url)
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
    return 0 if server.started else 1
