#!/usr/bin/env python3
"""Counts lines, words and characters of text files in a multiprocessing pool."""
import argparse
import collections
import csv
import multiprocessing
import os
import re
import sys

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
SUFFIXES = (".txt", ".md")


def find_files(paths):
    found = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
        elif os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [os.path.join(root, n) for n in names if n.endswith(SUFFIXES)]
        else:
            sys.exit(f"count: {path}: no such file or directory")
    return sorted(set(found))


def count_file(path):
    """Runs in a worker: (path, lines, words, chars, word counter)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    words = [w.lower() for w in WORD.findall(text)]
    return path, text.count("\n"), len(words), len(text), collections.Counter(words)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8))
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--out", default=".")
    args = parser.parse_args()

    files = find_files(args.paths)
    if not files:
        sys.exit("count: no .txt or .md files found")
    workers = max(args.workers, 1)
    with multiprocessing.Pool(processes=workers) as pool:
        results = pool.map(count_file, files, chunksize=1)

    total = collections.Counter()
    with open(os.path.join(args.out, "counts.csv"), "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["file", "lines", "words", "chars"])
        sums = [0, 0, 0]
        for path, lines, words, chars, counter in results:
            out.writerow([path, lines, words, chars])
            sums = [sums[0] + lines, sums[1] + words, sums[2] + chars]
            total.update(counter)
        out.writerow(["TOTAL"] + sums)
    ranked = sorted(total.items(), key=lambda item: (-item[1], item[0]))[: args.top]
    with open(os.path.join(args.out, "top-words.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{count} {word}\n" for word, count in ranked)
    print(f"counted {len(files)} file(s) with a pool of {workers} worker process(es): "
          f"{sums[0]} lines, {sums[1]} words")


if __name__ == "__main__":
    main()
