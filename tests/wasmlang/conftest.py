"""Fixtures for the Python and JavaScript skill tests: the CLI, a home kept in the build tree
(so that built components and their compiled code are reused from one test run to the next),
and helpers to build and run skills and to write skills of their own."""
import json
import os
import pathlib
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CLI = os.environ.get("SKILLRT_CLI", "skillrt")
SOURCE = pathlib.Path(os.environ.get("SKILLRT_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD = pathlib.Path(os.environ.get("SKILLRT_BUILD_DIR", SOURCE / "build"))
SKILLS = pathlib.Path(__file__).parent / "skills"
# The probe skills' declared directory (skill.toml: capabilities.read) and allowed host.
PROBE_DIR = pathlib.Path("/var/tmp/skillrt-wasmlang-probe")
PROBE_PORT = 18766


def skip_unless_built(why):
    """Skips the test because a toolchain or build artefact is missing, or fails it when the
    test command set everything up (SKILLRT_TEST_COMPLETE_SETUP=1): then it is a defect."""
    if os.environ.get("SKILLRT_TEST_COMPLETE_SETUP") == "1":
        pytest.fail(f"{why}, after a complete setup")
    pytest.skip(why)


def toolchain_missing():
    tools = BUILD / "wasmlang"
    for path in (tools / "py/bin/componentize-py", tools / "js/node_modules/esbuild/bin/esbuild",
                 tools / "node"):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: run scripts/wasmlang-env.sh {BUILD}"
    return None


@pytest.fixture(scope="session")
def home():
    if (why := toolchain_missing()) is not None:
        skip_unless_built(why)
    path = BUILD / "wasmlang-test-home"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


POLICY = """
[[rule]]
name = "wasmlang-tests"
effect = "allow"
reason = "the probe skills reach one host, a server these tests run on the loopback"
skills = ["probe-py", "probe-js", "text-stats-js"]
network = true

[[rule]]
name = "wasmlang-probe-dir"
effect = "allow"
reason = "the probe skills read the directory these tests make"
skills = ["probe-py", "probe-js"]
read = ["/var/tmp/skillrt-wasmlang-probe"]
"""


class Cli:
    def __init__(self, home, roots):
        self.home = home
        self.roots = roots
        self.policy = home / "test-policy.toml"
        self.policy.write_text(POLICY)

    def __call__(self, *args, timeout=900, env=None):
        roots = [a for root in self.roots for a in ("--skills", str(root))]
        return subprocess.run([CLI, "--home", str(self.home), "--policy", str(self.policy),
                               *roots, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, env=env, stdin=subprocess.DEVNULL)

    def build(self, skill):
        done = self("build", str(skill))
        assert done.returncode == 0, done.stderr
        return done

    def run(self, skill, payload, env=None):
        done = self("run", str(skill), "--json", "--input", json.dumps(payload), env=env)
        assert done.stdout, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="session")
def cli(home):
    return Cli(home, [SKILLS, SOURCE / "examples/skills"])


def write_skill(root, name, language, files, toml_extra=""):
    """A skill of its own: SKILL.md, skill.toml with [wasm], and `files` {path: text}."""
    skill = root / name
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(f"---\nname: {name}\ndescription: Test skill {name}.\n---\n")
    source = next(iter(files))
    (skill / "skill.toml").write_text(
        f'runtime = "wasm"\n\n[wasm]\nlanguage = "{language}"\nsource = "{source}"\n'
        + toml_extra)
    for path, text in files.items():
        (skill / path).parent.mkdir(parents=True, exist_ok=True)
        (skill / path).write_text(text)
    return skill


@pytest.fixture(scope="session")
def probe_dir():
    """The declared directory: a file, and a symbolic link leading out of it."""
    PROBE_DIR.mkdir(exist_ok=True)
    (PROBE_DIR / "inside.txt").write_text("inside the declared directory\n")
    link = PROBE_DIR / "escape"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to("/etc/hostname")
    return PROBE_DIR


@pytest.fixture(scope="session")
def server():
    """An HTTP server on the probe skills' allowed host, answering "hello from <path>"."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"hello from {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", PROBE_PORT), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{PROBE_PORT}"
    httpd.shutdown()
    httpd.server_close()
