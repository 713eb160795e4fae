# Reads one JSON object {"text": string, "top": integer} from stdin, writes "count word" lines
# to the file named by -v counts=..., and prints "total unique top" on stdout. On bad input
# prints {"error": "..."} and exits 1. Words are runs of ASCII letters, digits and inner
# apostrophes, lower-cased; \uXXXX escapes beyond ASCII count as separators.

function fail(message) {
  gsub(/["\\]/, "'", message)  # The message is quoted in JSON: no quotes or backslashes.
  printf "{\"error\": \"%s\"}\n", message
  failed = 1
  exit 1
}

function skip_ws() {
  while (pos <= len && index(" \t\r\n", substr(s, pos, 1)) > 0) pos++
}

function expect(c) {
  skip_ws()
  if (substr(s, pos, 1) != c) fail("expected '" c "' at offset " pos)
  pos++
}

function hexval(h,    i, v, d) {
  v = 0
  for (i = 1; i <= 4; i++) {
    d = index("0123456789abcdef", tolower(substr(h, i, 1)))
    if (d == 0) fail("bad \\u escape")
    v = v * 16 + d - 1
  }
  return v
}

# Decodes the JSON string starting at pos (the opening quote).
function parse_string(    out, c, e, start, code) {
  if (substr(s, pos, 1) != "\"") fail("expected a string at offset " pos)
  pos++
  out = ""
  while (pos <= len) {
    # Copy the run of plain characters at once.
    start = pos
    while (pos <= len) {
      c = substr(s, pos, 1)
      if (c == "\"" || c == "\\") break
      pos++
    }
    out = out substr(s, start, pos - start)
    if (pos > len) break
    if (c == "\"") { pos++; return out }
    e = substr(s, pos + 1, 1)
    pos += 2
    if (e == "n" || e == "t" || e == "r" || e == "b" || e == "f") out = out " "
    else if (e == "\"" || e == "\\" || e == "/") out = out e
    else if (e == "u") {
      code = hexval(substr(s, pos, 4))
      pos += 4
      out = out ((code >= 32 && code < 127) ? sprintf("%c", code) : " ")
    } else fail("bad escape \\" e)
  }
  fail("unterminated string")
}

{ s = s $0 "\n" }

END {
  if (failed) exit 1
  len = length(s)
  pos = 1
  top = 10
  have_text = 0
  expect("{")
  skip_ws()
  if (substr(s, pos, 1) == "}") fail("\"text\" is required")
  while (1) {
    skip_ws()
    key = parse_string()
    expect(":")
    skip_ws()
    if (key == "text") {
      text = parse_string()
      have_text = 1
    } else if (key == "top") {
      start = pos
      while (pos <= len && index("0123456789", substr(s, pos, 1)) > 0) pos++
      if (pos == start) fail("\"top\" must be an integer from 1 to 100")
      top = substr(s, start, pos - start) + 0
      if (top < 1 || top > 100) fail("\"top\" must be an integer from 1 to 100")
    } else {
      fail("unknown key '" key "'")
    }
    skip_ws()
    c = substr(s, pos, 1)
    pos++
    if (c == "}") break
    if (c != ",") fail("expected ',' or '}' at offset " (pos - 1))
  }
  if (!have_text) fail("\"text\" is required")

  text = tolower(text)
  gsub(/[^a-z0-9']+/, " ", text)
  n = split(text, words, " ")
  total = 0
  unique = 0
  for (i = 1; i <= n; i++) {
    w = words[i]
    sub(/^'+/, "", w)
    sub(/'+$/, "", w)
    if (w == "") continue
    total++
    if (!(w in count)) unique++
    count[w]++
  }
  printf "" > counts
  for (w in count) print count[w], w > counts
  close(counts)
  print total, unique, top
}
