#!/usr/bin/env bash
# Sets everything up (Debian packages, build) and runs the main job: every bundled skill,
# each inside the native sandbox, printing the structured result of each run.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
"$root/scripts/setup.sh" "$build"

skillrt=("$build/skillrt" --skills "$root/examples/skills")
export SKILLRT_HOME=${SKILLRT_HOME:-$HOME/.skillrt}

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "${skillrt[@]}" validate "$root/examples/skills"
step "${skillrt[@]}" list
# The full structured result of one run, then the output of every bundled skill.
step "${skillrt[@]}" run calculator --input '{"expression": "2*(3+4)"}' --json </dev/null
while IFS=$'\t' read -r skill input; do
  [[ -z $skill || $skill == \#* ]] && continue
  step "${skillrt[@]}" run "$skill" --input "$input" </dev/null
done < "$root/examples/demo-inputs.tsv"
while IFS=$'\t' read -r skill argv; do
  [[ -z $skill || $skill == \#* ]] && continue
  # shellcheck disable=SC2086  # argv is a word list by design
  step "${skillrt[@]}" exec "$skill" -- $argv </dev/null
done < "$root/examples/demo-exec.tsv"
step "${skillrt[@]}" audit tail -n 3
