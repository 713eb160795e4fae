"""Starting `skillrt daemon` for a bench (docs/daemon.md), shared by the CLI benches."""
import atexit
import os
import signal
import subprocess
import sys
import threading
import time


# Daemons started here (processes) and found started on demand (pids): stopped when the bench
# exits, however it exits (a failed call ends it with sys.exit), as they run in sessions of
# their own and would otherwise outlive it.
_processes = []
_pids = []


@atexit.register
def _stop_all():
    for proc in _processes:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
    for pid in _pids:
        stop_on_demand_daemon(pid)


def start_daemon(binary, env):
    """`skillrt daemon` for env's SKILLRT_HOME, returned once it says it serves. Its callers
    must run with the same environment, in the same directory, without a controlling
    terminal (start_new_session=True), or it does not serve them."""
    # -q: no line per call, which would wake this process (and its timing thread) per call.
    proc = subprocess.Popen([binary, "-q", "daemon"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    line = proc.stderr.readline().decode()
    if "serving" not in line:
        sys.exit(f"skillrt daemon did not start: {line}")
    # Anything it prints later (errors) would fill the pipe: read it away.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    _processes.append(proc)
    return proc


def on_demand_env(env):
    """env with SKILLRT_DAEMON=auto: the first calls in it start a daemon (docs/daemon.md)."""
    return {**env, "SKILLRT_DAEMON": "auto"}


def wait_for_on_demand_daemon(home, timeout=20):
    """The pid of the daemon a call with SKILLRT_DAEMON=auto started for `home`, once it
    serves (its log says so)."""
    log = os.path.join(home, "run", "daemon.log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(log) as f:
                for line in f:
                    if "serving" in line and "(pid " in line:
                        pid = int(line.split("(pid ", 1)[1].split(")", 1)[0])
                        _pids.append(pid)
                        return pid
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    sys.exit(f"no daemon started on demand for {home}")


def stop_on_demand_daemon(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
