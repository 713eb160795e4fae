#!/usr/bin/env python3
"""Writes a PDF with one page per block of a text file (blocks are separated by '---')."""
import sys

from pypdf import PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

LINES_PER_PAGE = 50
# One of the standard 14 fonts every PDF reader has, so nothing is embedded.
HELVETICA = DictionaryObject({
    NameObject("/Type"): NameObject("/Font"),
    NameObject("/Subtype"): NameObject("/Type1"),
    NameObject("/BaseFont"): NameObject("/Helvetica"),
})


def escape(line):
    """Escapes a line for a PDF literal string; characters outside Latin-1 become '?'."""
    text = line.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def add_page(writer, lines):
    page = writer.add_blank_page(width=612, height=792)  # US Letter, in points.
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): HELVETICA})})
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"]
    for line in lines[:LINES_PER_PAGE]:
        ops.append(f"({escape(line)}) Tj T*")
    ops.append("ET")
    content = ContentStream(None, writer)
    content.set_data("\n".join(ops).encode("latin-1"))
    page.replace_contents(content)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: text_to_pdf.py INPUT.txt OUTPUT.pdf")
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip() == "---":
            blocks.append(current)
            current = []
        else:
            current.append(line)
    blocks.append(current)
    blocks = [b for b in blocks if any(line.strip() for line in b)] or [[""]]

    writer = PdfWriter()
    for block in blocks:
        add_page(writer, block)
    with open(sys.argv[2], "wb") as f:
        writer.write(f)
    print(f"wrote {sys.argv[2]}: {len(blocks)} page(s)")


if __name__ == "__main__":
    main()
