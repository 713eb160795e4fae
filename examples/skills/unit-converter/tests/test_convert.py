"""Tests of the unit converter. Run:
python3 -m unittest discover -s examples/skills/unit-converter/tests
"""

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SKILL_DIR, "scripts"))

import convert  # noqa: E402


class ConvertTest(unittest.TestCase):
    def test_exact_factors(self):
        self.assertEqual(convert.convert(1, "mi", "km"), (1.609344, "length"))
        self.assertEqual(convert.convert(1, "in", "cm"), (2.54, "length"))
        self.assertEqual(convert.convert(1, "lb", "g"), (453.59237, "mass"))
        self.assertEqual(convert.convert(1, "GiB", "MiB"), (1024, "data"))
        self.assertEqual(convert.convert(1, "week", "h"), (168, "time"))
        self.assertEqual(convert.convert(36, "km/h", "m/s"), (10, "speed"))

    def test_round_trip(self):
        there, _ = convert.convert(10, "km", "mi")
        back, _ = convert.convert(there, "mi", "km")
        self.assertAlmostEqual(back, 10, places=9)

    def test_temperature(self):
        self.assertEqual(convert.convert(100, "C", "F")[0], 212)
        self.assertEqual(convert.convert(-40, "F", "C")[0], -40)
        self.assertEqual(convert.convert(0, "K", "C")[0], -273.15)
        with self.assertRaisesRegex(convert.ConversionError, "absolute zero"):
            convert.convert(-1, "K", "C")

    def test_aliases(self):
        self.assertEqual(convert.convert(3, "feet", "inches")[0], 36)
        self.assertEqual(convert.convert(212, "°F", "celsius")[0], 100)

    def test_errors(self):
        with self.assertRaisesRegex(convert.ConversionError, "cannot convert mass"):
            convert.convert(1, "kg", "m")
        with self.assertRaisesRegex(convert.ConversionError, "unknown unit 'parsec'"):
            convert.convert(1, "parsec", "m")
        for value in ("1", True, float("inf"), None):
            with self.assertRaises(convert.ConversionError):
                convert.convert(value, "m", "km")

    def test_command_line(self):
        proc = subprocess.run([sys.executable, "-B", os.path.join(SKILL_DIR, "scripts",
                                                                 "convert.py")],
                              input='{"value": 10, "from": "km", "to": "mi"}',
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual(out["category"], "length")
        self.assertAlmostEqual(out["result"], 6.21371192237)
        proc = subprocess.run([sys.executable, "-B", os.path.join(SKILL_DIR, "scripts",
                                                                 "convert.py")],
                              input='{"value": 1}', capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("error", json.loads(proc.stdout))


if __name__ == "__main__":
    unittest.main()
