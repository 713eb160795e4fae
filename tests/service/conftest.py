"""Fixtures for the HTTP service tests: a `skillrt serve` in a temporary home, its tokens, and
a small HTTP client (the standard library's, so nothing else is needed)."""
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

CLI = os.environ.get("SKILLRT_CLI", "")
SOURCE = pathlib.Path(os.environ.get("SKILLRT_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SKILLS = SOURCE / "examples" / "skills"


def wasm_built():
    return (SKILLS / "number-stats" / "scripts" / "stats.wasm").is_file()


def make_token(home, scope, name=None):
    argv = [CLI, "--home", str(home), "token", "create", "--scope", scope, "--json"]
    if name:
        argv += ["--name", name]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def code(self):
        """The stable error code of a JSON error body."""
        return self.json()["error"]["code"]


class Server:
    """One `skillrt serve` process on a free loopback port."""

    def __init__(self, home, extra=(), skills=SKILLS):
        self.home = pathlib.Path(home)
        self.extra = list(extra)
        self.skills = skills
        self.proc = None
        self.port = None
        self.log = self.home / "serve.log"

    def start(self):
        self.home.mkdir(parents=True, exist_ok=True)
        port_file = self.home / "port"
        if port_file.exists():
            port_file.unlink()
        argv = [CLI, "--home", str(self.home), "serve", "--listen", "127.0.0.1:0",
                "--port-file", str(port_file), "--skills", str(self.skills)] + self.extra
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "ab"), start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("serve exited: " + self.log.read_text())
            time.sleep(0.05)
        raise RuntimeError("serve did not start: " + self.log.read_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, token=None, body=None, headers=None, timeout=60):
        conn = self.connection(timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + (token if isinstance(token, str) else token["token"])
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        out = Response(r.status, dict(r.getheaders()), r.read().decode("utf-8", "replace"))
        conn.close()
        return out


def read_sse(resp, stop_after=None, stop_at_finished=True):
    """Events of an SSE response as (id, type, data) until `finished` (unless
    `stop_at_finished` is false: then until the stream ends) or `stop_after` events."""
    events, block = [], {}
    while True:
        line = resp.fp.readline()
        if not line:
            return events
        line = line.decode().rstrip("\n")
        if line == "":
            if "data" in block:
                events.append((block.get("id"), block.get("event"), json.loads(block["data"])))
                finished = stop_at_finished and block.get("event") == "finished"
                if finished or (stop_after and len(events) >= stop_after):
                    return events
            block = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(": ")
        block[key] = value


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def server(home):
    s = Server(home).start()
    yield s
    s.stop()


@pytest.fixture
def tokens(home, server):
    return {scope: make_token(home, scope, scope + "-token")
            for scope in ("read", "run", "approve", "admin")}


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server for the session; the test skips, with the reason, only
    where one cannot be run here."""
    from postgres import PostgresServer, unavailable_reason
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PostgresServer().start()
    yield server
    server.stop()
