#!/usr/bin/env bash
# The studio in a real browser (docs/studio.md): Debian's chromium, headless, driven by
# playwright-core (pinned in studio/package-lock.json, installed by scripts/build-studio.sh)
# against a `skillrt serve` that studio_test.mjs starts on a free port in a temporary home.
# Prints one line per scenario and a verdict; screenshots go to <build>/studio-screenshots.
# Usage: tests/studio/run.sh SKILLRT_CLI BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cli=$1
build=$2
if ! "$here/../../scripts/build-studio.sh" "$build" 2>"$build/studio-build.log"; then
  echo "studio-browser: FAILED: the studio did not build ($build/studio-build.log):"
  tail -n 20 "$build/studio-build.log"
  exit 1
fi
node_dir=$("$here/../../scripts/node-env.sh" "$build")
# The scripted model endpoint of the agent runs scenario runs in the tests' Python environment.
python=$("$here/../../scripts/python-env.sh" "$build")
chromium=${SKILLRT_CHROMIUM:-$(command -v chromium || true)}
if [[ -z $chromium ]]; then
  echo "studio-browser: FAILED: Debian's chromium is not installed (scripts/setup.sh --tests, as scripts/test.sh runs it, installs it)"
  exit 1
fi
exec "$node_dir/bin/node" "$here/studio_test.mjs" --cli "$cli" --build "$build" \
  --chromium "$chromium" --source "$here/../.." --python "$python"
