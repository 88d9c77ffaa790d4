"""The HTTP server that serves the backend on 127.0.0.1, and the embeddable :class:`PersonalizeStub`."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tools.localaws.personalize_stub.backend import PersonalizeBackend
from tools.localaws.personalize_stub.client import PersonalizeStubControl
from tools.localaws.personalize_stub.model import CONTROL_PREFIX, JSON_CONTENT_TYPE, AccountResolver, JsonObj, _as_obj
from tools.localaws.personalize_stub.state import StubConfig

LOG = logging.getLogger("tools.localaws.personalize_stub")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: PersonalizeBackend) -> None:
        self.backend = backend
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PersonalizeStub/1.0"
    # Keep-alive clients (botocore) would otherwise wait ~40 ms per call on delayed ACKs.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("%s - " + format, self.address_string(), *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path.startswith(CONTROL_PREFIX):
                self._control(path, body)
            elif self.command == "POST":
                self._api(body)
            else:
                self._send_json(404, {"__type": "UnknownOperationException", "message": "Not found."})
        except Exception:  # report any bug as a 500 rather than drop the socket
            LOG.exception("personalize stub failed on %s %s", self.command, self.path)
            self._send_json(500, {"__type": "InternalFailure", "message": "Internal error in the Personalize stub."})

    def _api(self, body: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.backend.handle_api(headers, body)
        if response.delay_seconds > 0:
            time.sleep(response.delay_seconds)
        self._send(response.status, response.body, response.headers)

    def _control(self, path: str, body: bytes) -> None:
        payload: JsonObj = {}
        if body.strip():
            try:
                raw = json.loads(body)
            except ValueError:
                self._send_json(400, {"error": "body is not JSON"})
                return
            if not isinstance(raw, dict):
                self._send_json(400, {"error": "body must be a JSON object"})
                return
            payload = _as_obj(raw)
        status, result = self.server.backend.handle_control(self.command, path, payload)
        self._send_json(status, result)

    def _send_json(self, status: int, payload: JsonObj) -> None:
        error = payload.get("__type")
        headers = [("Content-Type", "application/json")]
        if isinstance(error, str):
            headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-ErrorType", error)]
        self._send(status, json.dumps(payload).encode(), tuple(headers))

    def _send(self, status: int, body: bytes, headers: Sequence[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class PersonalizeStub:
    """The stand-in as an embeddable server: ``start()`` returns the endpoint URL.

    ``account_resolver(access_key_id) -> account`` maps callers to accounts (the local-AWS
    launcher passes moto's so assumed-role credentials land in the right account). The other
    arguments are the initial :class:`StubConfig` (restored by ``reset()``).
    """

    def __init__(
        self,
        account_resolver: AccountResolver | None = None,
        *,
        transition_delay_seconds: float = 0.0,
        latency_ms: float = 0.0,
        throttle_rate: float = 0.0,
        throttle_operations: Sequence[str] | None = None,
        throttle_seed: int | None = None,
        update_status_prefix: str = "CREATE",
    ) -> None:
        config = StubConfig(
            throttle_rate=throttle_rate,
            throttle_operations=frozenset(throttle_operations) if throttle_operations is not None else None,
            throttle_seed=throttle_seed,
            latency_ms=latency_ms,
            transition_delay_seconds=transition_delay_seconds,
            update_status_prefix=update_status_prefix,
        )
        self.backend = PersonalizeBackend(account_resolver, config)
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = a free port) in a daemon thread; returns the endpoint URL."""
        if self._server is not None:
            return self.endpoint_url
        server = _HTTPServer((host, port), self.backend)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="personalize-stub", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Personalize stub is not running")
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{host_text}:{port}"

    def stop(self) -> None:
        """Stop listening and join the server thread (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def control(self) -> PersonalizeStubControl:
        """A control client bound to this running stub."""
        return PersonalizeStubControl(self.endpoint_url)

    def __enter__(self) -> PersonalizeStub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
