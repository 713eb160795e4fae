"""Outgoing HTTP for Python skills built into WebAssembly components.

Every request goes through skillrt's host interface (skillrt:skill/http in wit/skillrt.wit):
the host sends it through the egress proxy, which lets through only the hosts the skill's
manifest allows ([capabilities.network] allow). There are no sockets in the sandbox; this is
the only way out.

    from skillrt_http import fetch
    response = fetch("https://api.example.com/items", headers={"Accept": "application/json"})
    response.raise_for_status()
    items = response.json()
"""
import json as _json

from componentize_py_types import Err
from wit_world.imports import http as _http

__all__ = ["fetch", "Response", "HTTPError"]


class HTTPError(Exception):
    """A request that produced no response, or a response with an error status.

    `kind` is the host's reason: "invalid", "denied" (the allowlist refused the host),
    "failed", "timeout", "too-large", "not-text", or "status" (raise_for_status).
    """

    def __init__(self, kind, message, response=None):
        super().__init__(message)
        self.kind = kind
        self.response = response


class Response:
    """A complete response: `status`, `headers` (a dict, lower-case names; repeated headers
    joined by ", "), `text` (the body, UTF-8)."""

    def __init__(self, url, status, headers, text):
        self.url = url
        self.status = status
        self.headers = headers
        self.text = text

    @property
    def ok(self):
        return 200 <= self.status < 300

    def json(self):
        return _json.loads(self.text)

    def raise_for_status(self):
        if not self.ok:
            raise HTTPError("status", f"{self.status} from {self.url}", self)
        return self

    def __repr__(self):
        return f"<Response {self.status} {self.url}>"


def fetch(url, method="GET", headers=None, body=None, json=None):
    """Sends one request and returns its Response; raises HTTPError when there is none.

    `headers`: a dict of name to value. `body`: text sent as it is; `json`: an object sent as
    JSON (with Content-Type: application/json). Redirects are not followed. Waits within the
    call's wall-clock limit.
    """
    headers = dict(headers or {})
    if json is not None:
        if body is not None:
            raise ValueError("give body or json, not both")
        body = _json.dumps(json)
        headers.setdefault("Content-Type", "application/json")
    lines = "\n".join(f"{name}: {value}" for name, value in headers.items())
    request = _http.Request(method=method.upper(), url=url, headers=lines, body=body or "")
    try:
        response = _http.send(request)
    except Err as e:
        error = e.value
        raise HTTPError(error.kind.name.lower().replace("_", "-"), error.message) from None
    merged = {}
    for name, value in response.headers:
        name = name.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return Response(url, response.status, merged, response.body)
