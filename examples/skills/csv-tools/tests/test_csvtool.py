"""Tests of csvtool. Run: python3 -m unittest discover -s examples/skills/csv-tools/tests"""

import csv
import io
import json
import os
import subprocess
import sys
import unittest

SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(*args):
    return subprocess.run([sys.executable, "-B", "scripts/csvtool.py", *args], cwd=SKILL_DIR,
                          capture_output=True, text=True, timeout=30)


def rows(proc):
    return list(csv.reader(io.StringIO(proc.stdout)))


class CsvToolTest(unittest.TestCase):
    def test_columns(self):
        out = json.loads(tool("columns", "data/cities.csv").stdout)
        self.assertEqual(out["rows"], 16)
        types = {c["name"]: c["type"] for c in out["columns"]}
        self.assertEqual(types["population"], "numeric")
        self.assertEqual(types["founded"], "numeric")  # negative years are numbers too
        self.assertEqual(types["city"], "text")

    def test_head(self):
        result = rows(tool("head", "data/cities.csv", "2"))
        self.assertEqual(len(result), 3)
        self.assertEqual(result[1][0], "Tokyo")

    def test_filter_numeric_and_text(self):
        big = rows(tool("filter", "data/cities.csv", "population", ">", "15000000"))
        self.assertEqual(sorted(r[0] for r in big[1:]), ["Delhi", "Istanbul", "Lagos",
                                                         "Shanghai"])
        europe = rows(tool("filter", "data/cities.csv", "continent", "==", "Europe"))
        self.assertEqual(len(europe) - 1, 3)
        self.assertEqual(len(rows(tool("filter", "data/cities.csv", "city", "contains",
                                       "city"))) - 1, 1)  # Mexico City, case-insensitive

    def test_sort_numeric(self):
        result = rows(tool("sort", "data/cities.csv", "founded"))
        self.assertEqual([r[0] for r in result[1:3]], ["Istanbul", "Paris"])
        result = rows(tool("sort", "data/cities.csv", "population", "--desc"))
        self.assertEqual(result[1][0], "Shanghai")

    def test_stats_and_count(self):
        stats = json.loads(tool("stats", "data/cities.csv", "area_km2").stdout)
        self.assertEqual(stats["area_km2"]["min"], 105)
        self.assertEqual(stats["area_km2"]["max"], 12368)
        counts = json.loads(tool("count", "data/cities.csv", "continent").stdout)
        self.assertEqual(counts[0], {"value": "Asia", "count": 4})
        self.assertEqual(sum(c["count"] for c in counts), 16)

    def test_to_json_keeps_unicode(self):
        records = json.loads(tool("to-json", "data/cities.csv").stdout)
        self.assertIn("São Paulo", [r["city"] for r in records])

    def test_errors(self):
        self.assertEqual(tool().returncode, 2)
        self.assertEqual(tool("explode", "x").returncode, 2)
        self.assertEqual(tool("head").returncode, 2)
        proc = tool("count", "data/cities.csv", "nope")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("unknown column 'nope'", proc.stderr)
        self.assertEqual(tool("stats", "data/cities.csv", "city").returncode, 1)
        self.assertEqual(tool("columns", "data/missing.csv").returncode, 1)
        self.assertEqual(tool("filter", "data/cities.csv", "city", "~", "x").returncode, 1)


if __name__ == "__main__":
    unittest.main()
