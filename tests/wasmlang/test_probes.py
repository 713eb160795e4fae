"""The WebAssembly probe suite written in Python and in JavaScript: each probe skill
(skills/probe-py, skills/probe-js) is built with `skillrt build` and tries, one call at a time,
what its sandbox must refuse, each beside a positive control that the same call succeeds at
what the manifest allows."""
import json
import os
import pathlib
import subprocess

import pytest

from conftest import PROBE_DIR, skip_unless_built

LANGUAGES = ["probe-py", "probe-js"]


@pytest.fixture(scope="module")
def built(cli):
    for skill in LANGUAGES:
        cli.build(skill)
    return cli


def call(cli, skill, **payload):
    outcome = cli.run(skill, payload)
    assert any(layer.startswith("wasmtime:") for layer in outcome["layers"]), outcome
    return outcome


def answer(cli, skill, **payload):
    """The probe's own report ({"ok": ..., "value" or "error": ...}) of a call that ended."""
    outcome = call(cli, skill, **payload)
    assert outcome["status"] == "ok", outcome
    return outcome["output"]


# --- Files -------------------------------------------------------------------------------
# Python's open() and skillrt's readText/listDir in JavaScript, on WASI's preopens.

OWN_SOURCE = {"probe-py": "/skill/probe.py", "probe-js": "/skill/probe.js"}


def refused(report):
    """A refusal as each language reports it: Python's exceptions, skillrt's FileError codes."""
    return not report["ok"] and any(word in report["error"] for word in (
        "FileNotFoundError", "PermissionError", "no-entry", "not-permitted", "access"))


@pytest.mark.parametrize("skill", LANGUAGES)
def test_reads_only_declared_paths(built, probe_dir, skill):
    inside = answer(built, skill, action="read", path=str(PROBE_DIR / "inside.txt"))
    assert inside == {"ok": True, "value": "inside the declared directory\n"}
    own = answer(built, skill, action="read", path=OWN_SOURCE[skill])
    assert own["ok"] and "Tries one thing" in own["value"], own
    for path in ("/etc/passwd", "/etc/hostname", "/root", "/proc/self/environ"):
        report = answer(built, skill, action="read", path=path)
        assert refused(report), (path, report)


@pytest.mark.parametrize("skill", LANGUAGES)
def test_dotdot_and_symlink_escapes_are_refused(built, probe_dir, skill):
    for path in (f"{PROBE_DIR}/../../../etc/passwd", f"{PROBE_DIR}/../skillrt-wasmlang-probe/"
                 "../../../etc/hostname", "/skill/../../etc/passwd", str(PROBE_DIR / "escape")):
        report = answer(built, skill, action="read", path=path)
        assert refused(report), (path, report)
    # The target itself exists on the host: only the sandbox hides it.
    assert os.path.exists("/etc/hostname")


def test_javascript_lists_declared_directories_only(built, probe_dir):
    listed = answer(built, "probe-js", action="list", path=str(PROBE_DIR))
    assert listed["ok"] and "inside.txt" in listed["value"], listed
    assert "probe.js" in answer(built, "probe-js", action="list", path="/skill")["value"]
    for path in ("/", "/etc", f"{PROBE_DIR}/..", "/var/tmp"):
        report = answer(built, "probe-js", action="list", path=path)
        assert refused(report), (path, report)


# --- Environment --------------------------------------------------------------------------

def test_python_sees_declared_environment_only(built):
    env = dict(os.environ, SECRET_TOKEN="host-secret")
    outcome = built.run("probe-py", {"action": "env", "name": "SECRET_TOKEN"}, env=env)
    assert outcome["output"]["ok"] is False
    assert "host-secret" not in str(outcome)
    for name in ("PATH", "HOME"):
        assert answer(built, "probe-py", action="env", name=name)["ok"] is False
    declared = answer(built, "probe-py", action="env", name="PROBE_DECLARED")
    assert declared == {"ok": True, "value": "declared"}


def test_javascript_sees_no_host_environment(built):
    env = dict(os.environ, SECRET_TOKEN="host-secret")
    outcome = built.run("probe-js", {"action": "env", "name": "SECRET_TOKEN"}, env=env)
    assert outcome["status"] == "ok" and outcome["output"]["ok"] is False
    assert "host-secret" not in str(outcome)


# --- Network ------------------------------------------------------------------------------

@pytest.mark.parametrize("skill", LANGUAGES)
def test_fetch_reaches_declared_host_only(built, server, skill):
    allowed = answer(built, skill, action="fetch", url=f"{server}/allowed")
    assert allowed == {"ok": True, "value": "hello from /allowed"}
    for url in ("http://127.0.0.2:18766/", "http://169.254.169.254/latest/meta-data/",
                "http://example.org/", "http://127.0.0.1:18767/"):
        report = answer(built, skill, action="fetch", url=url)
        assert not report["ok"], (url, report)
        assert "denied" in report["error"] or "egress" in report["error"], report


def test_python_socket_is_refused(built, server):
    port = int(server.rsplit(":", 1)[1])
    report = answer(built, "probe-py", action="socket", host="127.0.0.1", port=port)
    assert not report["ok"], report
    # The same host through skillrt's fetch: the positive control.
    assert answer(built, "probe-py", action="fetch", url=f"{server}/x")["ok"]


def test_javascript_has_no_socket_api(built, server):
    # The component imports no wasi:sockets and no wasi:http: there is nothing a JavaScript
    # skill could open a connection with (the engine's own fetch has no host to call).
    wasm_tools = sorted(pathlib.Path.home().glob(".cache/skillrt/tools/wasm-tools-*/bin/wasm-tools"))
    if not wasm_tools:
        skip_unless_built("wasm-tools is not cached (scripts/build-wasm.sh fetches it)")
    component = json.loads(built("build", "--json", "probe-js").stdout)["component"]
    wit = subprocess.run([str(wasm_tools[-1]), "component", "wit", component], check=True,
                         capture_output=True, text=True).stdout
    imports = [line.split()[1] for line in wit.splitlines() if line.strip().startswith("import ")]
    assert any(i.startswith("skillrt:skill/http") for i in imports), imports
    assert not [i for i in imports if i.startswith(("wasi:sockets", "wasi:http"))], imports
    report = answer(built, "probe-js", action="socket")
    assert report.get("value") != "WebSocket exists", report
    # The same host through skillrt's fetch: the positive control.
    assert answer(built, "probe-js", action="fetch", url=f"{server}/x")["ok"]


# --- Limits -------------------------------------------------------------------------------

@pytest.mark.parametrize("skill", LANGUAGES)
def test_infinite_loop_ends_at_wall_time(built, skill):
    assert answer(built, skill, action="loop")["value"] == 100_000
    outcome = call(built, skill, action="loop", forever=True)
    assert outcome["status"] == "timeout", outcome
    assert "wall_time" in outcome["limits_hit"]


@pytest.mark.parametrize("skill", LANGUAGES)
def test_memory_past_the_limit_is_refused(built, skill):
    assert answer(built, skill, action="memory", mb=16)["value"] == 16
    outcome = call(built, skill, action="memory", mb=512)
    # The store's limiter refuses to grow the linear memory past memory_mb: the interpreter
    # reports it as its own out-of-memory error, which ends the call.
    assert outcome["status"] == "error", outcome
    assert "MemoryError" in outcome["message"] or "out of memory" in outcome["message"], outcome
    # The host is unaffected: the next call works.
    assert answer(built, skill, action="memory", mb=8)["value"] == 8


@pytest.mark.parametrize("skill", LANGUAGES)
def test_deep_recursion_is_contained(built, skill):
    assert answer(built, skill, action="recurse", depth=100)["value"] == 100
    outcome = call(built, skill, action="recurse", depth=10_000_000)
    assert outcome["status"] == "error", outcome
    # The host is unaffected: the next call works.
    assert answer(built, skill, action="recurse", depth=50)["value"] == 50


@pytest.mark.parametrize("skill", LANGUAGES)
def test_output_flood_is_cut(built, skill):
    assert answer(built, skill, action="print", kb=4)["value"] == 4
    outcome = call(built, skill, action="print", kb=100_000)
    assert outcome["status"] == "killed", outcome
    assert "output" in outcome["limits_hit"]
