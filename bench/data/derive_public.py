#!/usr/bin/env python3
"""Collects the metadata of real public skills into a distractor corpus for search.

Reads every SKILL.md in the given git mirrors (at their HEAD), parses its YAML frontmatter
(PyYAML 6.0.3) and keeps each skill's name and description, the level an agent's skill
listing sees, with the file it came from. Names are normalised to the Agent Skills name rule
(lowercase letters, digits and single hyphens, at most 64 characters); a name seen before is
left out, as is a skill without a usable description (under 20 characters). Bodies are not
kept. The result is written as JSON Lines, one skill per line:
{"name", "description", "source": "<owner>/<repo>@<commit>:<path>"}.

Usage: derive_public.py OUT.jsonl OWNER/REPO=GIT_DIR [...]
"""
import json
import re
import subprocess
import sys

import yaml


def git(git_dir, *args):
    return subprocess.run(["git", "-C", git_dir, *args], check=True, capture_output=True).stdout


def normalise_name(raw):
    name = re.sub(r"[^a-z0-9]+", "-", str(raw).strip().lower()).strip("-")
    return name[:64].rstrip("-")


def frontmatter(text):
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end < 0:
        return None
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def skills_of(repo, git_dir):
    commit = git(git_dir, "rev-parse", "HEAD").decode().strip()
    paths = [p for p in git(git_dir, "ls-tree", "-r", "-z", "--name-only", "HEAD").decode().split("\0")
             if p.endswith("SKILL.md")]
    for path in sorted(paths):
        try:
            text = git(git_dir, "show", f"HEAD:{path}").decode("utf-8")
        except (subprocess.CalledProcessError, UnicodeDecodeError):
            continue
        meta = frontmatter(text)
        if not meta:
            continue
        name, description = normalise_name(meta.get("name") or ""), meta.get("description")
        if not name or not isinstance(description, str):
            continue
        description = " ".join(description.split())
        if len(description) < 20:
            continue
        yield {"name": name, "description": description, "source": f"{repo}@{commit}:{path}"}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    seen, out = set(), []
    for spec in sys.argv[2:]:
        repo, _, git_dir = spec.partition("=")
        kept = 0
        for skill in skills_of(repo, git_dir):
            if skill["name"] in seen:
                continue
            seen.add(skill["name"])
            out.append(skill)
            kept += 1
        print(f"{repo}: {kept} skills", file=sys.stderr)
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for skill in out:
            f.write(json.dumps(skill, ensure_ascii=False) + "\n")
    print(f"{len(out)} skills in {sys.argv[1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
