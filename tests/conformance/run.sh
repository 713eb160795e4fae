#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance, installed by
# scripts/node-env.sh) against `skillrt mcp --http`, serving the fixture skills beside this
# script under the tool names the suite calls. The suite's own report goes to
# <build>/mcp-conformance.txt; this prints one verdict line, so that the test command's
# closing lines stay ctest's.
# Usage: tests/conformance/run.sh SKILLRT_CLI BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cli=$1
build=$2
node_dir=$("$here/../../scripts/node-env.sh" "$build")
suite=$node_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js
report=$build/mcp-conformance.txt
home=$(mktemp -d)
log=$home/server.log
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$cli" mcp --http --listen "127.0.0.1:$port" --home "$home" --skills "$here/skills" \
  --expose test_simple_text=simple-text --expose test_error_handling=error-handling \
  --expose test_tool_with_progress=with-progress --expose test_tool_with_logging=with-logging \
  2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$log" 2>/dev/null && break
  kill -0 $server 2>/dev/null || { echo "mcp-conformance: the server did not start:"; cat "$log"; exit 1; }
  sleep 0.1
done
status=0
"$node_dir/bin/node" "$suite" server --url "http://127.0.0.1:$port/mcp" \
  --expected-failures "$here/expected-failures.yaml" >"$report" 2>&1 || status=$?
# Strip colours for the one line shown.
# The suite's totals, reworded ("checks: N ok, M not ok") so that no line of ours reads as a
# test runner's closing line.
total=$(sed 's/\x1b\[[0-9;]*m//g' "$report" | grep -E '^Total: ' | tail -1 |
  sed -E 's/^Total: ([0-9]+) passed, ([0-9]+) failed.*/checks: \1 ok, \2 not ok/')
if ((status == 0)); then
  echo "mcp-conformance: OK, every scenario passes or is an expected failure ($total; report: $report)"
else
  echo "mcp-conformance: FAILED with unexpected failures or stale expectations ($total; report: $report)"
  sed 's/\x1b\[[0-9;]*m//g' "$report" | grep -E '^\s+(✗|~)|Unexpected|Stale' | head -20
fi
kill -0 $server 2>/dev/null || { echo "mcp-conformance: the server died during the run"; exit 1; }
exit $status
