"""Builds a Python, JavaScript or TypeScript skill into a component of the skillrt world.

Run by `skillrt build` (src/wasmlang/build.cc) with the toolchain's Python; not a user tool.
Progress goes to stderr, one line per step; a failure writes one clear message to
--error-file and exits 1.

Python: the skill's .py files and its dependencies (pure-Python wheels from PyPI, installed
with pip for any platform) are staged with skillrt_entry.py and skillrt_http.py, then
componentize-py builds the component (importing the skill's module, so a syntax error or a
missing run fails here).
JavaScript: the dependencies are installed with npm (no install scripts) and refused when
they hold native addons; esbuild bundles the entry, the skill and its dependencies into one
ES module (resolved as for a browser: a package's "browser" field wins, and Node's built-in
modules are not there); componentize-js builds the component for a world that adds WASI's
preopened directories to the skillrt world (skillrt.js reads files through them).
TypeScript: as JavaScript, with the skill's .ts and .mts files staged too; esbuild strips
their types when it bundles (it does not check them: run `tsc --noEmit` for that), so a
syntax error fails the build with its line and column, a type error does not.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

START = time.monotonic()


class BuildError(Exception):
    pass


def progress(message):
    print(f"build: [{time.monotonic() - START:5.1f}s] {message}", file=sys.stderr, flush=True)


def run(argv, what, cwd=None, env=None):
    """Runs a tool, capturing its output; raises BuildError with its last lines on failure."""
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace")
    if done.returncode != 0:
        raise BuildError(f"{what} failed:\n{tail(done.stdout)}")
    return done.stdout


def tail(text, lines=12):
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def copy_sources(skill_dir, stage, extensions):
    """Copies the skill's files with these extensions (hidden and dependency folders skipped)."""
    count = 0
    for root, dirs, files in os.walk(skill_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in
                   ("node_modules", "__pycache__")]
        for name in files:
            if os.path.splitext(name)[1] not in extensions:
                continue
            src = os.path.join(root, name)
            if os.path.islink(src):
                continue
            dst = os.path.join(stage, os.path.relpath(src, skill_dir))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            count += 1
    return count


def native_files(directory, suffixes):
    found = []
    for root, _, files in os.walk(directory):
        for name in files:
            if name.endswith(suffixes):
                found.append(os.path.relpath(os.path.join(root, name), directory))
    return sorted(found)


def build_python(args, stage):
    tools = args.tools
    source = args.source
    module = source[:-3].replace("/", ".")
    count = copy_sources(args.skill_dir, stage, {".py"})
    progress(f"staged {count} Python file(s) of {args.skill_dir}")
    paths = ["-p", stage]
    if args.dep:
        deps = os.path.join(stage, ".deps")
        progress(f"bundling {len(args.dep)} dependency(ies) from PyPI: {', '.join(args.dep)}")
        pip = [os.path.join(tools, "py", "bin", "python"), "-m", "pip", "install", "--quiet",
               "--disable-pip-version-check", "--no-input", "--no-compile", "--target", deps,
               "--only-binary=:all:", "--platform", "any", "--implementation", "py",
               "--abi", "none", "--python-version", args.python_version]
        done = subprocess.run(pip + args.dep, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace")
        if done.returncode != 0:
            raise BuildError("dependencies cannot be bundled: pip found no pure-Python wheel "
                             "(py3-none-any) for them on PyPI, or they do not exist; a "
                             "component can hold only pure-Python packages:\n" +
                             tail(done.stdout, 6))
        native = native_files(deps, (".so", ".pyd", ".dylib"))
        if native:
            raise BuildError("dependencies cannot be bundled: they hold native code, which a "
                             "component cannot load: " + ", ".join(native[:5]))
        paths += ["-p", deps]
    with open(os.path.join(args.guest, "python", "skillrt_entry.py")) as f:
        entry = f.read().replace("SKILL_MODULE", module).replace("SKILL_FILE", source)
    with open(os.path.join(stage, "skillrt_entry.py"), "w") as f:
        f.write(entry)
    shutil.copyfile(os.path.join(args.guest, "python", "skillrt_http.py"),
                    os.path.join(stage, "skillrt_http.py"))
    progress("componentize-py: importing the skill and snapshotting the interpreter")
    cpy = os.path.join(tools, "py", "bin", "componentize-py")
    done = subprocess.run([cpy, "-d", args.wit, "-w", "skill", "componentize", *paths,
                           "skillrt_entry", "-o", args.out],
                          cwd=stage, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    if done.returncode != 0:
        raise BuildError(python_failure(done.stdout, source))


def python_failure(output, source):
    """The useful part of componentize-py's output when importing the skill failed."""
    lines = [line for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "skillrt build:" in line:
            return line[line.index("skillrt build:") + len("skillrt build:"):].strip()
    # A traceback: keep from its start to the exception.
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    if not starts:
        return "componentize-py failed:\n" + "\n".join(lines[:8])
    body = lines[starts[-1]:]
    # componentize-py's own backtrace follows the exception: cut at its first frame.
    for i, line in enumerate(body):
        if re.match(r"\s*\d+: ", line) or line.startswith("Stack backtrace"):
            body = body[:i]
            break
    # Frames of the staged files ("/0/<file>" inside the component) from the skill's own
    # first one; the entry's and the import machinery's are skillrt's, not the user's.
    own = [i for i, line in enumerate(body)
           if line.lstrip().startswith('File "/0/') and "skillrt_entry.py" not in line]
    if own:
        body = body[own[0]:]
    body = [line.replace('File "/0/', 'File "') for line in body]
    if "Caused by:" in body:
        body = body[:body.index("Caused by:")]
    kinds = ("SyntaxError", "IndentationError", "TabError")
    if any(line.lstrip().startswith(kinds) for line in body):
        return f"{source}: syntax error:\n" + "\n".join(body)[-1500:]
    return f"importing {source} failed:\n" + "\n".join(body[-12:])


def npm_install(args, stage):
    tools = args.tools
    node = os.path.join(tools, "node")
    npm_cli = os.path.join(tools, "js", "node_modules", "npm", "bin", "npm-cli.js")
    npm = [node, npm_cli] if os.path.exists(npm_cli) else ["npm"]
    with open(os.path.join(stage, "package.json"), "w") as f:
        json.dump({"name": "skill", "private": True, "type": "module"}, f)
    progress(f"bundling {len(args.dep)} dependency(ies) from npm: {', '.join(args.dep)}")
    done = subprocess.run(npm + ["install", "--ignore-scripts", "--no-audit", "--no-fund",
                                 "--omit=dev", "--loglevel=error", *args.dep],
                          cwd=stage, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    if done.returncode != 0:
        raise BuildError("dependencies cannot be bundled: npm could not install them (an "
                         "unknown package or version?):\n" + tail(done.stdout, 6))
    modules = os.path.join(stage, "node_modules")
    native = native_files(modules, (".node",))
    native += [p for p in native_files(modules, ("binding.gyp",))]
    if native:
        raise BuildError("dependencies cannot be bundled: they hold native addons, which a "
                         "component cannot load: " + ", ".join(native[:5]))


# The WASI version of the file interfaces JavaScript skills import: the one whose WIT the
# pinned jco ships (componentize-js's own WASI imports are of the same version).
WASI_VERSION = "0.2.12"


def js_world(args, stage):
    """A world for JavaScript: the skillrt world and WASI's preopened directories (skillrt.js
    builds its file functions on them). The WASI interfaces' WIT is taken from the pinned jco
    of the toolchain, not kept here."""
    wit = os.path.join(stage, ".wit")
    builtin = os.path.join(args.tools, "js", "node_modules", "@bytecodealliance", "jco", "lib",
                           "wit", "builtin", WASI_VERSION)
    os.makedirs(os.path.join(wit, "deps", "skillrt"))
    shutil.copyfile(os.path.join(args.wit, "skillrt.wit"),
                    os.path.join(wit, "deps", "skillrt", "skillrt.wit"))
    for package in ("wasi-filesystem", "wasi-io", "wasi-clocks"):
        shutil.copytree(os.path.join(builtin, package), os.path.join(wit, "deps", package))
    with open(os.path.join(wit, "world.wit"), "w") as f:
        f.write("package skillrt:js@0.1.0;\n\n"
                "world skill-js {\n"
                "  include skillrt:skill/skill@0.1.0;\n"
                f"  import wasi:filesystem/preopens@{WASI_VERSION};\n"
                "}\n")
    return wit


def build_javascript(args, stage):
    tools = args.tools
    node = os.path.join(tools, "node")
    source = args.source
    extensions = {".js", ".mjs", ".json"}
    if args.language == "typescript":
        extensions |= {".ts", ".mts"}
    count = copy_sources(args.skill_dir, stage, extensions)
    progress(f"staged {count} {'TypeScript and ' if args.language == 'typescript' else ''}"
             f"JavaScript file(s) of {args.skill_dir}")
    if args.dep:
        npm_install(args, stage)
    esbuild = os.path.join(tools, "js", "node_modules", "esbuild", "bin", "esbuild")
    # The skill's module alone first: syntax errors with their line, and its exports.
    meta = os.path.join(stage, ".meta.json")
    done = subprocess.run([esbuild, source, "--bundle", "--format=esm", "--platform=browser",
                           "--external:skillrt:*", "--external:skillrt", "--log-level=error",
                           f"--metafile={meta}", "--outfile=.check.js"],
                          cwd=stage, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    if done.returncode != 0:
        message = done.stdout.strip()
        if "Could not resolve" in message:
            raise BuildError(f"{source}: an import cannot be resolved (declare npm packages in "
                             f"[wasm] dependencies):\n{message[-1500:]}")
        raise BuildError(f"{source}: syntax error:\n{message[-1500:]}")
    with open(meta) as f:
        exports = [e for out in json.load(f)["outputs"].values() for e in out.get("exports", [])]
    if "run" not in exports:
        raise BuildError(f"{source} does not export a function run(input) "
                         f"(it exports: {', '.join(exports) or 'nothing'})")
    with open(os.path.join(args.guest, "js", "skillrt_entry.js")) as f:
        entry = f.read().replace("SKILL_MODULE", "./" + source).replace("SKILL_FILE", source)
    with open(os.path.join(stage, ".skillrt_entry.js"), "w") as f:
        f.write(entry)
    shutil.copyfile(os.path.join(args.guest, "js", "skillrt.js"),
                    os.path.join(stage, ".skillrt.js"))
    progress("esbuild: bundling the skill, its dependencies and skillrt's fetch")
    run([esbuild, ".skillrt_entry.js", "--bundle", "--format=esm", "--platform=browser",
         "--external:skillrt:*", "--external:wasi:*", "--alias:skillrt=./.skillrt.js",
         "--log-level=error", "--outfile=.bundle.js"], "esbuild", cwd=stage)
    progress("componentize-js: evaluating the bundle in SpiderMonkey and snapshotting it")
    cli = os.path.join(tools, "js", "node_modules", "@bytecodealliance", "componentize-js",
                       "src", "cli.js")
    wit = js_world(args, stage)
    done = subprocess.run([node, cli, ".bundle.js", "-w", wit, "-n", "skill-js",
                           "-d", "http", "fetch-event", "-o", args.out],
                          cwd=stage, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    if done.returncode != 0:
        raise BuildError("componentize-js failed:\n" + tail(done.stdout))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--language", required=True, choices=["python", "javascript", "typescript"])
    parser.add_argument("--skill-dir", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dep", action="append", default=[])
    parser.add_argument("--out", required=True)
    parser.add_argument("--tools", required=True)
    parser.add_argument("--guest", required=True)
    parser.add_argument("--wit", required=True)
    parser.add_argument("--python-version", default="3.14")
    parser.add_argument("--error-file", required=True)
    args = parser.parse_args()
    for name in ("skill_dir", "out", "tools", "guest", "wit", "error_file"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    if not os.path.isfile(os.path.join(args.skill_dir, args.source)):
        message = f"{args.source}: no such file in {args.skill_dir}"
        with open(args.error_file, "w") as f:
            f.write(message)
        return 1
    stage = tempfile.mkdtemp(prefix="skillrt-build-")
    try:
        if args.language == "python":
            build_python(args, stage)
        else:
            build_javascript(args, stage)
    except BuildError as e:
        with open(args.error_file, "w") as f:
            f.write(str(e))
        return 1
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    progress(f"component built ({os.path.getsize(args.out) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
