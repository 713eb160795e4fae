"""Starting `skillrt daemon` for a bench (docs/daemon.md), shared by the CLI benches."""
import subprocess
import sys
import threading


def start_daemon(binary, env):
    """`skillrt daemon` for env's SKILLRT_HOME, returned once it says it serves. Its callers
    must run with the same environment, in the same directory, without a controlling
    terminal (start_new_session=True), or it does not serve them."""
    proc = subprocess.Popen([binary, "daemon"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    line = proc.stderr.readline().decode()
    if "serving" not in line:
        sys.exit(f"skillrt daemon did not start: {line}")
    # Its per-call lines would fill the pipe: read them away.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc
