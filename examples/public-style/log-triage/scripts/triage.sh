#!/usr/bin/env bash
# Summarises a log of "TIMESTAMP LEVEL message" lines: entries per level, the most frequent
# error messages (numbers folded to N), the first and last error.
set -euo pipefail

log=${1:?usage: triage.sh LOGFILE [OUTPUT]}
out=${2:-triage.txt}
top=${TOP:-5}
test -r "$log" || { echo "triage: cannot read $log" >&2; exit 1; }

levels() {
  awk '{ lvl = ($2 ~ /^(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL)$/) ? $2 : "OTHER"; print lvl }' "$log" |
    sort | uniq -c | sort -k1,1nr -k2
}

errors() { grep -E '^[^ ]+ (ERROR|FATAL) ' "$log" || true; }

top_errors() {
  errors | cut -d' ' -f3- | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -k1,1nr -k2 |
    head -n "$top"
}

{
  echo "log: $log ($(wc -l <"$log") lines)"
  echo
  echo "entries per level:"
  levels
  echo
  echo "most frequent errors:"
  top_errors
  echo
  echo "first error: $(errors | head -n 1)"
  echo "last error:  $(errors | tail -n 1)"
} >"$out"
cat "$out"
