"""Summarises a CSV table: rows, columns, and per group the count, total, mean and range of a
numeric column. Runs inside a WebAssembly component: it sees /skill (its own directory,
read-only) and the directories its manifest declares, nothing else."""
import csv
import io
import statistics


def _number(text):
    try:
        return float(text.replace(",", "")) if text.strip() else None
    except ValueError:
        return None


def run(input):
    if "csv" in input:
        text = input["csv"]
        source = "input"
    else:
        source = input.get("path", "/skill/data/orders.csv")
        with open(source, newline="", encoding="utf-8") as f:
            text = f.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        return {"source": source, "rows": 0, "columns": [], "groups": []}
    columns = list(rows[0].keys())
    group_by = input.get("group_by", columns[0])
    value = input.get("sum")
    if value is None:
        value = next((c for c in columns if c != group_by and
                      all(_number(r[c]) is not None for r in rows)), None)
    for name in (group_by, value):
        if name is not None and name not in columns:
            raise ValueError(f"no column {name!r} (columns: {', '.join(columns)})")
    groups = {}
    for row in rows:
        groups.setdefault(row[group_by], []).append(_number(row[value]) if value else None)
    summary = []
    for key, values in groups.items():
        numbers = [v for v in values if v is not None]
        entry = {group_by: key, "count": len(values)}
        if numbers:
            entry.update(total=round(sum(numbers), 2), mean=round(statistics.fmean(numbers), 2),
                         min=min(numbers), max=max(numbers))
        summary.append(entry)
    summary.sort(key=lambda e: (-e.get("total", 0), str(e[group_by])))
    top = int(input.get("top", len(summary)))
    return {"source": source, "rows": len(rows), "columns": columns, "group_by": group_by,
            "value": value, "groups": summary[:top]}
