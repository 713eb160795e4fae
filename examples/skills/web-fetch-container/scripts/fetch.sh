#!/bin/sh
# Fetches one http:// URL and describes the answer as one JSON object on stdout.
# Input (stdin): {"url": "http://...", "max_bytes": N}; the manifest's schema admits only URLs
# without quotes, backslashes or spaces, so sed can take them out of the JSON text.
# busybox wget finds skillrt's egress proxy in $http_proxy; there is no other way out.
set -u
input=$(cat)
url=$(printf '%s' "$input" | sed -n 's/.*"url": *"\([^"]*\)".*/\1/p')
max=$(printf '%s' "$input" | sed -n 's/.*"max_bytes": *\([0-9][0-9]*\).*/\1/p')
max=${max:-1048576}
if [ -z "$url" ]; then
  echo '{"error": "input must be an object with a string url"}'
  echo "web-fetch-container: input must be an object with a string url" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if wget -S -O "$work/body" "$url" 2>"$work/log"; then ok=true; else ok=false; fi
# The last status line wget saw: from -S's header dump, or from its error message (the
# proxy's refusals arrive as "server returned error: HTTP/1.1 403 Forbidden").
status=$(sed -n 's/.*HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$work/log" | tail -n 1)
error=""
[ "$ok" = true ] || error=$(grep -v '^  ' "$work/log" | tail -n 1)
[ -f "$work/body" ] || : >"$work/body"
bytes=$(wc -c <"$work/body")
# The first max_bytes, without control characters JSON would need escaped beyond \t and \n.
head -c "$max" "$work/body" | tr -d '\000-\010\013-\037' >"$work/shown"
truncated=false
[ "$bytes" -gt "$max" ] && truncated=true
final_newline=false
[ -s "$work/shown" ] && [ "$(tail -c 1 "$work/shown" | od -An -c | tr -d ' ')" = '\n' ] &&
  final_newline=true

awk -v url="$url" -v ok="$ok" -v status="${status:-null}" -v bytes="$bytes" \
  -v truncated="$truncated" -v error="$error" -v final_newline="$final_newline" '
  function esc(s) {
    gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s)
    return s
  }
  { text = text (NR > 1 ? "\\n" : "") esc($0) }
  END {
    if (final_newline == "true") text = text "\\n"
    printf "{\"url\": \"%s\", \"ok\": %s, \"status\": %s, \"bytes\": %d, \"truncated\": %s",
      esc(url), ok, status, bytes, truncated
    if (error != "") printf ", \"error\": \"%s\"", esc(error)
    else printf ", \"text\": \"%s\"", text
    print "}"
  }' "$work/shown"
