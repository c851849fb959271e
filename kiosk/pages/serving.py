"""uvicorn in a thread, on a port the system picks, that says when it listens.

For the browser tests, which drive the real app over real sockets. The server's worker thread
(AnyIO's, where the app's sync routes run) starts with the server: a server a test module shares
owns that thread from its start, instead of it starting within the first test that calls such a
route and outliving it (a leak to tests/leaks.py). Requests one at a time reuse that worker;
concurrent ones (a page loading) may start more, which end with the server.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import uvicorn


class ThreadedServer(uvicorn.Server):
    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        super().__init__(
            uvicorn.Config(
                app,
                host=host,
                port=0,
                log_level="warning",
                access_log=False,
                proxy_headers=False,
                timeout_graceful_shutdown=2,
            )
        )
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self.run, name="uvicorn", daemon=True)

    async def startup(self, sockets: Any = None) -> None:
        await anyio.to_thread.run_sync(lambda: None)
        await super().startup(sockets)
        self.ready.set()

    def start(self, timeout: float = 30.0) -> str:
        """Serve; return the base URL once listening."""
        self._thread.start()
        if not self.ready.wait(timeout) or not self.servers:
            self.stop()
            raise RuntimeError("uvicorn did not start")
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)
