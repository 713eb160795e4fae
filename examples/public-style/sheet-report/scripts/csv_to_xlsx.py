#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["openpyxl>=3.1"]
# ///
"""Writes a workbook with a CSV's rows (sheet Data) and totals per group (sheet Summary)."""
import argparse
import csv
import sys

from openpyxl import Workbook
from openpyxl.styles import Font


def number(text):
    """The CSV field as an int or float when it is one, else the text unchanged."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv_file")
    parser.add_argument("--group-by", required=True, help="column whose values form the groups")
    parser.add_argument("--sum", action="append", default=[], help="numeric column to total")
    parser.add_argument("-o", "--output", default="report.xlsx")
    args = parser.parse_args()

    with open(args.csv_file, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        sys.exit(f"{args.csv_file}: empty file")
    header, body = rows[0], [[number(v) for v in r] for r in rows[1:] if r]
    for column in [args.group_by] + args.sum:
        if column not in header:
            sys.exit(f"{args.csv_file}: no column '{column}' (columns: {', '.join(header)})")
    key = header.index(args.group_by)
    sums = [header.index(c) for c in args.sum]

    book = Workbook()
    data = book.active
    data.title = "Data"
    data.append(header)
    for row in body:
        data.append(row)
    for cell in data[1]:
        cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    data.auto_filter.ref = data.dimensions

    groups = {}
    for row in body:
        totals = groups.setdefault(row[key], [0] + [0] * len(sums))
        totals[0] += 1
        for i, column in enumerate(sums, start=1):
            if not isinstance(row[column], (int, float)):
                sys.exit(f"{args.csv_file}: '{row[column]}' in column '{header[column]}' "
                         "is not a number")
            totals[i] += row[column]

    summary = book.create_sheet("Summary")
    summary.append([args.group_by, "rows"] + [f"total {c}" for c in args.sum])
    for name in sorted(groups, key=str):
        summary.append([name] + groups[name])
    grand = [sum(g[i] for g in groups.values()) for i in range(len(sums) + 1)]
    summary.append(["all"] + grand)
    for cell in summary[1] + summary[summary.max_row]:
        cell.font = Font(bold=True)

    book.save(args.output)
    print(f"wrote {args.output}: {len(body)} rows, {len(groups)} groups")


if __name__ == "__main__":
    main()
