"""`skillrt daemon` and `skillrt exec` handed to it (docs/daemon.md): the same output, exit
code and audit record as a call run in its own process; callers confined otherwise, or in
another environment, run their calls themselves; cancellation by signal and by the caller's
death; bad requests; the socket's life."""
import fcntl
import json
import os
import pathlib
import queue
import shutil
import signal
import socket
import stat
import subprocess
import termios
import threading
import time

import pytest

CLI = os.environ.get("SKILLRT_CLI", "skillrt")


class Daemon:
    """A `skillrt daemon` process and the lines it prints."""

    def __init__(self, env, cwd, extra=()):
        self.proc = subprocess.Popen([CLI, "daemon", *extra], env=env, cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, text, timeout=20):
        """The first line from now on that contains `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; lines: {self.seen[-20:]}")

    def drain(self):
        """The lines printed so far and not read."""
        out = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return out
            if line is None:
                return out
            self.seen.append(line)
            out.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def world(tmp_path):
    """A skill root with `quiet` (exec of true, echo, cat, sleep), a home, and the
    environment and directory both the daemon and its callers use."""
    skill = tmp_path / "skills" / "quiet"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: quiet\ndescription: Runs a few commands.\n"
                                    "---\n# quiet\n")
    (skill / "skill.toml").write_text(
        '[capabilities]\ncommands = ["true", "echo", "cat", "sleep"]\n'
        '[limits]\nwall_time_ms = 60000\n')
    env = {**os.environ, "SKILLRT_HOME": str(tmp_path / "home")}
    env.pop("SHLVL", None)
    return {"dir": tmp_path, "env": env, "skills": str(tmp_path / "skills")}


@pytest.fixture
def daemon(world):
    d = Daemon(world["env"], world["dir"])
    d.wait_for("serving")
    yield d
    d.stop()


def call(world, *argv, env=None, input=None, **kwargs):
    """`skillrt --skills ROOT exec quiet -- ARGV` without a controlling terminal."""
    return subprocess.run([CLI, "--skills", world["skills"], "exec", "quiet", "--", *argv],
                          env=env or world["env"], cwd=world["dir"], input=input,
                          capture_output=True, text=True, start_new_session=True,
                          timeout=60, **kwargs)


def audit_records(env):
    out = subprocess.run([CLI, "audit", "tail", "-n", "100", "--json"], env=env,
                         capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def record_of(env, run_id):
    for record in audit_records(env):
        if record.get("run_id") == run_id and record.get("event") in ("run", "refusal"):
            return record
    raise AssertionError(f"no audit record of run {run_id}")


def served_run_id(line):
    assert "served exec quiet (run " in line, line
    return line.split("(run ", 1)[1].split(")", 1)[0]


def test_served_call_prints_exits_and_is_audited_as_a_local_one(world, daemon, tmp_path):
    local_env = {**world["env"], "SKILLRT_HOME": str(tmp_path / "local-home")}
    cases = [(["echo", "hello", "daemon"], None), (["cat"], "piped input\n"),
             (["cat", "/nonexistent"], None), (["ls"], None)]
    for argv, stdin in cases:
        served = call(world, *argv, input=stdin)
        line = daemon.wait_for("exec quiet")
        assert "served" in line, line
        run_id = served_run_id(line)
        local = call(world, *argv, env=local_env, input=stdin)
        assert (served.returncode, served.stdout, served.stderr) == \
            (local.returncode, local.stdout, local.stderr), argv
        record = record_of(world["env"], run_id)
        local_record = audit_records(local_env)[-1]
        for key in ("event", "kind", "status", "exit_code", "layers", "sandbox_level",
                    "invocation", "tree_sha256", "decision"):
            assert record.get(key) == local_record.get(key), (argv, key)
    assert call(world, "echo", "x").stdout == "x\n"
    # The denied command (ls) and the failing one came back with their own exit codes.
    assert call(world, "ls").returncode == 3
    assert call(world, "cat", "/nonexistent").returncode == 1
    verify = subprocess.run([CLI, "audit", "verify"], env=world["env"], capture_output=True,
                            text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "skills"


def run(world, skill, *flags, env=None, input=None):
    """`skillrt --skills EXAMPLES run SKILL FLAGS` without a controlling terminal."""
    return subprocess.run([CLI, "--skills", str(EXAMPLES), "run", skill, *flags],
                          env=env or world["env"], cwd=world["dir"], input=input,
                          capture_output=True, text=True, start_new_session=True, timeout=60)


def test_served_run_prints_exits_and_is_audited_as_a_local_one(world, daemon, tmp_path):
    # A WebAssembly skill and a Python one; an input inline, from stdin and from a file; an
    # input the skill rejects; --json; and a skill that does not exist (refused by the engine,
    # still the daemon's call). Invalid JSON never reaches the daemon.
    assert (EXAMPLES / "number-stats" / "scripts" / "stats.wasm").exists(), \
        "examples' WebAssembly is built by scripts/setup.sh"
    local_env = {**world["env"], "SKILLRT_HOME": str(tmp_path / "local-home")}
    input_file = tmp_path / "input.json"
    input_file.write_text('{"numbers": [4, 8, 15, 16, 23, 42]}')
    cases = [
        ("number-stats", ["--input", '{"numbers": [1, 2, 3]}'], None),
        ("number-stats", ["--input", "-"], '{"numbers": [2, 4]}'),
        ("number-stats", ["--input", f"@{input_file}", "--json"], None),
        ("calculator", ["--input", '{"expression": "2 + 3 * 4"}'], None),
        ("calculator", ["--input", '{"expression": "1 / 0"}'], None),
        ("no-such-skill", ["--input", "{}"], None),
    ]
    for skill, flags, stdin in cases:
        served = run(world, skill, *flags, input=stdin)
        line = daemon.wait_for(f"run {skill}")
        assert f"served run {skill}" in line, line
        local = run(world, skill, *flags, env=local_env, input=stdin)
        if "--json" in flags:  # The outcome's timings and run id differ.
            mine, theirs = json.loads(served.stdout), json.loads(local.stdout)
            for key in ("status", "exit_code", "output", "layers"):
                assert mine.get(key) == theirs.get(key), (skill, key)
        else:
            assert served.stdout == local.stdout, (skill, flags)
        # The homes differ, and a message may name its skill root.
        assert (served.returncode,
                served.stderr.replace(world["env"]["SKILLRT_HOME"], "HOME")) == \
            (local.returncode, local.stderr.replace(local_env["SKILLRT_HOME"], "HOME")), \
            (skill, flags)
        if skill == "no-such-skill":  # Neither audits a skill that is not there.
            continue
        record = record_of(world["env"], line.split("(run ", 1)[1].split(")", 1)[0])
        local_record = audit_records(local_env)[-1]
        for key in ("event", "kind", "status", "exit_code", "layers", "sandbox_level",
                    "tree_sha256", "decision"):
            assert record.get(key) == local_record.get(key), (skill, key)
    assert run(world, "calculator", "--input", '{"expression": "6 * 7"}').stdout == \
        '{\n  "result": 42\n}\n'
    assert run(world, "calculator", "--input", '{"expression": "1 / 0"}').returncode != 0
    # Invalid JSON is the caller's to report: the daemon hears nothing of it. (The daemon
    # logs a call after its caller has the answer: wait for both lines first.)
    daemon.wait_for("served run calculator")
    daemon.wait_for("served run calculator")
    daemon.drain()
    bad = run(world, "calculator", "--input", '{"expression": ')
    assert bad.returncode == 2 and "invalid JSON" in bad.stderr, bad.stderr
    time.sleep(0.3)
    assert not any("calculator" in line for line in daemon.drain())
    verify = subprocess.run([CLI, "audit", "verify"], env=world["env"], capture_output=True,
                            text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_served_call_sees_skills_added_changed_and_removed_since_the_last(world, daemon):
    # The daemon keeps the catalogue of the roots between calls (docs/daemon.md): every change
    # made before a call is still seen by it.
    assert call(world, "echo", "one").stdout == "one\n"
    daemon.wait_for("served exec quiet")
    other = pathlib.Path(world["skills"]) / "nested" / "loud"
    other.mkdir(parents=True)
    (other / "SKILL.md").write_text("---\nname: loud\ndescription: Echoes.\n---\n# loud\n")
    (other / "skill.toml").write_text('[capabilities]\ncommands = ["echo"]\n')

    def loud(*argv):
        return subprocess.run([CLI, "--skills", world["skills"], "exec", "loud", "--", *argv],
                              env=world["env"], cwd=world["dir"], capture_output=True,
                              text=True, start_new_session=True, timeout=60)

    added = loud("echo", "added")
    assert (added.returncode, added.stdout) == (0, "added\n"), added.stderr
    assert "served exec loud" in daemon.wait_for("served exec loud")
    # Its manifest narrowed: the next call is refused as a fresh process would refuse it.
    (other / "skill.toml").write_text('[capabilities]\ncommands = ["true"]\n')
    narrowed = loud("echo", "narrowed")
    assert narrowed.returncode != 0 and "echo" in narrowed.stderr, narrowed.stderr
    daemon.wait_for("served exec loud")
    shutil.rmtree(other.parent)
    gone = loud("echo", "gone")
    assert gone.returncode != 0 and "unknown skill 'loud'" in gone.stderr, gone.stderr
    daemon.wait_for("served exec loud")


def idle_serving_threads(daemon, expect):
    """The thread ids of the daemon's serving threads waiting for a call, once there are
    `expect` of them (a thread goes back to waiting just after its caller has its answer)."""
    tasks = pathlib.Path(f"/proc/{daemon.proc.pid}/task")
    deadline = time.monotonic() + 10
    while True:
        found = set()
        for task in tasks.iterdir():
            try:
                if (task / "comm").read_text().strip() == "skillrt-idle":
                    found.add(task.name)
            except FileNotFoundError:
                pass
        if len(found) == expect or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_serving_threads_are_kept_for_the_next_calls(world, daemon):
    # A call is served on a thread kept from the calls before it (docs/daemon.md): one thread
    # for calls one after another, and as many as were served at once.
    assert call(world, "true").returncode == 0
    first = idle_serving_threads(daemon, 1)
    assert len(first) == 1, first
    for _ in range(3):
        assert call(world, "echo", "again").stdout == "again\n"
        assert idle_serving_threads(daemon, 1) == first
    slow = subprocess.Popen([CLI, "--skills", world["skills"], "exec", "quiet", "--", "sleep",
                             "2"], env=world["env"], cwd=world["dir"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    assert idle_serving_threads(daemon, 0) == set()  # The one thread serves the sleep.
    assert call(world, "true").returncode == 0  # Served beside it, on a new thread.
    assert slow.wait(timeout=30) == 0
    both = idle_serving_threads(daemon, 2)
    assert len(both) == 2 and first < both, both
    assert call(world, "true").returncode == 0
    assert idle_serving_threads(daemon, 2) == both


def test_sigint_cancels_a_served_run_command(world, daemon, tmp_path):
    # `run` of a skill that sleeps, interrupted: the daemon's run is cancelled as a local one is.
    skill = tmp_path / "sleeper"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: sleeper\ndescription: Sleeps.\n---\n# sleeper\n")
    (skill / "skill.toml").write_text(
        'runtime = "native"\n[entry]\nargv = ["sleep", "30"]\n'
        '[capabilities]\ncommands = ["sleep"]\n[limits]\nwall_time_ms = 60000\n')
    proc = subprocess.Popen([CLI, "--skills", str(tmp_path), "run", "sleeper"],
                            env=world["env"], cwd=world["dir"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    line = daemon.wait_for("run sleeper")
    assert "served run sleeper" in line, line
    record = record_of(world["env"], line.split("(run ", 1)[1].split(")", 1)[0])
    assert record["status"] == "cancelled"
    assert "interrupted by SIGINT" in record.get("message", "")


def test_caller_in_another_environment_runs_its_call_itself(world, daemon):
    env = {**world["env"], "SKILLRT_TEST_EXTRA": "1"}
    result = call(world, "echo", "mine", env=env)
    assert (result.returncode, result.stdout) == (0, "mine\n")
    line = daemon.wait_for("not served")
    assert "environment differs in SKILLRT_TEST_EXTRA" in line, line
    assert "=1" not in line  # Names, never values.
    # Positive control: the same call in the daemon's environment is served.
    call(world, "echo", "again")
    assert "served exec quiet" in daemon.wait_for("exec quiet")


@pytest.mark.parametrize("wrapper,fact", [
    (["setpriv", "--no-new-privs"], "status/NoNewPrivs"),
    (["unshare", "--net"], "ns/net"),
])
def test_caller_confined_otherwise_runs_its_call_itself(world, daemon, wrapper, fact):
    result = subprocess.run([*wrapper, CLI, "--skills", world["skills"], "exec", "quiet",
                             "--", "echo", "confined"], env=world["env"], cwd=world["dir"],
                            capture_output=True, text=True, start_new_session=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "confined\n"), result.stderr
    line = daemon.wait_for("not served")
    assert "confined otherwise (" + fact in line, line


def test_caller_in_another_directory_runs_its_call_itself(world, daemon, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([CLI, "--skills", world["skills"], "exec", "quiet", "--", "true"],
                            env=world["env"], cwd=elsewhere, capture_output=True, text=True,
                            start_new_session=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "confined otherwise (cwd" in daemon.wait_for("not served")


def test_caller_with_a_controlling_terminal_keeps_its_call(world, daemon):
    leader, follower = os.openpty()

    def take_terminal():
        fcntl.ioctl(follower, termios.TIOCSCTTY, 0)

    try:
        result = subprocess.run([CLI, "--skills", world["skills"], "exec", "quiet", "--",
                                 "echo", "tty"], env=world["env"], cwd=world["dir"],
                                stdin=follower, capture_output=True, text=True,
                                start_new_session=True, preexec_fn=take_terminal, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    assert (result.returncode, result.stdout) == (0, "tty\n"), result.stderr
    time.sleep(0.3)
    assert not any("exec quiet" in line or "not served" in line for line in daemon.drain())
    # Positive control: without the terminal the call is the daemon's.
    call(world, "true")
    assert "served exec quiet" in daemon.wait_for("exec quiet")


def test_sigint_cancels_the_served_run(world, daemon):
    proc = subprocess.Popen([CLI, "--skills", world["skills"], "exec", "quiet", "--", "sleep",
                             "30"], env=world["env"], cwd=world["dir"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(1.5)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 10
    run_id = served_run_id(daemon.wait_for("exec quiet"))
    record = record_of(world["env"], run_id)
    assert record["status"] == "cancelled"
    assert "interrupted by SIGINT" in record.get("message", "")


def test_caller_killed_cancels_the_served_run(world, daemon):
    proc = subprocess.Popen([CLI, "--skills", world["skills"], "exec", "quiet", "--", "sleep",
                             "30"], env=world["env"], cwd=world["dir"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(1.5)
    proc.kill()
    proc.wait()
    run_id = served_run_id(daemon.wait_for("exec quiet", timeout=15))
    record = record_of(world["env"], run_id)
    assert record["status"] == "cancelled"
    assert "the caller went away" in record.get("message", "")


def socket_path(world):
    return os.path.join(world["env"]["SKILLRT_HOME"], "run", "daemon.sock")


@pytest.mark.parametrize("payload", [
    b"",
    b"garbage that is not a request",
    b"SKRTEX02" + (1 << 40).to_bytes(8, "little"),
    b"SKRTEX02" + (5).to_bytes(8, "little") + b"\xff\xff\xff\xff\xff",
])
def test_malformed_requests_are_refused_and_the_daemon_stays_up(world, daemon, payload):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(socket_path(world))
        if payload:
            s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(4096)
    assert reply == b"" or reply[:1] == b"F", reply
    assert daemon.proc.poll() is None
    # A well-formed call is still served.
    assert call(world, "echo", "still").stdout == "still\n"
    assert "served exec quiet" in daemon.wait_for("exec quiet")


def test_a_second_daemon_for_the_same_home_is_refused(world, daemon):
    second = subprocess.run([CLI, "daemon"], env=world["env"], cwd=world["dir"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert "already serves" in second.stderr


def test_a_socket_left_by_a_killed_daemon_is_replaced(world):
    first = Daemon(world["env"], world["dir"])
    first.wait_for("serving")
    first.proc.kill()
    first.proc.wait()
    assert stat.S_ISSOCK(os.lstat(socket_path(world)).st_mode)
    # No daemon: the call runs in its own process.
    assert call(world, "echo", "alone").stdout == "alone\n"
    second = Daemon(world["env"], world["dir"])
    try:
        second.wait_for("serving")
        call(world, "true")
        assert "served exec quiet" in second.wait_for("exec quiet")
    finally:
        second.stop()


def test_sigterm_stops_the_daemon_and_removes_its_socket(world, daemon):
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=20) == 0
    assert "stopped by SIGTERM" in daemon.wait_for("stopped")
    assert not os.path.exists(socket_path(world))


def test_a_run_directory_others_may_enter_is_refused(world):
    run = pathlib.Path(world["env"]["SKILLRT_HOME"]) / "run"
    run.mkdir(parents=True)
    run.chmod(0o755)
    result = subprocess.run([CLI, "daemon"], env=world["env"], cwd=world["dir"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 70
    assert "mode 700" in result.stderr
    # Positive control: closed to others, it serves.
    run.chmod(0o700)
    d = Daemon(world["env"], world["dir"])
    try:
        d.wait_for("serving")
    finally:
        d.stop()


def test_prepared_sandboxes_outside_the_range_are_refused(world):
    for bad in ("-1", "257", "many"):
        result = subprocess.run([CLI, "daemon", "--prepared-sandboxes", bad], env=world["env"],
                                cwd=world["dir"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (bad, result.stderr)
        assert "--prepared-sandboxes" in result.stderr


def test_idle_exit_stops_the_daemon_after_its_calls_end(world):
    d = Daemon(world["env"], world["dir"], extra=["--idle-exit", "1"])
    try:
        d.wait_for("serving")
        # A call in flight for longer than the limit is not cut short: the time counts from
        # the end of the last call.
        served = call(world, "sleep", "2")
        assert served.returncode == 0, served.stderr
        assert "served exec quiet" in d.wait_for("exec quiet")
        assert "stopped after 1 s without a call" in d.wait_for("stopped", timeout=30)
        assert d.proc.wait(timeout=20) == 0
        assert not os.path.exists(socket_path(world))
        # No daemon now: the call runs in its own process.
        assert call(world, "echo", "alone").stdout == "alone\n"
    finally:
        d.stop()


def test_idle_exit_outside_the_range_is_refused(world):
    for bad in ("-1", "soon"):
        result = subprocess.run([CLI, "daemon", "--idle-exit", bad], env=world["env"],
                                cwd=world["dir"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (bad, result.stderr)
        assert "--idle-exit" in result.stderr


def daemons_of(home):
    """Pids of the `skillrt daemon` processes serving `home` (by their command lines; not
    their sandboxes, cloned from them, which show the same command line until they exec)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"daemon" in argv and home.encode() in argv:
            parents[int(entry)] = ppid
    return sorted(pid for pid, ppid in parents.items() if ppid not in parents)


def wait_until(predicate, timeout=20, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def served_lines(home):
    log = pathlib.Path(home) / "run" / "daemon.log"
    return [line for line in log.read_text().splitlines() if "served exec quiet" in line] \
        if log.exists() else []


def kill_daemons(home):
    for pid in daemons_of(home):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    wait_until(lambda: not daemons_of(home), what="the daemons to stop")


def test_auto_starts_a_daemon_that_serves_the_next_calls(world):
    env = {**world["env"], "SKILLRT_DAEMON": "auto"}
    home = env["SKILLRT_HOME"]
    try:
        # No home yet: the call makes it, and starts no daemon.
        assert call(world, "echo", "first", env=env).stdout == "first\n"
        assert daemons_of(home) == []
        # A home without a daemon: this call runs itself and starts one. The caller's own
        # descriptors (a pipe here) do not go with it: the pipe ends when the caller does.
        read_end, write_end = os.pipe()
        second = call(world, "echo", "second", env=env, pass_fds=(write_end,))
        os.close(write_end)
        assert second.stdout == "second\n" and second.returncode == 0, second.stderr
        os.set_blocking(read_end, False)
        wait_until(lambda: daemons_of(home), what="a daemon")
        [pid] = daemons_of(home)
        assert os.read(read_end, 1) == b""  # EOF: no other process holds the write end.
        os.close(read_end)
        assert os.getsid(pid) == pid  # A session of its own.
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert b"--idle-exit\x00600" in f.read()
        wait_until(lambda: os.path.exists(socket_path(world)), what="the socket")
        # The next calls are served, with the same output.
        for word in ("third", "fourth"):
            result = call(world, "echo", word, env=env)
            assert (result.returncode, result.stdout) == (0, word + "\n"), result.stderr
        wait_until(lambda: len(served_lines(home)) == 2, what="two served lines")
        assert daemons_of(home) == [pid]
    finally:
        kill_daemons(home)


def test_callers_that_start_daemons_at_once_leave_one(world):
    env = {**world["env"], "SKILLRT_DAEMON": "auto"}
    home = env["SKILLRT_HOME"]
    try:
        assert call(world, "true", env=env).returncode == 0  # Makes the home.
        procs = [subprocess.Popen([CLI, "--skills", world["skills"], "exec", "quiet", "--",
                                   "echo", str(i)], env=env, cwd=world["dir"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True) for i in range(6)]
        for i, proc in enumerate(procs):
            out, err = proc.communicate(timeout=60)
            assert (proc.returncode, out) == (0, f"{i}\n"), err
        wait_until(lambda: os.path.exists(socket_path(world)), what="the socket")
        # Those refused by the lock exit; one stays.
        wait_until(lambda: len(daemons_of(home)) == 1, what="one daemon")
        assert call(world, "echo", "after", env=env).stdout == "after\n"
        wait_until(lambda: served_lines(home), what="a served line")
    finally:
        kill_daemons(home)


def test_off_keeps_calls_from_a_serving_daemon(world):
    env = {**world["env"], "SKILLRT_DAEMON": "off"}
    d = Daemon(env, world["dir"])
    try:
        d.wait_for("serving")
        d.proc.send_signal(signal.SIGSTOP)
        # A caller that connected now would wait for the stopped daemon's answer.
        assert call(world, "echo", "mine", env=env).stdout == "mine\n"
        # Positive control: without "off" the same call is handed to it, and waits.
        plain = {**env, "SKILLRT_DAEMON": ""}
        with pytest.raises(subprocess.TimeoutExpired):
            subprocess.run([CLI, "--skills", world["skills"], "exec", "quiet", "--", "true"],
                           env=plain, cwd=world["dir"], capture_output=True,
                           start_new_session=True, timeout=2)
    finally:
        d.proc.send_signal(signal.SIGCONT)
        d.stop()


def test_a_bad_daemon_setting_is_an_error_before_anything_runs(world):
    env = {**world["env"], "SKILLRT_DAEMON": "sometimes"}
    result = call(world, "echo", "ran", env=env)
    assert result.returncode == 2
    assert "SKILLRT_DAEMON" in result.stderr and "sometimes" in result.stderr
    assert result.stdout == ""
    # Positive control: a good setting runs it.
    assert call(world, "echo", "ran", env={**env, "SKILLRT_DAEMON": "off"}).stdout == "ran\n"


def fake_daemon(world, answer):
    """A listener at the daemon's socket that takes one connection, reads the request,
    sends `answer` and closes it; returns the thread (joined by the caller)."""
    run = pathlib.Path(world["env"]["SKILLRT_HOME"]) / "run"
    run.mkdir(parents=True, exist_ok=True)
    run.chmod(0o700)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path(world))
    listener.listen(1)

    def serve():
        with listener:
            listener.settimeout(30)
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                except socket.timeout:
                    pass
                if answer:
                    conn.sendall(answer)
        os.unlink(socket_path(world))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_daemon_that_ends_without_answering_is_reported(world):
    thread = fake_daemon(world, b"")
    result = call(world, "echo", "twice?")
    thread.join(timeout=30)
    assert result.returncode == 70
    assert result.stdout == ""
    assert "not run again" in result.stderr


def queued_connections(path):
    """Connections waiting in the accept queue of the listening socket at `path` (ss(8))."""
    out = subprocess.run(["ss", "-xlH", "src", path], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[2]) if len(out) > 2 else 0


def test_a_call_still_queued_when_the_daemon_stops_is_run_by_its_caller(world):
    d = Daemon(world["env"], world["dir"])
    try:
        d.wait_for("serving")
        # Stopped, the daemon takes no connection: the caller's waits in its queue.
        d.proc.send_signal(signal.SIGSTOP)
        caller = subprocess.Popen([CLI, "--skills", world["skills"], "exec", "quiet", "--",
                                   "echo", "queued"], env=world["env"], cwd=world["dir"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        wait_until(lambda: queued_connections(socket_path(world)) == 1,
                   what="the caller's connection in the queue")
        d.proc.send_signal(signal.SIGTERM)
        d.proc.send_signal(signal.SIGCONT)
        out, err = caller.communicate(timeout=60)
        # Refused while stopping, the call ran in the caller's process, not lost.
        assert (caller.returncode, out) == (0, "queued\n"), err
        assert d.proc.wait(timeout=20) == 0
        assert "by SIGTERM" in d.wait_for("stopped")
        assert not [line for line in d.seen if "served exec quiet" in line], d.seen
    finally:
        d.proc.send_signal(signal.SIGCONT)
        d.stop()


def test_calls_connected_early_or_not_are_served_alike(world, daemon):
    # Without --home the caller connects before it parses its arguments; with it, after.
    home = world["env"]["SKILLRT_HOME"]
    for extra in ([], ["--home", home]):
        result = subprocess.run([CLI, *extra, "--skills", world["skills"], "exec", "quiet", "--",
                                 "echo", "hi"], env=world["env"], cwd=world["dir"],
                                capture_output=True, text=True, start_new_session=True,
                                timeout=60)
        assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr
        assert "served exec quiet" in daemon.wait_for("exec quiet")
    # A command that names `run` but is not one connects early and sends nothing: the daemon
    # passes the connection over without a line, and serves the next call.
    result = subprocess.run([CLI, "--skills", world["skills"], "exec", "--help", "run"],
                            env=world["env"], cwd=world["dir"], capture_output=True, text=True,
                            start_new_session=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert call(world, "echo", "next").stdout == "next\n"
    assert "served exec quiet" in daemon.wait_for("exec quiet")
    assert not [line for line in daemon.seen if "malformed" in line], daemon.seen


def test_a_caller_of_another_executable_runs_its_call_itself(world, tmp_path):
    # A copy of the binary is another file: as an upgrade installed since the daemon started.
    copy = tmp_path / "skillrt-copy"
    shutil.copy2(CLI, copy)
    subprocess.run([str(copy), "--help"], capture_output=True, check=True, timeout=60)

    def call_copy(*argv):
        return subprocess.run([str(copy), "--skills", world["skills"], "exec", "quiet", "--",
                               *argv], env=world["env"], cwd=world["dir"], capture_output=True,
                              text=True, start_new_session=True, timeout=60)

    d = Daemon(world["env"], world["dir"], extra=["--idle-exit", "3"])
    try:
        d.wait_for("serving")
        # Positive control: the daemon's own executable is served.
        assert call(world, "echo", "same").stdout == "same\n"
        assert "served exec quiet" in d.wait_for("exec quiet")
        result = call_copy("echo", "other")
        assert (result.returncode, result.stdout) == (0, "other\n"), result.stderr
        line = d.wait_for("not served")
        assert "exe:" in line, line
        # Calls turned away do not keep the daemon: with only such calls it still stops.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and d.proc.poll() is None:
            assert call_copy("true").returncode == 0
            time.sleep(0.2)
        assert d.proc.poll() == 0, "calls turned away kept the daemon"
        assert "stopped after 3 s without a call" in d.wait_for("stopped")
    finally:
        d.stop()
