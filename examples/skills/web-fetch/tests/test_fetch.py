"""Unit tests of web-fetch's description of an answer and its input checks.

Run: python3 -m unittest discover -s examples/skills/web-fetch/tests
"""

import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SKILL_DIR, "scripts"))

import fetch  # noqa: E402


class DescribeTest(unittest.TestCase):
    def test_text_body_is_quoted_and_hashed(self):
        body = b"hello\n"
        out = fetch.describe("http://h/", 200, "text/plain; charset=utf-8", body, False)
        self.assertTrue(out["ok"])
        self.assertEqual(out["bytes"], 6)
        self.assertEqual(out["sha256"], hashlib.sha256(body).hexdigest())
        self.assertEqual(out["text"], "hello\n")

    def test_binary_body_has_no_text(self):
        out = fetch.describe("http://h/", 200, "application/octet-stream", b"\xff\x00", True)
        self.assertNotIn("text", out)
        self.assertTrue(out["truncated"])

    def test_json_counts_as_text_and_errors_are_not_ok(self):
        self.assertTrue(fetch.is_text("application/problem+json"))
        self.assertFalse(fetch.describe("http://h/", 404, "text/html", b"", False)["ok"])


class InputTest(unittest.TestCase):
    def run_script(self, text):
        script = os.path.join(SKILL_DIR, "scripts", "fetch.py")
        return subprocess.run([sys.executable, script], input=text, capture_output=True,
                              text=True, timeout=30)

    def test_bad_inputs_exit_2(self):
        for text in ["not json", "[]", '{"url": 3}', '{"url": "ftp://h/"}',
                     '{"url": "http://h/", "max_bytes": 0}']:
            with self.subTest(text=text):
                done = self.run_script(text)
                self.assertEqual(done.returncode, 2, done.stdout)
                self.assertIn("error", json.loads(done.stdout))


if __name__ == "__main__":
    unittest.main()
