#!/usr/bin/env python3
"""Descriptive statistics of CSV data, with the standard library's csv and statistics.

Reads a JSON request on stdin:
    {"csv": "<csv text>"}  or  {"path": "<file>"}      (exactly one of the two)
    "columns": ["a", "b"]   optional, the columns to analyze (default: all)
    "delimiter": ","        optional, one character (default: sniffed from , ; tab |)
    "top_n": 5              optional, how many top values text columns report
and prints {"rows": N, "columns": {name: summary, ...}} where a numeric column's summary has
count, missing, sum, mean, median, stdev, min, q1, q3, max and a text column's has count,
missing, distinct and top. Errors print {"error": "..."} on stdout and exit 1.
"""

import csv
import io
import json
import math
import os
import statistics
import sys

MAX_BYTES = 32 << 20
MAX_ROWS = 1_000_000
DEFAULT_TOP_N = 5


class InputError(Exception):
    pass


def parse_number(text):
    """Returns an int or float for numeric text, or None."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _round(value):
    if isinstance(value, float):
        return round(value, 6)
    return value


def summarize_numeric(values, missing):
    summary = {"type": "numeric", "count": len(values), "missing": missing}
    summary["sum"] = _round(math.fsum(values) if any(isinstance(v, float) for v in values)
                            else sum(values))
    summary["mean"] = _round(statistics.fmean(values))
    summary["median"] = _round(statistics.median(values))
    summary["stdev"] = _round(statistics.stdev(values)) if len(values) > 1 else None
    summary["min"] = min(values)
    if len(values) > 1:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    summary["q1"] = _round(q1)
    summary["q3"] = _round(q3)
    summary["max"] = max(values)
    return summary


def summarize_text(values, missing, top_n):
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {"type": "text", "count": len(values), "missing": missing, "distinct": len(counts),
            "top": [{"value": v, "count": c} for v, c in ranked[:top_n]]}


def analyze(text, columns=None, delimiter=None, top_n=DEFAULT_TOP_N):
    """Returns the summary object of CSV `text`; raises InputError."""
    if not text.strip():
        raise InputError("the CSV data is empty")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"CSV line 1: {exc}") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise InputError(f"CSV line 1: duplicate column names in {header}")
    wanted = columns if columns is not None else header
    missing_columns = [c for c in wanted if c not in header]
    if missing_columns:
        raise InputError(f"unknown column(s) {missing_columns}; the header has {header}")
    index = {name: header.index(name) for name in wanted}
    cells = {name: [] for name in wanted}
    rows = 0
    try:
        for row in reader:
            if not any(field.strip() for field in row):
                continue  # Blank lines are not records.
            rows += 1
            if rows > MAX_ROWS:
                raise InputError(f"more than {MAX_ROWS} rows")
            if len(row) != len(header):
                raise InputError(f"CSV line {reader.line_num}: {len(row)} fields, "
                                 f"the header has {len(header)}")
            for name, i in index.items():
                cells[name].append(row[i].strip())
    except csv.Error as exc:
        raise InputError(f"CSV line {reader.line_num}: {exc}") from None

    result = {"rows": rows, "delimiter": delimiter, "columns": {}}
    for name in wanted:
        present = [v for v in cells[name] if v != ""]
        missing = len(cells[name]) - len(present)
        numbers = [parse_number(v) for v in present]
        if present and all(n is not None for n in numbers):
            result["columns"][name] = summarize_numeric(numbers, missing)
        else:
            result["columns"][name] = summarize_text(present, missing, top_n)
    return result


def load_request(request):
    if not isinstance(request, dict):
        raise InputError("input must be a JSON object")
    if ("csv" in request) == ("path" in request):
        raise InputError('give exactly one of "csv" (the data) or "path" (a file)')
    if "csv" in request:
        text = request["csv"]
        if not isinstance(text, str):
            raise InputError('"csv" must be a string')
        if len(text.encode("utf-8")) > MAX_BYTES:
            raise InputError(f'"csv" is larger than {MAX_BYTES} bytes')
    else:
        path = request["path"]
        if not isinstance(path, str) or not path:
            raise InputError('"path" must be a non-empty string')
        try:
            if os.path.getsize(path) > MAX_BYTES:
                raise InputError(f"{path}: larger than {MAX_BYTES} bytes")
            with open(path, encoding="utf-8-sig", newline="") as f:
                text = f.read()
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text") from None
    columns = request.get("columns")
    if columns is not None and (not isinstance(columns, list) or
                                not all(isinstance(c, str) for c in columns)):
        raise InputError('"columns" must be a list of column names')
    delimiter = request.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise InputError('"delimiter" must be a single character')
    top_n = request.get("top_n", DEFAULT_TOP_N)
    if not isinstance(top_n, int) or isinstance(top_n, bool) or not 1 <= top_n <= 100:
        raise InputError('"top_n" must be an integer from 1 to 100')
    return text, columns, delimiter, top_n


def main():
    try:
        request = json.load(sys.stdin)
        result = analyze(*load_request(request))
    except json.JSONDecodeError as exc:
        return _fail(f"input is not valid JSON: {exc}")
    except InputError as exc:
        return _fail(str(exc))
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _fail(message):
    print(json.dumps({"error": message}))
    print(f"data-analyzer: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
