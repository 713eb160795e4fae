"""`skillrt build`: clear errors at build time (a syntax error, a missing run function, a
dependency that does not exist or cannot be bundled), a run of an unbuilt skill refused with
the command to build it, the cache by source hash, manifest errors, and the bundled examples."""
import json
import uuid

import pytest

from conftest import write_skill


def build_error(cli, skill):
    done = cli("build", str(skill))
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_python_syntax_error_names_file_and_line(cli, tmp_path):
    skill = write_skill(tmp_path, "py-syntax", "python",
                        {"main.py": "def run(input):\n    return {'a': 1\n"})
    err = build_error(cli, skill)
    assert "main.py: syntax error" in err and 'File "main.py", line 2' in err, err
    assert "was never closed" in err


def test_javascript_syntax_error_names_file_and_line(cli, tmp_path):
    skill = write_skill(tmp_path, "js-syntax", "javascript",
                        {"main.js": "export function run(input) {\n  return {a: 1;\n}\n"})
    err = build_error(cli, skill)
    assert "main.js: syntax error" in err and "main.js:2:" in err, err


def test_typescript_skill_is_transpiled_and_runs(cli, tmp_path):
    # Types, an interface, a generic and an import of another .ts module: stripped by esbuild.
    skill = write_skill(tmp_path, "ts-skill", "typescript", {
        "main.ts": (
            'import { countWords, type Counts } from "./words";\n'
            "interface Input { text: string; top?: number }\n"
            "export function run(input: Input): { top: [string, number][] } {\n"
            "  const counts: Counts = countWords(input.text);\n"
            "  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]);\n"
            "  return { top: top.slice(0, input.top ?? 2) };\n"
            "}\n"),
        "words.ts": (
            "export type Counts = Map<string, number>;\n"
            "export function countWords<T extends string>(text: T): Counts {\n"
            "  const counts: Counts = new Map();\n"
            "  for (const w of text.toLowerCase().split(/\\W+/).filter(Boolean)) {\n"
            "    counts.set(w, (counts.get(w) ?? 0) + 1);\n"
            "  }\n"
            "  return counts;\n"
            "}\n"),
    })
    cli.build(skill)
    result = cli.run(skill, {"text": "a b a c a b", "top": 2})
    assert result["status"] == "ok", result
    assert result["output"] == {"top": [["a", 3], ["b", 2]]}, result


def test_typescript_syntax_error_fails_type_error_does_not(cli, tmp_path):
    broken = write_skill(tmp_path, "ts-syntax", "typescript",
                         {"main.ts": "export function run(input: {a: number) {\n  return 1;\n}\n"})
    err = build_error(cli, broken)
    assert "main.ts: syntax error" in err and "main.ts:1:" in err, err
    # Types are stripped, not checked (docs/wasm-languages.md): a type error builds, and the
    # skill runs as the JavaScript it becomes.
    mistyped = write_skill(tmp_path, "ts-types", "typescript",
                           {"main.ts": "export function run(input: {n: number}): {n: string} {\n"
                                       "  const n: string = input.n * 2;\n  return {n};\n}\n"})
    cli.build(mistyped)
    result = cli.run(mistyped, {"n": 21})
    assert result["status"] == "ok" and result["output"] == {"n": 42}, result
    wrong_ext = write_skill(tmp_path, "ts-ext", "typescript",
                            {"main.js": "export function run(i) {}\n"})
    done = cli("validate", str(wrong_ext))
    assert "is not a TypeScript module (expected a .ts or .mts file)" in done.stdout + done.stderr


def test_missing_entry_function(cli, tmp_path):
    py = write_skill(tmp_path, "py-norun", "python", {"main.py": "def handle(x):\n    return x\n"})
    assert "main.py defines no function run(input)" in build_error(cli, py)
    js = write_skill(tmp_path, "js-norun", "javascript",
                     {"main.js": "export function handle(x) { return x; }\n"})
    err = build_error(cli, js)
    assert "main.js does not export a function run(input) (it exports: handle)" in err, err


def test_unknown_dependency(cli, tmp_path):
    py = write_skill(tmp_path, "py-unknown-dep", "python", {"main.py": "def run(i):\n  return i\n"},
                     'dependencies = ["skillrt-no-such-package-7f3a==1.0.0"]\n')
    err = build_error(cli, py)
    assert "dependencies cannot be bundled" in err and "skillrt-no-such-package-7f3a" in err, err
    js = write_skill(tmp_path, "js-unknown-dep", "javascript",
                     {"main.js": "export function run(i) { return i; }\n"},
                     'dependencies = ["skillrt-no-such-package-7f3a@1.0.0"]\n')
    err = build_error(cli, js)
    assert "dependencies cannot be bundled" in err, err


def test_native_python_dependency_is_refused(cli, tmp_path):
    # numpy ships only platform wheels: nothing a component can load.
    skill = write_skill(tmp_path, "py-native-dep", "python",
                        {"main.py": "def run(i):\n  return i\n"},
                        'dependencies = ["numpy==2.5.5"]\n')
    err = build_error(cli, skill)
    assert "dependencies cannot be bundled" in err and "pure-Python" in err, err


def test_unpinned_dependency_and_bad_manifest_are_refused_when_parsed(cli, tmp_path):
    cases = {
        'dependencies = ["requests"]\n': "wasm.dependencies[0]: 'requests' is not a pinned",
        'dependencies = ["requests>=2"]\n': "write name==version",
    }
    for i, (extra, message) in enumerate(cases.items()):
        skill = write_skill(tmp_path, f"py-bad-{i}", "python", {"main.py": "def run(i): pass\n"},
                            extra)
        done = cli("validate", str(skill))
        assert done.returncode != 0 and message in done.stdout + done.stderr, done
    skill = write_skill(tmp_path, "py-bad-ext", "python", {"main.rb": "x"})
    done = cli("validate", str(skill))
    assert "is not a Python module (expected a .py file)" in done.stdout + done.stderr, done


def test_unbuilt_skill_is_refused_with_the_build_command(cli, tmp_path):
    skill = write_skill(tmp_path, "py-unbuilt", "python",
                        {"main.py": "def run(input):\n    return {'n': 1}\n"})
    done = cli("run", str(skill), "--input", "{}")
    assert done.returncode != 0
    assert "has not been built for its current source; run `skillrt build py-unbuilt`" in \
        done.stderr, done.stderr


def test_build_is_cached_by_source_and_a_change_needs_a_new_build(cli, tmp_path):
    skill = write_skill(tmp_path, "py-cache", "python",
                        {"main.py": "def run(input):\n    return {'v': 1}\n"})
    first = json.loads(cli("build", "--json", str(skill)).stdout)
    again = json.loads(cli("build", "--json", str(skill)).stdout)
    assert again["cached"] is True and again["component"] == first["component"]
    assert again["compiled"] == "disk cache"
    assert cli.run(skill, {})["output"] == {"v": 1}
    # A source never built before (unique to this run): refused until built.
    (skill / "main.py").write_text(f"# {uuid.uuid4()}\ndef run(input):\n    return {{'v': 2}}\n")
    refused = cli("run", str(skill), "--input", "{}")
    assert refused.returncode != 0
    assert "run `skillrt build py-cache`" in refused.stderr, refused.stderr
    # Back to the first source: its component is found by its hash, with nothing built.
    (skill / "main.py").write_text("def run(input):\n    return {'v': 1}\n")
    assert cli.run(skill, {})["output"] == {"v": 1}


def test_errors_inside_run_are_the_call_error(cli, tmp_path):
    py = write_skill(tmp_path, "py-raises", "python",
                     {"main.py": "def run(input):\n    raise ValueError('bad input: ' + input['x'])\n"})
    cli.build(py)
    outcome = cli.run(py, {"x": "nope"})
    assert outcome["status"] == "error"
    assert outcome["message"].startswith("ValueError: bad input: nope (main.py:2)"), outcome


def test_pure_dependencies_are_bundled(cli, tmp_path):
    py = write_skill(tmp_path, "py-dep", "python",
                     {"main.py": "import humanize\n\ndef run(input):\n"
                                 "    return {'size': humanize.naturalsize(input['n'])}\n"},
                     'dependencies = ["humanize==4.17.0"]\n')
    cli.build(py)
    assert cli.run(py, {"n": 3_000_000})["output"] == {"size": "3.0 MB"}
    js = write_skill(tmp_path, "js-dep", "javascript",
                     {"main.js": 'import Papa from "papaparse";\n'
                                 "export function run(input) {\n"
                                 "  return { rows: Papa.parse(input.csv, { header: true }).data };\n}\n"},
                     'dependencies = ["papaparse@5.7.1"]\n')
    cli.build(js)
    rows = cli.run(js, {"csv": "a,b\n1,2"})["output"]["rows"]
    assert rows == [{"a": "1", "b": "2"}]


def test_bundled_examples(cli, tmp_path):
    for skill in ("csv-summary-py", "text-stats-js"):
        cli.build(skill)
    summary = cli.run("csv-summary-py", {"group_by": "region", "sum": "amount", "top": 2})
    assert summary["status"] == "ok", summary
    assert summary["output"]["rows"] == 10
    assert summary["output"]["groups"] == [
        {"region": "east", "count": 2, "total": 294.75, "mean": 147.38, "min": 64.75, "max": 230.0},
        {"region": "north", "count": 3, "total": 264.5, "mean": 88.17, "min": 45.0, "max": 120.5}]
    stats = cli.run("text-stats-js", {"text": "One fish. Two fish. Red fish, blue fish.", "top": 1})
    assert stats["status"] == "ok", stats
    assert stats["output"]["words"] == 8 and stats["output"]["sentences"] == 3
    assert stats["output"]["top_words"] == [{"word": "fish", "count": 4}]
