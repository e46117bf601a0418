"""A local webhook receiver on 127.0.0.1 (ephemeral port) that records every JSON body."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Receiver:
    url: str
    bodies: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            receiver: Receiver = state["receiver"]
            receiver.paths.append(self.path)
            assert self.headers["Content-Type"] == "application/json"
            receiver.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(receiver.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    state["receiver"] = Receiver(url=f"http://{host}:{port}/hook")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
