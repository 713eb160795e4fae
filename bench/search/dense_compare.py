#!/usr/bin/env python3
"""Dense-only retrieval quality of two builds of libskillrt_search_ml.so, like for like.

Embeds the labelled sets' skills ("name: description", as the index does) and queries one at a
time through bench/search/embed_compare (built beside this file or named by $EMBED_COMPARE)
with each build, ranks the skills by cosine, and prints nDCG@10 and recall@10 per set: a
comparison of the two libraries' vectors with nothing else changed (no BM25, no fusion).

Usage: dense_compare.py NAME=LIB,MODEL_DIR,RUNTIME|- ...
"""
import math
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from corpus import load_sets
sets = load_sets()
skills = {}
for data in sets.values():
    for s in data["skills"]: skills.setdefault(s["name"], s["description"])
names = sorted(skills)
texts = [n.replace("-", " ") + ": " + skills[n] for n in names]
queries = []
for set_name, data in sets.items():
    for q in data["queries"]:
        if q["query"].strip(): queries.append((set_name, " ".join(q["query"].split()), set(q["relevant"])))
lines = [" ".join(t.split()) for t in texts] + [q[1] for q in queries]
tmp = Path(tempfile.mkdtemp(prefix="skillrt-dense-"))
(tmp / "texts.txt").write_text("\n".join(lines) + "\n")
tool = os.environ.get("EMBED_COMPARE", str(Path(__file__).with_name("embed_compare")))
libs = dict(arg.split("=", 1) for arg in sys.argv[1:])
if not libs:
    sys.exit(__doc__)
K = 10
for lib, spec in libs.items():
    out = tmp / f"{lib}.bin"
    subprocess.run([tool] + spec.split(",") + [str(tmp / "texts.txt"), str(len(lines)), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    b = open(out, "rb").read(); vec = [struct.unpack_from("384f", b, i * 1536) for i in range(len(lines))]
    sv, qv = vec[:len(names)], vec[len(names):]
    per = {}
    for (set_name, q, rel), v in zip(queries, qv):
        scores = sorted(((-sum(a * c for a, c in zip(v, s)), n) for n, s in zip(names, sv)))[:K]
        ranked = [n for _, n in scores]
        dcg = sum(1 / math.log2(i + 2) for i, n in enumerate(ranked) if n in rel)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(rel), K)))
        acc = per.setdefault(set_name, [0, 0.0, 0.0]); acc[0] += 1; acc[1] += dcg / ideal; acc[2] += len(set(ranked) & rel) / len(rel)
    for set_name, (n, nd, rc) in per.items():
        print(f"| {set_name} | {n} | dense, {lib} | {nd / n:.3f} | {rc / n:.3f} |")
