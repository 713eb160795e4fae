#!/usr/bin/env python3
"""Text statistics and transformations.

Reads {"text": "...", "operations": [...], "top_n": 10} as JSON on stdin and prints one JSON
object with one key per requested operation. Unknown operations or bad input print
{"error": "..."} on stdout, the message on stderr, and exit 1.
"""

import collections
import json
import re
import sys

MAX_TEXT_CHARS = 1_000_000
DEFAULT_TOP_N = 10

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)
# A sentence ends at . ! or ? (possibly repeated, possibly followed by closing quotes or
# brackets) followed by whitespace or the end of the text.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")


def words(text):
    return _WORD.findall(text)


def sentences(text):
    found = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        found.append(text[start:match.end()])
        start = match.end()
    found.append(text[start:])  # Trailing text without a final full stop.
    return [" ".join(s.split()) for s in found if s.strip()]


def top_words(text, n):
    counts = collections.Counter(w.lower() for w in words(text))
    # Most frequent first; ties in alphabetical order so the output is deterministic.
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"word": w, "count": c} for w, c in ranked[:n]]


def average_word_length(text):
    found = words(text)
    return round(sum(map(len, found)) / len(found), 2) if found else 0


def line_count(text):
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


OPERATIONS = {
    "word_count": lambda text, n: len(words(text)),
    "char_count": lambda text, n: len(text),
    "char_count_no_spaces": lambda text, n: sum(1 for c in text if not c.isspace()),
    "line_count": lambda text, n: line_count(text),
    "sentence_count": lambda text, n: len(sentences(text)),
    "paragraph_count": lambda text, n: len([p for p in re.split(r"\n\s*\n", text) if p.strip()]),
    "unique_words": lambda text, n: len({w.lower() for w in words(text)}),
    "average_word_length": lambda text, n: average_word_length(text),
    "uppercase": lambda text, n: text.upper(),
    "lowercase": lambda text, n: text.lower(),
    "title_case": lambda text, n: text.title(),
    "reverse": lambda text, n: text[::-1],
    "reverse_words": lambda text, n: " ".join(reversed(text.split())),
    "top_words": top_words,
    "sentences": lambda text, n: sentences(text),
    "normalize_whitespace": lambda text, n: " ".join(text.split()),
}

DEFAULT_OPERATIONS = ["word_count", "char_count", "line_count", "sentence_count"]


class InputError(Exception):
    pass


def process(request):
    """Returns the result object for a parsed request; raises InputError."""
    if not isinstance(request, dict):
        raise InputError("input must be a JSON object")
    text = request.get("text")
    if not isinstance(text, str):
        raise InputError('"text" must be a string')
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f'"text" is longer than {MAX_TEXT_CHARS} characters')
    operations = request.get("operations", DEFAULT_OPERATIONS)
    if not isinstance(operations, list) or not all(isinstance(o, str) for o in operations):
        raise InputError('"operations" must be a list of strings')
    unknown = [o for o in operations if o not in OPERATIONS]
    if unknown:
        raise InputError(f"unknown operation(s): {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(OPERATIONS))}")
    top_n = request.get("top_n", DEFAULT_TOP_N)
    if not isinstance(top_n, int) or isinstance(top_n, bool) or not 1 <= top_n <= 1000:
        raise InputError('"top_n" must be an integer from 1 to 1000')
    return {op: OPERATIONS[op](text, top_n) for op in operations}


def main():
    try:
        request = json.load(sys.stdin)
        result = process(request)
    except json.JSONDecodeError as exc:
        return _fail(f"input is not valid JSON: {exc}")
    except InputError as exc:
        return _fail(str(exc))
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def _fail(message):
    print(json.dumps({"error": message}))
    print(f"text-processor: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
