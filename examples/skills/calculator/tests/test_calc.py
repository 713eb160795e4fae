"""Unit tests of the calculator's tokenizer, parser and limits.

Run: python3 -m unittest discover -s examples/skills/calculator/tests
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True
SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SKILL_DIR, "scripts"))

import calc  # noqa: E402


class EvaluateTest(unittest.TestCase):
    def assertEvaluates(self, expression, expected):
        result = calc.evaluate(expression)
        self.assertEqual(result, expected, expression)
        self.assertIs(type(result), type(expected), expression)

    def assertRejected(self, expression, fragment):
        with self.assertRaises(calc.CalcError) as ctx:
            calc.evaluate(expression)
        self.assertIn(fragment, ctx.exception.message)
        return ctx.exception

    def test_integers_stay_integers(self):
        self.assertEvaluates("2*(3+4)", 14)
        self.assertEvaluates("6/3", 2)
        self.assertEvaluates("7/2", 3.5)
        self.assertEvaluates("1.5*2", 3.0)

    def test_precedence(self):
        self.assertEvaluates("1+2*3", 7)
        self.assertEvaluates("(1+2)*3", 9)
        self.assertEvaluates("10-4-3", 3)  # left-associative
        self.assertEvaluates("100/10/5", 2)
        self.assertEvaluates("2*3**2", 18)
        self.assertEvaluates("7//2*2", 6)
        self.assertEvaluates("1+7%4", 4)

    def test_power_is_right_associative(self):
        self.assertEvaluates("2**3**2", 512)
        self.assertEvaluates("(2**3)**2", 64)

    def test_unary_minus(self):
        self.assertEvaluates("-2**2", -4)
        self.assertEvaluates("(-2)**2", 4)
        self.assertEvaluates("2**-1", 0.5)
        self.assertEvaluates("--3", 3)
        self.assertEvaluates("-+-3", 3)
        self.assertEvaluates("4*-2", -8)

    def test_floor_division_and_modulo_follow_floor_semantics(self):
        self.assertEvaluates("-7//2", -4)
        self.assertEvaluates("-7%3", 2)
        self.assertEvaluates("7.5%2", 1.5)

    def test_numbers(self):
        self.assertEvaluates(".5+.25", 0.75)
        self.assertEvaluates("1e3", 1000.0)
        self.assertEvaluates("2.5E-1", 0.25)
        self.assertEvaluates("  12  ", 12)

    def test_functions_and_constants(self):
        self.assertEvaluates("sqrt(16)", 4)
        self.assertAlmostEqual(calc.evaluate("sqrt(2)**2"), 2.0)
        self.assertEvaluates("abs(-3)", 3)
        self.assertEvaluates("min(4, 2, 8)", 2)
        self.assertEvaluates("max(4, 2, 8) + 1", 9)
        self.assertEvaluates("round(2.5)", 2)  # banker's rounding, as Python's round
        self.assertEvaluates("round(3.14159, 2)", 3.14)
        self.assertEvaluates("floor(-1.5)", -2)
        self.assertEvaluates("ceil(1.2)", 2)
        self.assertAlmostEqual(calc.evaluate("log(e)"), 1.0)
        self.assertAlmostEqual(calc.evaluate("log(8, 2)"), 3.0)
        self.assertAlmostEqual(calc.evaluate("2*pi"), calc.evaluate("tau"))

    def test_syntax_errors_carry_positions(self):
        self.assertEqual(self.assertRejected("2+", "end of expression").position, 2)
        self.assertEqual(self.assertRejected("2 3", "unexpected").position, 2)
        self.assertRejected("(1+2", "expected ')'")
        self.assertRejected("1+2)", "unexpected ')'")
        self.assertRejected("2 $ 3", "unexpected character")
        self.assertRejected("", "empty")
        self.assertRejected("*3", "unexpected '*'")
        self.assertRejected("sqrt", "needs arguments")
        self.assertRejected("sqrt(1, 2)", "takes 1 argument")
        self.assertRejected("min()", "takes 1 to 64")

    def test_no_code_execution(self):
        self.assertRejected("__import__('os')", "unexpected character")
        self.assertRejected("open(1)", "unknown function 'open'")
        self.assertRejected("x", "unknown name 'x'")
        self.assertRejected("(1).real", "unexpected character")  # '.' followed by a letter
        self.assertRejected("[1]", "unexpected character")

    def test_math_errors(self):
        self.assertRejected("1/0", "division by zero")
        self.assertRejected("1//0", "division by zero")
        self.assertRejected("1%0", "modulo by zero")
        self.assertRejected("0**-1", "negative power")
        self.assertRejected("sqrt(-1)", "negative")
        self.assertRejected("(-8)**(1/3)", "fractional power")
        self.assertRejected("log(0)", "domain")
        self.assertRejected("1e308*10", "not a finite number")

    def test_bombs_are_rejected_quickly(self):
        bombs = {
            "9**9**9": "exponent exceeds",
            "10**10000": "exceeds 4000 bits",
            "2**4001": "exceeds 4000 bits",
            "(10**1000)*(10**1000)": "exceeds 4000 bits",
            "2.0**100000": "too large",
            "2**3999*2**3999": "exceeds 4000 bits",
            "(" * 200 + "1" + ")" * 200: "nests deeper",
            "-" * 500 + "1": "nests deeper",
            "1+" * 600 + "1": "longer than 1000",
        }
        for expression, fragment in bombs.items():
            start = time.monotonic()
            self.assertRejected(expression, fragment)
            self.assertLess(time.monotonic() - start, 0.5, expression[:40])

    def test_large_values_within_limits_are_exact(self):
        self.assertEvaluates("2**100", 1267650600228229401496703205376)
        self.assertEvaluates("(-1)**1000001", -1)
        self.assertEvaluates("1**1000000000", 1)

    def test_not_a_string(self):
        self.assertRejected(42, "must be a string")


class CommandLineTest(unittest.TestCase):
    def run_calc(self, stdin):
        return subprocess.run([sys.executable, os.path.join(SKILL_DIR, "scripts", "calc.py")],
                              input=stdin, capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})

    def test_json_in_json_out(self):
        proc = self.run_calc('{"expression": "2*(3+4)"}')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout), {"result": 14})

    def test_error_is_json_on_stdout_and_text_on_stderr(self):
        proc = self.run_calc('{"expression": "1/0"}')
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(json.loads(proc.stdout), {"error": "division by zero", "position": 1})
        self.assertIn("division by zero", proc.stderr)

    def test_bad_input(self):
        for stdin in ("not json", "[]", '{"expr": "1"}', '{"expression": 5}'):
            proc = self.run_calc(stdin)
            self.assertEqual(proc.returncode, 1, stdin)
            self.assertIn("error", json.loads(proc.stdout), stdin)


if __name__ == "__main__":
    unittest.main()
