#!/usr/bin/env python3
"""Merges PDFs, optionally taking only some pages of each: merge.py OUT.pdf IN.pdf[:PAGES]..."""
import sys

from pypdf import PdfReader, PdfWriter


def parse_pages(spec, count):
    """Turns '1,3-4' into 0-based page indexes, checked against the document's page count."""
    pages = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        start, end = int(first), int(last or first)
        if not 1 <= start <= end <= count:
            raise ValueError(f"page range '{part}' is outside 1-{count}")
        pages.extend(range(start - 1, end))
    return pages


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: merge.py OUTPUT.pdf INPUT.pdf[:PAGES] ...")
    writer = PdfWriter()
    for arg in sys.argv[2:]:
        path, _, spec = arg.partition(":")
        reader = PdfReader(path)
        try:
            pages = parse_pages(spec, len(reader.pages)) if spec else range(len(reader.pages))
        except ValueError as e:
            sys.exit(f"{arg}: {e}")
        for index in pages:
            writer.add_page(reader.pages[index])
    with open(sys.argv[1], "wb") as f:
        writer.write(f)
    print(f"wrote {sys.argv[1]}: {len(writer.pages)} page(s)")


if __name__ == "__main__":
    main()
