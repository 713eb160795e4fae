"""Unit tests of the data analyzer. Run:
python3 -m unittest discover -s examples/skills/data-analyzer/tests
"""

import json
import os
import statistics
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SKILL_DIR, "scripts"))

import analyze  # noqa: E402


class AnalyzeTest(unittest.TestCase):
    def test_numeric_column(self):
        result = analyze.analyze("x\n1\n2\n3\n4\n10\n")
        x = result["columns"]["x"]
        self.assertEqual(result["rows"], 5)
        self.assertEqual((x["type"], x["count"], x["missing"]), ("numeric", 5, 0))
        self.assertEqual((x["sum"], x["min"], x["max"], x["median"]), (20, 1, 10, 3))
        self.assertAlmostEqual(x["mean"], 4.0)
        self.assertAlmostEqual(x["stdev"], round(statistics.stdev([1, 2, 3, 4, 10]), 6))
        self.assertEqual((x["q1"], x["q3"]), (2.0, 4.0))

    def test_text_column_and_missing_values(self):
        result = analyze.analyze("city,temp\nOslo,3\nRome,\nOslo,5\nLima,19\n")
        city = result["columns"]["city"]
        self.assertEqual(city["type"], "text")
        self.assertEqual(city["distinct"], 3)
        self.assertEqual(city["top"][0], {"value": "Oslo", "count": 2})
        temp = result["columns"]["temp"]
        self.assertEqual((temp["type"], temp["count"], temp["missing"]), ("numeric", 3, 1))

    def test_single_value_has_no_stdev(self):
        x = analyze.analyze("x\n7\n")["columns"]["x"]
        self.assertIsNone(x["stdev"])
        self.assertEqual((x["q1"], x["q3"]), (7, 7))

    def test_mixed_column_is_text(self):
        self.assertEqual(analyze.analyze("v\n1\nn/a\n")["columns"]["v"]["type"], "text")

    def test_delimiter_sniffing_and_quotes(self):
        result = analyze.analyze('a;b\n"1,5";2\n"x;y";3\n')
        self.assertEqual(result["delimiter"], ";")
        self.assertEqual(result["columns"]["b"]["sum"], 5)

    def test_column_selection(self):
        result = analyze.analyze("a,b,c\n1,2,3\n", columns=["c"])
        self.assertEqual(list(result["columns"]), ["c"])

    def test_errors_name_the_line(self):
        with self.assertRaisesRegex(analyze.InputError, "line 3"):
            analyze.analyze("a,b\n1,2\n3\n")
        with self.assertRaisesRegex(analyze.InputError, "unknown column"):
            analyze.analyze("a\n1\n", columns=["z"])
        with self.assertRaisesRegex(analyze.InputError, "duplicate"):
            analyze.analyze("a,a\n1,2\n")
        with self.assertRaisesRegex(analyze.InputError, "empty"):
            analyze.analyze("  \n")

    def test_request_validation(self):
        for request in ({}, {"csv": "a\n1", "path": "x"}, {"csv": 5}, {"path": ""},
                        {"csv": "a\n1", "columns": "a"}, {"csv": "a\n1", "delimiter": ";;"},
                        {"csv": "a\n1", "top_n": 0}, {"path": "/nonexistent/file.csv"}):
            with self.assertRaises(analyze.InputError, msg=repr(request)):
                analyze.load_request(request)

    def test_bundled_sample(self):
        path = os.path.join(SKILL_DIR, "data", "sample.csv")
        result = analyze.analyze(*analyze.load_request({"path": path}))
        self.assertEqual(result["rows"], 30)
        self.assertEqual(result["columns"]["units"]["missing"], 1)
        self.assertEqual(result["columns"]["region"]["distinct"], 4)
        self.assertEqual(result["columns"]["unit_price"]["type"], "numeric")
        self.assertEqual(result["columns"]["date"]["type"], "text")


class CommandLineTest(unittest.TestCase):
    def test_round_trip_from_skill_dir(self):
        proc = subprocess.run(
            [sys.executable, "scripts/analyze.py"], cwd=SKILL_DIR, capture_output=True,
            text=True, timeout=30,
            input=json.dumps({"path": "data/sample.csv", "columns": ["units"]}))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["columns"]["units"]["count"], 29)

    def test_error_exit(self):
        proc = subprocess.run([sys.executable, os.path.join(SKILL_DIR, "scripts", "analyze.py")],
                              input="{}", capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("error", json.loads(proc.stdout))


if __name__ == "__main__":
    unittest.main()
