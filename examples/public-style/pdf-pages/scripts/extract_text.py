#!/usr/bin/env python3
"""Prints (or writes) the text of every page of a PDF."""
import sys

from pypdf import PdfReader


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: extract_text.py INPUT.pdf [OUTPUT.txt]")
    reader = PdfReader(sys.argv[1])
    parts = []
    for number, page in enumerate(reader.pages, start=1):
        parts.append(f"=== page {number} ===")
        parts.append((page.extract_text() or "").rstrip())
    text = "\n".join(parts) + "\n"
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {sys.argv[2]}: {len(reader.pages)} page(s)")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
