"""Engine.run and exec, the Outcome's fields against the CLI's JSON, the catalogue,
validation and the audit log."""

from __future__ import annotations

import json
import os
import pydoc
import subprocess
import time

import pytest

import skillrt
from conftest import CLI, EXAMPLES, wasm_available, write_skill


def test_run_returns_the_skills_output(engine):
    outcome = engine.run("calculator", {"expression": "2*(3+4)"})
    assert outcome.status == "ok", outcome.message
    assert outcome.ok
    assert outcome.exit_code == 0
    assert outcome.output["result"] == 14
    assert outcome.skill == "calculator"
    assert outcome.duration_ms > 0
    assert "seccomp" in outcome.layers
    assert outcome.limits["memory_bytes"] == 128 << 20


def test_outcome_has_the_fields_of_the_cli_json(engine, home):
    outcome = engine.run("calculator", {"expression": "6*7"})
    cli = subprocess.run(
        [CLI, "--home", str(home), "--skills", str(EXAMPLES), "run", "calculator", "--json",
         "--input", '{"expression": "6*7"}'],
        capture_output=True, text=True, check=False,
    )
    from_cli = json.loads(cli.stdout)
    mine = outcome.to_dict()
    assert set(mine) == set(from_cli)
    for key in from_cli:
        assert hasattr(outcome, key), key
    for key in ("skill", "status", "exit_code", "output", "stdout", "limits", "limits_hit"):
        assert mine[key] == from_cli[key], key
        assert getattr(outcome, key) == from_cli[key], key


def test_a_failing_skill_is_an_outcome_not_an_exception(engine):
    outcome = engine.run("calculator", {"expression": "1/0"})
    assert outcome.status == "error"
    assert outcome.exit_code != 0
    assert not outcome.ok


def test_limits_narrow_the_manifest(engine):
    outcome = engine.run("tick", {"count": 1000, "interval": 0.01}, timeout=0.3)
    assert outcome.status == "timeout"
    assert "wall_time" in outcome.limits_hit
    outcome = engine.run("tick", {"count": 1}, memory=64)
    assert outcome.limits["memory_bytes"] == 64 << 20


def test_a_widening_override_is_refused(engine):
    with pytest.raises(skillrt.InvalidArgumentError, match="memory"):
        engine.run("calculator", {"expression": "1"}, memory=4096)


def test_exec_runs_argv_in_the_skills_sandbox(engine):
    outcome = engine.exec("calculator", ["python3", "-c", "import sys; print(sys.stdin.read()[::-1])"],
                          stdin="olleh")
    assert outcome.status == "ok", outcome.message
    assert outcome.stdout == "hello\n"
    refused = engine.exec("calculator", ["curl", "http://127.0.0.1/"])
    assert refused.status == "denied"
    assert "curl" in refused.message


@pytest.mark.skipif(not wasm_available(), reason="scripts/build-wasm.sh has not built stats.wasm")
def test_a_webassembly_skill_runs(engine):
    outcome = engine.run("number-stats", {"numbers": [1, 2, 3, 4]})
    assert outcome.status == "ok", outcome.message
    assert outcome.output["mean"] == 2.5


def test_unknown_skill_raises_not_found(engine):
    with pytest.raises(skillrt.NotFoundError) as raised:
        engine.run("no-such-skill", {})
    assert "no-such-skill" in str(raised.value)
    assert raised.value.code == "not_found"
    assert isinstance(raised.value, LookupError)


def test_input_against_the_schema_raises_invalid_argument(engine):
    with pytest.raises(skillrt.InvalidArgumentError) as raised:
        engine.run("tick", {"count": "three"})
    assert "count" in str(raised.value)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(skillrt.InvalidArgumentError, match="nope"):
        engine.run("tick", {"nope": 1})


def test_input_that_is_not_json_raises_naming_the_path(engine):
    with pytest.raises(skillrt.InvalidArgumentError, match=r"input\.rows\[1\]"):
        engine.run("tick", {"rows": [1, {2, 3}]})
    with pytest.raises(skillrt.InvalidArgumentError, match="NaN"):
        engine.run("tick", {"x": float("nan")})
    loop: list = []
    loop.append(loop)
    with pytest.raises(skillrt.InvalidArgumentError, match="deeper"):
        engine.run("tick", {"x": loop})
    with pytest.raises(skillrt.InvalidArgumentError, match="timeout"):
        engine.run("tick", {}, timeout=-1)


def test_bad_manifest_raises_validation_or_parse(engine, skills_dir):
    write_skill(skills_dir, "broken", '[entry]\nargv = ["true"]\n[limits]\nmemory_mb = "lots"\n')
    with pytest.raises((skillrt.ValidationError, skillrt.ParseError)) as raised:
        engine.run("broken", {})
    assert "memory_mb" in str(raised.value)
    assert isinstance(raised.value, skillrt.SkillrtError)


def test_skills_info_and_validate(engine, skills_dir):
    names = [s["name"] for s in engine.skills()]
    assert "calculator" in names and "tick" in names
    assert names == sorted(names)
    info = engine.info("calculator")
    assert info["runtime"] == "native"
    assert info["entry"]["argv"] == ["python3", "scripts/calc.py"]
    assert len(info["tree_sha256"]) == 64
    assert info["input_schema"]["type"] == "object"
    assert engine.validate(EXAMPLES / "calculator") == []
    write_skill(skills_dir, "broken", '[entry]\nargv = ["true"]\n[limits]\nmemory_mb = "lots"\n')
    problems = skillrt.validate(skills_dir / "broken")
    assert problems and problems[0]["severity"] == "error"
    assert any("memory_mb" in p["text"] for p in problems)
    with pytest.raises(skillrt.NotFoundError):
        engine.info("no-such-skill")


def test_audit_query_and_verify(engine, home):
    engine.run("calculator", {"expression": "1+1"})
    engine.run("calculator", {"expression": "1/0"})
    records = engine.audit_query(skill="calculator")
    assert [r["status"] for r in records] == ["ok", "error"]
    assert engine.audit_query(status="error", limit=1)[0]["skill"] == "calculator"
    verification = engine.audit_verify()
    assert verification["ok"] and verification["records"] == 2
    pin = (verification["head_seq"], verification["head_hash"])
    assert engine.audit_verify(pin)["ok"]
    # An edited record breaks the chain: reported, not raised.
    log = home / "audit.log"
    lines = log.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"status":"ok"', '"status":"no"')
    log.write_text("".join(lines))
    broken = engine.audit_verify()
    assert not broken["ok"]
    assert broken["line"] == 1


def test_closed_engine_raises(home, skills_dir):
    engine = skillrt.Engine(home=home, skills=[skills_dir])
    engine.close()
    engine.close()
    assert engine.closed
    with pytest.raises(skillrt.InvalidArgumentError, match="closed"):
        engine.run("tick", {})


def test_help_reads_well():
    text = pydoc.render_doc(skillrt.Engine.run, renderer=pydoc.plaintext)
    for words in ("timeout", "seconds", "MiB", "NotFoundError", "Outcome"):
        assert words in text
    assert "cli" in skillrt.Outcome.__doc__.lower()
    assert "'ok'" in skillrt.Outcome.status.__doc__


def _held_sandboxes() -> list[int]:
    """Children of this process that wait with the sandbox's seccomp filter installed: the
    sandboxes held for a plan (a finished run's sandbox has been reaped)."""
    held = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == os.getpid() and fields.get("Seccomp", "").strip() == "2":
            held.append(int(entry))
    return held


def _wait_for_held(seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        held = _held_sandboxes()
        if held:
            return held
        time.sleep(0.05)
    return []


def test_prepared_sandboxes_can_be_turned_off(home, skills_dir):
    argv = ["python3", "-c", "print(6 * 7)"]
    with skillrt.Engine(home=home, skills=[skills_dir, EXAMPLES], prepared_sandboxes=0) as off:
        assert off.exec("calculator", argv).stdout == "42\n"
        assert _wait_for_held(1.5) == []
    # Positive control: by default the next run of the plan has a sandbox held for it.
    with skillrt.Engine(home=home, skills=[skills_dir, EXAMPLES]) as on:
        assert on.exec("calculator", argv).stdout == "42\n"
        assert _wait_for_held(5) != []
        assert on.exec("calculator", argv).stdout == "42\n"
    for bad in (-1, True, "2", 1.5, 257):
        with pytest.raises(skillrt.InvalidArgumentError, match="prepared_sandboxes"):
            skillrt.Engine(home=home, prepared_sandboxes=bad)
