"""The smallest use of the Python SDK: open an engine over the bundled skills, run one in the
native sandbox and one in WebAssembly, and watch a run's events.

Run: <build>/pyenv/bin/python examples/python/minimal.py   (after scripts/setup.sh)
"""

import pathlib

import skillrt

root = pathlib.Path(__file__).resolve().parents[2]

with skillrt.Engine(skills=[root / "examples" / "skills"]) as engine:
    outcome = engine.run("calculator", {"expression": "2*(3+4)"})
    print(f"calculator: {outcome.status} {outcome.output} in {outcome.duration_ms:.1f} ms")
    print(f"  isolation: {' '.join(outcome.layers)}")

    try:
        stats = engine.run("number-stats", {"numbers": [2, 4, 4, 4, 5, 5, 7, 9]})
        print(f"number-stats (wasm): {stats.status} mean={stats.output['mean']}"
              f" stddev={stats.output['stddev']:.3f}")
    except skillrt.SkillrtError as error:  # e.g. stats.wasm not built on this machine
        print(f"number-stats (wasm): not run: {error}")

    handle = engine.start("calculator", {"expression": "sqrt(2)**2"})
    print("events: " + " ".join(f"{e['seq']}:{e['type']}" for e in handle.events()))
    print(f"calculator (started): {handle.wait().output}")

    try:
        engine.run("calculator", {"expr": "1"})
    except skillrt.InvalidArgumentError as error:
        print(f"bad input is an exception: {type(error).__name__}: {error}")
