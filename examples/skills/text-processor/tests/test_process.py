"""Unit tests of the text processor. Run:
python3 -m unittest discover -s examples/skills/text-processor/tests
"""

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SKILL_DIR, "scripts"))

import process  # noqa: E402

SAMPLE = "Hello world. Hello again!\nIs this the end? Yes.\n\nA new paragraph."


class ProcessTest(unittest.TestCase):
    def run_ops(self, text, *ops, **extra):
        return process.process({"text": text, "operations": list(ops), **extra})

    def test_counts(self):
        result = self.run_ops(SAMPLE, "word_count", "char_count", "line_count",
                              "sentence_count", "paragraph_count", "unique_words")
        self.assertEqual(result, {"word_count": 12, "char_count": len(SAMPLE), "line_count": 4,
                                  "sentence_count": 5, "paragraph_count": 2,
                                  "unique_words": 11})

    def test_line_count_edges(self):
        self.assertEqual(self.run_ops("", "line_count")["line_count"], 0)
        self.assertEqual(self.run_ops("one", "line_count")["line_count"], 1)
        self.assertEqual(self.run_ops("one\n", "line_count")["line_count"], 1)
        self.assertEqual(self.run_ops("one\ntwo", "line_count")["line_count"], 2)

    def test_words_keep_contractions_and_hyphens(self):
        result = self.run_ops("Don't over-think it; it's fine.", "word_count", "top_words")
        self.assertEqual(result["word_count"], 5)
        self.assertIn({"word": "don't", "count": 1}, result["top_words"])
        self.assertIn({"word": "over-think", "count": 1}, result["top_words"])

    def test_top_words_order_and_limit(self):
        result = self.run_ops("b a b c a b", "top_words", top_n=2)
        self.assertEqual(result["top_words"], [{"word": "b", "count": 3},
                                               {"word": "a", "count": 2}])

    def test_sentences(self):
        self.assertEqual(self.run_ops('He said "Stop." Then   left.', "sentences")["sentences"],
                         ['He said "Stop."', "Then left."])

    def test_transformations(self):
        result = self.run_ops("abc Def", "uppercase", "lowercase", "reverse", "reverse_words",
                              "title_case")
        self.assertEqual(result, {"uppercase": "ABC DEF", "lowercase": "abc def",
                                  "reverse": "feD cba", "reverse_words": "Def abc",
                                  "title_case": "Abc Def"})

    def test_unicode(self):
        result = self.run_ops("Grüße, Zoë! Ça va?", "word_count", "char_count")
        self.assertEqual(result, {"word_count": 4, "char_count": 18})

    def test_errors(self):
        for request in ({}, {"text": 1}, {"text": "x", "operations": "word_count"},
                        {"text": "x", "operations": ["nope"]}, {"text": "x", "top_n": 0}, []):
            with self.assertRaises(process.InputError, msg=repr(request)):
                process.process(request)

    def test_default_operations(self):
        self.assertEqual(sorted(process.process({"text": "a b"})),
                         sorted(process.DEFAULT_OPERATIONS))


class CommandLineTest(unittest.TestCase):
    def run_script(self, stdin):
        return subprocess.run([sys.executable, os.path.join(SKILL_DIR, "scripts", "process.py")],
                              input=stdin, capture_output=True, text=True, timeout=30)

    def test_round_trip(self):
        proc = self.run_script(json.dumps({"text": "one two", "operations": ["word_count"]}))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout), {"word_count": 2})

    def test_unknown_operation(self):
        proc = self.run_script(json.dumps({"text": "x", "operations": ["explode"]}))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("explode", json.loads(proc.stdout)["error"])


if __name__ == "__main__":
    unittest.main()
