"""Fixtures of the SDK's suite: a fresh home per test, the bundled example skills and a few
small skills written here (tick: prints numbered lines slowly; broken: a bad manifest)."""

from __future__ import annotations

import os
import pathlib
import textwrap

import pytest

import skillrt

SOURCE = pathlib.Path(
    os.environ.get("SKILLRT_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[2]
)
EXAMPLES = SOURCE / "examples" / "skills"
BUILD = pathlib.Path(os.environ.get("SKILLRT_BUILD_DIR") or SOURCE / "build")
CLI = os.environ.get("SKILLRT_CLI") or str(BUILD / "skillrt")

# tick writes "tick N" to stderr every `interval` seconds, `count` times, then prints a JSON
# object on stdout.
TICK_PY = textwrap.dedent(
    """\
    import json, sys, time
    args = json.load(sys.stdin)
    for i in range(args.get("count", 3)):
        print(f"tick {i}", file=sys.stderr, flush=True)
        time.sleep(args.get("interval", 0.01))
    print(json.dumps({"ticks": args.get("count", 3)}))
    """
)


def write_skill(root: pathlib.Path, name: str, toml: str, files: dict[str, str] = {}) -> pathlib.Path:
    directory = root / name
    (directory / "scripts").mkdir(parents=True, exist_ok=True)
    (directory / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: A skill of the Python SDK's tests.\n---\n# {name}\n"
    )
    (directory / "skill.toml").write_text(toml)
    for path, text in files.items():
        (directory / path).write_text(text)
    return directory


TICK_TOML = """\
[entry]
argv = ["python3", "scripts/tick.py"]
input = "stdin"
output = "json"
[entry.input_schema]
type = "object"
additionalProperties = false
[entry.input_schema.properties.count]
type = "integer"
minimum = 0
maximum = 100000
[entry.input_schema.properties.interval]
type = "number"
minimum = 0
[capabilities]
commands = ["python3"]
[limits]
wall_time_ms = 30000
"""


def pytest_configure(config):
    # The suite imports the installed wheel; a module rebuilt since would go untested.
    # scripts/python-wheel.sh writes (or, when the module's bytes are unchanged, touches) its
    # stamp each time it confirms that the installed wheel holds the built module.
    installed = pathlib.Path(skillrt._skillrt.__file__)
    stamp = BUILD / "wheels" / ".installed"
    confirmed = stamp.stat().st_mtime if stamp.exists() else installed.stat().st_mtime
    for built in BUILD.glob("python/_skillrt.*.so"):
        if built.stat().st_mtime > confirmed:
            pytest.exit(
                f"{installed} is older than {built}: run scripts/python-wheel.sh {BUILD}",
                returncode=1,
            )


@pytest.fixture
def skills_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "skills"
    write_skill(root, "tick", TICK_TOML, {"scripts/tick.py": TICK_PY})
    return root


@pytest.fixture
def home(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "home"


@pytest.fixture
def engine(home: pathlib.Path, skills_dir: pathlib.Path):
    with skillrt.Engine(home=home, skills=[skills_dir, EXAMPLES]) as engine:
        yield engine


def ask_about(home: pathlib.Path, skill: str) -> None:
    """A user policy that asks about every call of `skill`."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "policy.toml").write_text(
        f'[[rule]]\nname = "ask-{skill}"\neffect = "ask"\nskills = ["{skill}"]\n'
    )
    (home / "policy.toml").chmod(0o600)


def wasm_available() -> bool:
    return (EXAMPLES / "number-stats" / "scripts" / "stats.wasm").exists()
