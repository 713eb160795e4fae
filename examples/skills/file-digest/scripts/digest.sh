#!/bin/bash
# file-digest: size, line/word counts and SHA-256 of a file, or of each file in a directory.
#
# Input (stdin): the JSON object {"path": "<file or directory>"}. Bash has no JSON parser, so
# the input is matched, not parsed: the whole document must be an object whose only member
# is "path", a JSON string without escape sequences (no backslash or double quote inside the
# path). Anything else is refused with an error rather than guessed at.
# Output (stdout): one JSON object; errors print {"error": "..."} and exit 1.
# Commands used: bash builtins, wc, sha256sum, tr (declared in skill.toml).
set -u
set -o pipefail
export LC_ALL=C

readonly MAX_FILES=500

# Escapes a string for use inside a JSON string literal (RFC 8259 section 7).
json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
    local out="" c i
    for ((i = 0; i < ${#s}; i++)); do
      c=${s:i:1}
      if [[ $c == [$'\x01'-$'\x1f'] ]]; then
        printf -v c '\\u%04x' "'$c"
      fi
      out+=$c
    done
    s=$out
  fi
  printf '%s' "$s"
}

fail() {
  printf '{"error":"%s"}\n' "$(json_escape "$1")"
  printf 'file-digest: %s\n' "$1" >&2
  exit 1
}

# Prints the JSON object describing one regular file.
describe_file() {
  local path=$1 bytes lines words digest text_bytes kind
  bytes=$(wc -c < "$path") || return 1
  lines=$(wc -l < "$path") || return 1
  words=$(wc -w < "$path") || return 1
  digest=$(sha256sum < "$path") || return 1
  digest=${digest%% *}
  # A file with NUL bytes is reported as binary.
  text_bytes=$(tr -d '\000' < "$path" | wc -c) || return 1
  if [[ $text_bytes -eq $bytes ]]; then kind=text; else kind=binary; fi
  printf '{"path":"%s","type":"%s","bytes":%d,"lines":%d,"words":%d,"sha256":"%s"}' \
    "$(json_escape "$path")" "$kind" "$bytes" "$lines" "$words" "$digest"
}

input=""
IFS= read -r -d '' input || true
readonly pattern='^[[:space:]]*\{[[:space:]]*"path"[[:space:]]*:[[:space:]]*"([^"\\]*)"[[:space:]]*\}[[:space:]]*$'
if [[ ! $input =~ $pattern ]]; then
  fail 'input must be exactly {"path": "<file or directory>"}, the path without \ or "'
fi
path=${BASH_REMATCH[1]}
[[ -n $path ]] || fail '"path" is empty'

if [[ -f $path ]]; then
  [[ -r $path ]] || fail "$path: permission denied"
  describe_file "$path" || fail "$path: cannot be read"
  printf '\n'
elif [[ -d $path ]]; then
  [[ -r $path && -x $path ]] || fail "$path: permission denied"
  shopt -s nullglob dotglob
  entries=("${path%/}"/*)
  printf '{"path":"%s","type":"directory","files":[' "$(json_escape "$path")"
  count=0
  skipped=0
  for entry in "${entries[@]}"; do
    if [[ ! -f $entry || -L $entry ]]; then
      skipped=$((skipped + 1))
      continue
    fi
    if ((count >= MAX_FILES)); then
      skipped=$((skipped + 1))
      continue
    fi
    ((count > 0)) && printf ','
    describe_file "$entry" || fail "$entry: cannot be read"
    count=$((count + 1))
  done
  printf '],"count":%d,"skipped":%d}\n' "$count" "$skipped"
elif [[ -e $path ]]; then
  fail "$path: not a regular file or directory"
else
  fail "$path: no such file or directory (or not visible in the sandbox)"
fi
