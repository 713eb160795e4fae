#!/usr/bin/env python3
"""Retrieval quality of `skillrt search` on the labelled sets in bench/data/.

Every set's skills become skill folders (SKILL.md with name and description, the body
below); all sets' skills form one catalogue, so each set's queries also meet the other sets'
skills as distractors, and so do the real public skills of bench/data/public-skills.jsonl
(all of them unless --distractors N says how many; 0 for none). One index is built, then each
method answers every query through `skillrt search --queries FILE --json`; nDCG@10 (binary
relevance) and recall@10 are printed as a Markdown table, one row per set and method.

Usage: quality.py SKILLRT_CLI [--json OUT] [--data DIR] [--distractors N]
"""
import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import load_distractors, load_sets, write_catalogue

METHODS = [
    ("bm25", ["--method", "bm25"]),
    ("dense", ["--method", "dense"]),
    ("hybrid rrf", ["--method", "hybrid", "--fusion", "rrf", "--no-rerank"]),
    ("hybrid weighted 0.5", ["--method", "hybrid", "--no-rerank"]),
    ("hybrid weighted 0.7", ["--method", "hybrid", "--dense-weight", "0.7", "--no-rerank"]),
    ("hybrid weighted 0.3", ["--method", "hybrid", "--dense-weight", "0.3", "--no-rerank"]),
    ("hybrid weighted 0.5 + rerank 0.5", ["--method", "hybrid", "--rerank-weight", "0.5"]),
    ("hybrid weighted 0.5 + rerank 0.3 (default)", ["--method", "hybrid"]),
]
K = 10


def ndcg(ranked, relevant):
    dcg = sum(1 / math.log2(i + 2) for i, n in enumerate(ranked[:K]) if n in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), K)))
    return dcg / ideal


def recall(ranked, relevant):
    return len(set(ranked[:K]) & relevant) / len(relevant)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("--json", dest="json_out")
    ap.add_argument("--data", default=None)
    ap.add_argument("--distractors", type=int, default=None)
    args = ap.parse_args()
    sets = load_sets(args.data) if args.data else load_sets()
    distractors = load_distractors(args.distractors)
    with tempfile.TemporaryDirectory(prefix="skillrt-quality-") as tmp:
        tmp = Path(tmp)
        skills_dir, home = tmp / "skills", tmp / "home"
        seen = write_catalogue(skills_dir, sets, distractors)
        base = [args.cli, "--home", str(home), "--skills", str(skills_dir)]
        start = time.monotonic()
        subprocess.run(base + ["index", "--json"], check=True, stdout=subprocess.DEVNULL)
        index_seconds = time.monotonic() - start
        rows = []
        for set_name, data in sets.items():
            queries = [q for q in data["queries"] if q["query"].strip()]
            qfile = tmp / f"{set_name}.txt"
            qfile.write_text("".join(" ".join(q["query"].split()) + "\n" for q in queries))
            for method, flags in METHODS:
                out = subprocess.run(base + ["search", "--no-sync", "--queries", str(qfile),
                                             "--json", "--top", str(K)] + flags,
                                     check=True, capture_output=True, text=True).stdout
                answers = [json.loads(line) for line in out.splitlines()]
                assert len(answers) == len(queries), (set_name, method, len(answers))
                n = r = 0.0
                for q, a in zip(queries, answers):
                    ranked = [h["name"] for h in a["hits"]]
                    relevant = set(q["relevant"])
                    n += ndcg(ranked, relevant)
                    r += recall(ranked, relevant)
                rows.append({"set": set_name, "method": method, "queries": len(queries),
                             "ndcg10": n / len(queries), "recall10": r / len(queries)})
    labelled = {s["name"] for data in sets.values() for s in data["skills"]}
    print(f"catalogue: {len(seen)} skills ({len(labelled)} from {len(sets)} sets, "
          f"the rest public distractors); indexed in {index_seconds:.1f} s\n")
    print("| set | queries | method | nDCG@10 | recall@10 |")
    print("| --- | ---: | --- | ---: | ---: |")
    for row in rows:
        print(f"| {row['set']} | {row['queries']} | {row['method']} | {row['ndcg10']:.3f} | "
              f"{row['recall10']:.3f} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
