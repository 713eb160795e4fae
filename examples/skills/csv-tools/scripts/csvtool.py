#!/usr/bin/env python3
"""csvtool: small command-line operations on CSV files.

    csvtool.py columns FILE                   column names and inferred types (JSON)
    csvtool.py head FILE [N]                  the header and the first N rows (CSV, N=5)
    csvtool.py stats FILE [COLUMN ...]        count/mean/median/min/max/stdev (JSON)
    csvtool.py filter FILE COLUMN OP VALUE    rows where COLUMN OP VALUE holds (CSV);
                                              OP: == != < <= > >= contains startswith
    csvtool.py sort FILE COLUMN [--desc]      rows sorted by COLUMN, numerically if numeric
    csvtool.py count FILE COLUMN              rows per distinct value of COLUMN (JSON)
    csvtool.py to-json FILE                   the rows as a JSON array of objects

Errors go to stderr with exit status 2 for usage errors and 1 for data errors.
"""

import csv
import json
import statistics
import sys

USAGE = __doc__.split("\n\n")[1]


class ToolError(Exception):
    pass


def read_table(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = list(reader)
    except OSError as exc:
        raise ToolError(f"{path}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ToolError(f"{path}: {exc}") from None
    if not rows:
        raise ToolError(f"{path}: empty file")
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ToolError(f"{path}: row {number} has {len(row)} fields, header {len(header)}")
    return header, body


def number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def column_index(header, name):
    if name not in header:
        raise ToolError(f"unknown column {name!r}; columns: {', '.join(header)}")
    return header.index(name)


def is_numeric(values):
    present = [v for v in values if v.strip()]
    return bool(present) and all(number(v) is not None for v in present)


def write_csv(header, rows):
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def cmd_columns(path):
    header, body = read_table(path)
    columns = [{"name": name, "type": "numeric" if is_numeric([r[i] for r in body]) else "text"}
               for i, name in enumerate(header)]
    print(json.dumps({"file": path, "rows": len(body), "columns": columns}, ensure_ascii=False))


def cmd_head(path, n="5"):
    if not n.isdigit():
        raise ToolError(f"N must be a non-negative integer, got {n!r}")
    header, body = read_table(path)
    write_csv(header, body[:int(n)])


def cmd_stats(path, *columns):
    header, body = read_table(path)
    names = list(columns) or [h for i, h in enumerate(header)
                              if is_numeric([r[i] for r in body])]
    result = {}
    for name in names:
        i = column_index(header, name)
        values = [number(r[i]) for r in body if r[i].strip()]
        if not values or any(v is None for v in values):
            raise ToolError(f"column {name!r} is not numeric")
        result[name] = {
            "count": len(values),
            "mean": round(statistics.fmean(values), 6),
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "stdev": round(statistics.stdev(values), 6) if len(values) > 1 else None,
        }
    print(json.dumps(result, ensure_ascii=False))


_OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def cmd_filter(path, column, op, value):
    header, body = read_table(path)
    i = column_index(header, column)
    if op == "contains":
        keep = [r for r in body if value.lower() in r[i].lower()]
    elif op == "startswith":
        keep = [r for r in body if r[i].lower().startswith(value.lower())]
    elif op in _OPS:
        target = number(value)
        numeric = target is not None and is_numeric([r[i] for r in body])
        if numeric:
            keep = [r for r in body if r[i].strip() and _OPS[op](number(r[i]), target)]
        else:
            keep = [r for r in body if _OPS[op](r[i], value)]
    else:
        raise ToolError(f"unknown operator {op!r}; use ==, !=, <, <=, >, >=, contains, "
                        "startswith")
    write_csv(header, keep)


def cmd_sort(path, column, *flags):
    if any(f != "--desc" for f in flags):
        raise ToolError(f"unknown flag(s) {list(flags)}; only --desc")
    header, body = read_table(path)
    i = column_index(header, column)
    if is_numeric([r[i] for r in body]):
        # Empty cells sort last in either direction.
        present = sorted((r for r in body if r[i].strip()), key=lambda r: number(r[i]),
                         reverse=bool(flags))
        body = present + [r for r in body if not r[i].strip()]
    else:
        body = sorted(body, key=lambda r: r[i].casefold(), reverse=bool(flags))
    write_csv(header, body)


def cmd_count(path, column):
    header, body = read_table(path)
    i = column_index(header, column)
    counts = {}
    for r in body:
        counts[r[i]] = counts.get(r[i], 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    print(json.dumps([{"value": v, "count": c} for v, c in ranked], ensure_ascii=False))


def cmd_to_json(path):
    header, body = read_table(path)
    print(json.dumps([dict(zip(header, r)) for r in body], ensure_ascii=False))


COMMANDS = {
    "columns": (cmd_columns, 1, 1),
    "head": (cmd_head, 1, 2),
    "stats": (cmd_stats, 1, None),
    "filter": (cmd_filter, 4, 4),
    "sort": (cmd_sort, 2, 3),
    "count": (cmd_count, 2, 2),
    "to-json": (cmd_to_json, 1, 1),
}


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help") or argv[1] not in COMMANDS:
        print("usage:\n" + USAGE, file=sys.stderr)
        return 0 if len(argv) >= 2 and argv[1] in ("-h", "--help") else 2
    fn, min_args, max_args = COMMANDS[argv[1]]
    args = argv[2:]
    if len(args) < min_args or (max_args is not None and len(args) > max_args):
        print(f"csvtool: wrong number of arguments for {argv[1]}\nusage:\n{USAGE}",
              file=sys.stderr)
        return 2
    try:
        fn(*args)
    except ToolError as exc:
        print(f"csvtool: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
