#!/usr/bin/env python3
# /// script
# dependencies = ["openpyxl>=3.1"]
# ///
"""Prints each sheet of a workbook as tab-separated values."""
import argparse
import sys

from openpyxl import load_workbook


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workbook")
    parser.add_argument("--sheet", help="only this sheet")
    args = parser.parse_args()
    book = load_workbook(args.workbook, read_only=True, data_only=True)
    names = [args.sheet] if args.sheet else book.sheetnames
    for name in names:
        if name not in book.sheetnames:
            sys.exit(f"{args.workbook}: no sheet '{name}' (sheets: {', '.join(book.sheetnames)})")
        print(f"# {name}")
        for row in book[name].iter_rows(values_only=True):
            print("\t".join("" if v is None else str(v) for v in row))


if __name__ == "__main__":
    main()
