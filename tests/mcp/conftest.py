"""Fixtures for the MCP server tests: a skill root with bundled and test skills, a fresh
home, and `skillrt mcp` over stdio or Streamable HTTP (started and stopped per test)."""
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest

CLI = os.environ.get("SKILLRT_CLI", "skillrt")
SOURCE = pathlib.Path(os.environ.get("SKILLRT_SOURCE_DIR", pathlib.Path(__file__).parents[2]))


def write_skill(root: pathlib.Path, name: str, toml: str, body: str = "") -> pathlib.Path:
    skill = root / name
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: Test skill {name}.\n---\n# {name}\n{body}\n")
    (skill / "skill.toml").write_text(toml)
    return skill


@pytest.fixture
def skills(tmp_path):
    """A skill root: the bundled calculator, and skills made for these tests."""
    root = tmp_path / "skills"
    root.mkdir()
    shutil.copytree(SOURCE / "examples/skills/calculator", root / "calculator")
    # Runs for up to 20 s, printing as it goes: for progress and cancellation.
    write_skill(root, "slow", '[entry]\nargv = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; '
                              'do echo tick $i; sleep 2; done"]\ninput = "none"\noutput = "text"\n'
                              '[capabilities]\ncommands = ["sh", "sleep"]\n'
                              '[limits]\nwall_time_ms = 30000\n')
    # exec only: echo and cat are allowed.
    write_skill(root, "tools-only", '[capabilities]\ncommands = ["echo", "cat"]\n',
                body="Use exec_in_skill with echo.")
    (root / "tools-only" / "notes.txt").write_text("a note inside the skill\n")
    return root


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


def server_args(skills, home, *extra):
    return ["mcp", "--skills", str(skills), "--home", str(home), *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer:
    """`skillrt mcp --http` on a free loopback port."""

    def __init__(self, skills, home, *extra, listen_host="127.0.0.1", env=None):
        self.port = free_port()
        self.host = listen_host
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log = home / f"mcp-http-{self.port}.log"
        self.proc = subprocess.Popen(
            [CLI, *server_args(skills, home, "--http", "--listen",
                               f"{listen_host}:{self.port}", *extra)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.log, "w"), env={**os.environ, **(env or {})})
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("skillrt mcp --http exited: " + self.log.read_text())
            if "listening on" in self.log.read_text():
                return
            time.sleep(0.05)
        raise RuntimeError("skillrt mcp --http did not start: " + self.log.read_text())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def http_server(skills, home):
    servers = []

    def start(*extra, **kwargs):
        server = HttpServer(skills, home, *extra, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
