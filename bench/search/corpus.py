#!/usr/bin/env python3
"""Turns the labelled sets in bench/data/ into skill folders: <out>/<name>/SKILL.md with the
skill's name and description in the frontmatter and its body below. All sets' skills go
into one catalogue (a name in two sets is written once), optionally with the public
distractors of bench/data/public-skills.jsonl (real skills' names and descriptions).

Usage: corpus.py OUT_DIR [--distractors N] [SET ...]   (default: every set, no distractors)
"""
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def load_sets(data_dir=DATA):
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(data_dir).glob("*.json"))}


def load_distractors(limit=None, data_dir=DATA):
    """The first `limit` (all when None) public skills, as {"name", "description"} dicts."""
    out = []
    with open(Path(data_dir) / "public-skills.jsonl", encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(out) >= limit:
                break
            out.append(json.loads(line))
    return out


def write_skill(root, skill):
    d = Path(root) / skill["name"]
    d.mkdir(parents=True, exist_ok=True)
    # JSON strings are YAML scalars, so any description survives quoting.
    (d / "SKILL.md").write_text(
        "---\n"
        f"name: {skill['name']}\n"
        f"description: {json.dumps(skill['description'], ensure_ascii=False)}\n"
        "---\n\n" + (skill.get("body") or "") + "\n")


def write_catalogue(out, sets, distractors=()):
    seen = set()
    for skill in [s for data in sets.values() for s in data["skills"]] + list(distractors):
        if skill["name"] not in seen:
            seen.add(skill["name"])
            write_skill(out, skill)
    return seen


if __name__ == "__main__":
    args = sys.argv[2:]
    distractors = []
    if args[:1] == ["--distractors"]:
        distractors = load_distractors(int(args[1]))
        args = args[2:]
    sets = load_sets()
    wanted = args or list(sets)
    unknown = [w for w in wanted if w not in sets]
    if unknown:
        sys.exit(f"corpus.py: no set {', '.join(unknown)} in {DATA} (have: {', '.join(sets)})")
    names = write_catalogue(sys.argv[1], {w: sets[w] for w in wanted}, distractors)
    print(f"{len(names)} skills in {sys.argv[1]}", file=sys.stderr)
