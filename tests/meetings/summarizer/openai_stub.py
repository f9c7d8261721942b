"""An OpenAI-compatible chat server on 127.0.0.1 for tests: ``POST /v1/chat/completions``.

Each request is answered by the next entry of ``server.script`` (the last one repeats):

* ``{"content": "..."}``: 200 with that assistant message;
* ``{"status": 400, "reject": "json_schema"}``: 400 only when the request asks for that
  ``response_format`` type (otherwise the next entry answers);
* ``{"status": 500}``: an error status with an OpenAI-style error body;
* ``{"sleep": 2.0, "content": ...}``: answer after a delay (timeouts).

``server.requests`` keeps every request body (parsed JSON).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(content: str, *, model: str = "stub-model") -> dict:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class _Handler(BaseHTTPRequestHandler):
    server: StubServer

    def log_message(self, format, *args):  # keep test output quiet
        return

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        entry = self.server.next_entry(body)
        if entry.get("sleep"):
            time.sleep(entry["sleep"])
        status = entry.get("status", 200)
        if status != 200:
            self._send(
                status,
                {"error": {"message": entry.get("message", "stub error"), "type": "invalid_request_error"}},
            )
            return
        self._send(200, completion(entry["content"], model=body.get("model", "stub-model")))

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            return


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[dict] = []
        self.requests: list[dict] = []
        self.position = 0
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_entry(self, body: dict) -> dict:
        with self.lock:
            self.requests.append(body)
            wanted = (body.get("response_format") or {}).get("type", "none")
            while True:
                entry = self.script[min(self.position, len(self.script) - 1)]
                if self.position < len(self.script):
                    self.position += 1
                if "reject" in entry and entry["reject"] != wanted and self.position < len(self.script):
                    continue
                if "reject" in entry and entry["reject"] != wanted:
                    return {"content": "{}"}
                return entry

    def modes(self) -> list[str]:
        return [(r.get("response_format") or {}).get("type", "none") for r in self.requests]


def start() -> StubServer:
    server = StubServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server
