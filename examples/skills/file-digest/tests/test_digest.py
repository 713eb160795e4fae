"""Tests of the bash file-digest script, driven from Python's unittest. Run:
python3 -m unittest discover -s examples/skills/file-digest/tests
"""

import hashlib
import json
import os
import subprocess
import tempfile
import unittest

SKILL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(SKILL_DIR, "scripts", "digest.sh")


def run(stdin, cwd=SKILL_DIR):
    return subprocess.run(["bash", SCRIPT], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=30)


class DigestTest(unittest.TestCase):
    def test_file(self):
        proc = run('{"path": "data/pangram.txt"}')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        with open(os.path.join(SKILL_DIR, "data", "pangram.txt"), "rb") as f:
            content = f.read()
        self.assertEqual(out, {"path": "data/pangram.txt", "type": "text",
                               "bytes": len(content), "lines": content.count(b"\n"),
                               "words": len(content.split()),
                               "sha256": hashlib.sha256(content).hexdigest()})

    def test_directory_and_escaping(self):
        with tempfile.TemporaryDirectory() as tmp:
            weird = os.path.join(tmp, "tab\there 'q'.bin")
            with open(weird, "wb") as f:
                f.write(b"a\0b")
            os.mkdir(os.path.join(tmp, "sub"))
            proc = run(json.dumps({"path": tmp}))
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out = json.loads(proc.stdout)  # Must be valid JSON despite the tab in the name.
            self.assertEqual(out["type"], "directory")
            self.assertEqual((out["count"], out["skipped"]), (1, 1))
            entry = out["files"][0]
            self.assertEqual(entry["path"], weird)
            self.assertEqual((entry["type"], entry["bytes"]), ("binary", 3))

    def test_empty_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = json.loads(run(json.dumps({"path": tmp})).stdout)
            self.assertEqual((out["files"], out["count"]), ([], 0))

    def test_errors(self):
        for stdin in ('{"path": "/no/such/file"}', '{"file": "x"}', '{"path": "a\\"b"}',
                      '{"path": "x", "extra": 1}', "not json", ""):
            proc = run(stdin)
            self.assertEqual(proc.returncode, 1, stdin)
            self.assertIn("error", json.loads(proc.stdout), stdin)


if __name__ == "__main__":
    unittest.main()
