#!/usr/bin/env python3
"""Writes a Markdown digest of the git repository in the current directory."""
import argparse
import subprocess
import sys


def sh(pipeline):
    """Runs a shell pipeline in the current directory; returns its output lines."""
    done = subprocess.run(pipeline, shell=True, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"digest: '{pipeline}' failed: {done.stderr.strip()}")
    return [line for line in done.stdout.splitlines() if line.strip()]


def counted(lines):
    """'  12 name' lines from `uniq -c` as (count, name) pairs."""
    pairs = []
    for line in lines:
        count, _, name = line.strip().partition(" ")
        pairs.append((int(count), name))
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--since", help="only commits on or after this date")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("-o", "--output", default="DIGEST.md")
    args = parser.parse_args()

    if sh("git rev-parse --is-inside-work-tree 2>/dev/null || echo no") != ["true"]:
        sys.exit("digest: the current directory is not inside a git work tree")
    since = f"--since={args.since}" if args.since else ""
    top = max(args.top, 1)

    branch = sh("git rev-parse --abbrev-ref HEAD")[0]
    commits = sh(f"git rev-list --count HEAD {since}")[0]
    recent = sh(f"git log {since} --format='%h %ad %s' --date=short | head -n {top}")
    authors = counted(sh(f"git log {since} --format=%an | sort | uniq -c | sort -k1,1nr -k2 "
                         f"| head -n {top}"))
    files = counted(sh(f"git log {since} --format= --name-only | grep -v '^$' | sort | uniq -c "
                       f"| sort -k1,1nr -k2 | head -n {top}"))
    pending = [line for line in sh("git status --porcelain")
               if line[3:] != args.output]

    out = [f"# Digest of branch {branch}", "",
           f"{commits} commit(s){' since ' + args.since if args.since else ''}.", "",
           "## Latest commits", ""]
    out += [f"- {line}" for line in recent]
    out += ["", "## Most active authors", ""]
    out += [f"- {name}: {count}" for count, name in authors]
    out += ["", "## Files changed most often", ""]
    out += [f"- {name}: {count}" for count, name in files]
    out += ["", "## Uncommitted", ""]
    out += [f"- `{line}`" for line in pending] or ["- nothing"]
    text = "\n".join(out) + "\n"

    if args.output != "-":
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
