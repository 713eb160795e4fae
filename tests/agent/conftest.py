"""Fixtures for the agent loop's tests: a skill root with the bundled calculator and test skills,
a fresh home, the scripted model endpoint (fake_llm.py), and `skillrt agent` run against it."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from fake_llm import FakeLLM  # noqa: E402

CLI = os.environ.get("SKILLRT_CLI", "skillrt")
SOURCE = pathlib.Path(os.environ.get("SKILLRT_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
KEY = "sk-test-0123456789-never-logged"


@pytest.fixture
def skills(tmp_path):
    root = tmp_path / "skills"
    root.mkdir()
    shutil.copytree(SOURCE / "examples/skills/calculator", root / "calculator")
    slow = root / "slow"
    slow.mkdir()
    (slow / "SKILL.md").write_text("---\nname: slow\ndescription: Ticks for a while.\n---\n")
    # A marker in argv, so a test can look for a process left behind.
    (slow / "skill.toml").write_text(
        '[entry]\nargv = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick-agent-slow; '
        'sleep 2; done"]\ninput = "none"\noutput = "text"\n'
        '[capabilities]\ncommands = ["sh", "sleep"]\n[limits]\nwall_time_ms = 30000\n')
    return root


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def fake():
    servers = []

    def make(replies):
        server = FakeLLM(replies)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def agent_args(fake_url, skills, home, protocol="openai", *extra):
    return [CLI, "agent", "--skills", str(skills), "--home", str(home), "--base-url", fake_url,
            "--model", "fake-model", "--protocol", protocol, "--api-key-ref", "env:FAKE_LLM_KEY",
            "--approve", "refuse", *extra]


def run_agent(fake_url, skills, home, task, protocol="openai", *extra, timeout=60):
    env = {**os.environ, "FAKE_LLM_KEY": KEY}
    return subprocess.run(agent_args(fake_url, skills, home, protocol, *extra) + [task],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


def events_of(home):
    """The events of the one agent run under `home`."""
    runs = sorted((home / "runs").glob("agent-*/events.jsonl"))
    assert len(runs) == 1, runs
    return [json.loads(line) for line in runs[0].read_text().splitlines()]


def types(events):
    return [e["type"] for e in events]
