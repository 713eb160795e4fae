#!/bin/sh
# Word frequency. Input: {"text": "...", "top": N} on stdin. Output: one JSON object.
# count.awk decodes the input and counts the words; sort and head pick the most frequent.
set -eu
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! awk -v counts="$work/counts" -f "$here/count.awk" >"$work/meta"; then
  cat "$work/meta"
  echo "word-freq: $(cat "$work/meta")" >&2
  exit 1
fi
read -r total unique top <"$work/meta"

# Most frequent first; ties alphabetical.
sort -k1,1nr -k2,2 "$work/counts" | head -n "$top" |
  awk -v total="$total" -v unique="$unique" '
    BEGIN { printf "{\"words\": %d, \"unique\": %d, \"top\": [", total, unique }
    { printf "%s{\"word\": \"%s\", \"count\": %d}", (NR > 1 ? ", " : ""), $2, $1 }
    END { print "]}" }'
