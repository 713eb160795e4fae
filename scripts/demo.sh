#!/usr/bin/env bash
# Sets everything up (Debian packages, build) and runs the main job: every bundled skill,
# each in its runtime (the native sandbox, or a podman container for word-freq), printing
# the structured result of each run. A container skill is skipped, with the reason, on a
# machine where no container engine can run.
# Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
"$root/scripts/setup.sh" "$build"

skillrt=("$build/skillrt" --skills "$root/examples/skills" --policy "$root/examples/demo-policy.toml")
export SKILLRT_HOME=${SKILLRT_HOME:-$HOME/.skillrt}

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# Container skills need an engine that can run containers here and the local busybox image.
container_skip=""
if ! command -v podman >/dev/null && ! command -v docker >/dev/null; then
  container_skip="no container engine (podman or docker) is installed"
elif ! "$root/scripts/build-container-image.sh" >&2; then
  container_skip="the local image localhost/skillrt-busybox:1 could not be built"
fi
is_container() { grep -qs '^runtime *= *"container"' "$root/examples/skills/$1/skill.toml"; }

step "${skillrt[@]}" validate "$root/examples/skills"
step "${skillrt[@]}" list
# The full structured result of one run, then the output of every bundled skill.
step "${skillrt[@]}" run calculator --input '{"expression": "2*(3+4)"}' --json </dev/null
while IFS=$'\t' read -r skill input; do
  [[ -z $skill || $skill == \#* ]] && continue
  if [[ -n $container_skip ]] && is_container "$skill"; then
    printf '\n\033[1m$ skillrt run %s\033[0m\nskipped: %s\n' "$skill" "$container_skip"
    continue
  fi
  step "${skillrt[@]}" run "$skill" --input "$input" </dev/null
done < "$root/examples/demo-inputs.tsv"
while IFS=$'\t' read -r skill argv; do
  [[ -z $skill || $skill == \#* ]] && continue
  # shellcheck disable=SC2086  # argv is a word list by design
  step "${skillrt[@]}" exec "$skill" -- $argv </dev/null
done < "$root/examples/demo-exec.tsv"
# `skillrt daemon` (docs/daemon.md): a resident process for this shell's `skillrt exec` and
# `skillrt run` calls. The same call, handed to it, runs in a sandbox prepared ahead (the first
# one prepares it), a WebAssembly run on its warm engine; its lines say which calls it served.
# `setsid` leaves the caller without a terminal, whose calls stay in their own process
# (approvals are asked there).
daemon_log=$(mktemp /var/tmp/skillrt-daemon-demo.XXXXXX)
"$build/skillrt" daemon 2>"$daemon_log" </dev/null &
daemon_pid=$!
for _ in $(seq 100); do grep -qs serving "$daemon_log" && break; sleep 0.1; done
for _ in 1 2; do
  step setsid -w "${skillrt[@]}" exec csv-tools -- python3 scripts/csvtool.py columns \
    data/cities.csv </dev/null
done
step setsid -w "${skillrt[@]}" run number-stats --input '{"numbers": [3, 1, 4, 1, 5]}' </dev/null
kill -TERM "$daemon_pid" 2>/dev/null || true
wait "$daemon_pid" || true
cat "$daemon_log"
rm -f "$daemon_log"
# The same without starting anything by hand: with SKILLRT_DAEMON=auto the first call finds
# no daemon, starts one (stopping after ten minutes without a call) and runs itself; the next
# is served. Stopped here rather than left for ten minutes.
auto_log=$SKILLRT_HOME/run/daemon.log
rm -f "$auto_log"
for numbers in '[2, 7, 1, 8]' '[1, 6, 1, 8]'; do
  step env SKILLRT_DAEMON=auto setsid -w "${skillrt[@]}" run number-stats \
    --input "{\"numbers\": $numbers}" </dev/null
  for _ in $(seq 100); do grep -qs serving "$auto_log" && break; sleep 0.1; done
done
auto_pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$auto_log" | head -n 1)
if [[ -n $auto_pid ]]; then
  kill -TERM "$auto_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$auto_pid" 2>/dev/null || break; sleep 0.1; done
fi
cat "$auto_log"
# Skill search (docs/search.md), offline: the bundled skills, then a larger catalogue made
# from a public labelled set (bench/data/mcp-namespaces.json: the Azure MCP server's 56
# namespaces), its answer fitted to a token budget as an agent's context would get it.
step "${skillrt[@]}" search "turn a spreadsheet into json records" --top 3 --explain
corpus=$(mktemp -d /var/tmp/skillrt-search-demo.XXXXXX)
python3 "$root/bench/search/corpus.py" "$corpus/skills" mcp-namespaces
step "$build/skillrt" --home "$corpus/home" --skills "$corpus/skills" index
step "$build/skillrt" --home "$corpus/home" --skills "$corpus/skills" search \
  "which of my storage accounts are in west europe" --top 5 --budget-tokens 150 \
  --per-skill-tokens 40
rm -rf "$corpus"

# A skill as published collections write them (examples/public-style/repo-digest: no
# skill.toml, `python scripts/digest.py`, git and sort|uniq|head pipelines, a relative output)
# works on files in a workspace: a fresh local clone of this repository, made anew each time.
# Under /var/tmp, wherever this checkout is: the host's /tmp is a reserved path that is never
# granted to a skill (docs/sandbox.md), and a checkout may well live there.
demo_dir=/var/tmp/skillrt-demo
workspace=$demo_dir/demo-workspace/skillrt
rm -rf "$demo_dir"
mkdir -p "$demo_dir/demo-workspace"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  git clone --quiet "$root" "$workspace"
else  # Not a git checkout (an unpacked archive): a small repository of its own.
  git -c init.defaultBranch=main init --quiet "$workspace"
  cp "$root/README.md" "$workspace/"
  git -C "$workspace" add README.md
  git -C "$workspace" -c user.name=demo -c user.email=demo@skillrt.invalid commit --quiet -m "README"
fi
public=("$build/skillrt" --skills "$root/examples/public-style" --policy "$root/examples/demo-policy.toml")
step "${public[@]}" info repo-digest
(cd "$workspace" && step "${public[@]}" exec --workspace . repo-digest -- \
  python scripts/digest.py --top 3 </dev/null)
step ls -l "$workspace/DIGEST.md"

# web-fetch (native), web-fetch-wasm (WebAssembly) and web-fetch-container (podman) reach the
# one host their manifests allow, a server on the host's loopback, through the egress proxy;
# the metadata address, a private address and an undeclared host are refused.
python3 -m http.server 8765 --bind 127.0.0.1 \
  --directory "$root/examples/skills/web-fetch/data" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "$server" 2>/dev/null; then
  echo "cannot serve 127.0.0.1:8765 (in use?): skipping the web-fetch skills"
else
  for skill in web-fetch web-fetch-wasm web-fetch-container; do
    if [[ -n $container_skip ]] && is_container "$skill"; then
      printf '\n\033[1m$ skillrt run %s\033[0m\nskipped: %s\n' "$skill" "$container_skip"
      continue
    fi
    for url in http://127.0.0.1:8765/hello.txt http://169.254.169.254/latest/meta-data/ \
               http://10.0.0.1/ http://example.org/; do
      step "${skillrt[@]}" run "$skill" --input "{\"url\": \"$url\"}" </dev/null
    done
  done
  # The same in JavaScript inside WebAssembly (examples/skills/text-stats-js): skillrt's fetch
  # reaches the allowed host; any other is refused, and the skill fails with the refusal.
  step "${skillrt[@]}" run text-stats-js --input '{"url": "http://127.0.0.1:8765/hello.txt"}' </dev/null
  if step "${skillrt[@]}" run text-stats-js --input '{"url": "http://example.org/"}' </dev/null; then
    echo "demo: text-stats-js reached example.org, which its manifest does not allow" >&2
    exit 1
  fi
  kill "$server" 2>/dev/null || true
  step "${skillrt[@]}" audit query --event egress -n 12
fi
# The Python SDK (docs/python.md): the same engine in-process, from a short script.
step "$build/pyenv/bin/python" "$root/examples/python/minimal.py" </dev/null
# An MCP client (the official Python SDK, from <build>/pyenv) connects to `skillrt mcp` over
# stdio, lists the tools, loads a skill and runs it in its sandbox (docs/mcp.md).
step "$build/pyenv/bin/python" "$root/scripts/mcp_demo.py" "${skillrt[@]}"
step "${skillrt[@]}" audit tail -n 3

# The agent loop, offline: a scripted model endpoint on loopback (tests/agent/fake_llm.py, the
# tests' fake) asks for the bundled calculator twice, then answers; every call runs through the
# engine. Then the run's event log, replayed and raw (docs/agent.md).
fake_dir=$(mktemp -d /var/tmp/skillrt-agent-demo.XXXXXX)
"$build/pyenv/bin/python" "$root/tests/agent/fake_llm.py" --port-file "$fake_dir/port" &
fake_llm=$!
trap 'kill "$server" "$fake_llm" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s $fake_dir/port ]] && break; sleep 0.1; done
step "${skillrt[@]}" agent --base-url "http://127.0.0.1:$(cat "$fake_dir/port")/v1" \
  --model scripted --expose calculator --approve refuse "What is 6*7, and that divided by 4?" \
  </dev/null
kill "$fake_llm" 2>/dev/null || true
wait "$fake_llm" 2>/dev/null || true
rm -rf "$fake_dir"
step "${skillrt[@]}" runs replay last
"${skillrt[@]}" runs show last | cut -c1-160 | sed -n '1,12p'

# The HTTP service: start it on a free loopback port, run a job over HTTP with curl and
# follow its events as Server-Sent Events, then stop it (docs/service.md).
service_home=$(mktemp -d /var/tmp/skillrt-service-demo.XXXXXX)
service_token=$("$build/skillrt" --home "$service_home" token create --scope run --name demo -q)
"$build/skillrt" --home "$service_home" serve --skills "$root/examples/skills" \
  --listen 127.0.0.1:0 --port-file "$service_home/port" -q &
service_pid=$!
trap 'kill "$server" "$service_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s $service_home/port ]] && break; sleep 0.1; done
api=http://127.0.0.1:$(cat "$service_home/port")/v1
auth=(-H "Authorization: Bearer $service_token")
# The studio (docs/studio.md): the same service's web front end, signed in with a token.
if curl -sSf -o /dev/null "${api%/v1}/studio/" 2>/dev/null; then
  printf '\nThe studio is at %s/studio/ while the service runs (sign in with a token from\n' \
    "${api%/v1}"
  printf '`skillrt token create`; from another machine: ssh -L 8470:127.0.0.1:8470, docs/studio.md).\n'
else
  echo "The studio is not built: scripts/build-studio.sh $build (docs/studio.md)."
fi
# The token goes in an Authorization header; the commands are shown without it.
printf '\n\033[1m$ curl %s/jobs -d {"skill": "number-stats", ...}\033[0m\n' "$api"
job=$(curl -sS "${auth[@]}" "$api/jobs" \
  -d '{"skill": "number-stats", "input": {"numbers": [3, 1, 4, 1, 5, 9, 2, 6]}}')
echo "$job"
job_id=$(sed -n 's/.*"id":"\(job_[0-9a-f]*\)".*/\1/p' <<<"$job")
printf '\n\033[1m$ curl -N %s/jobs/%s/events\033[0m\n' "$api" "$job_id"
curl -sS -N --max-time 30 "${auth[@]}" "$api/jobs/$job_id/events" | cut -c1-160
printf '\n\033[1m$ curl %s/jobs/%s\033[0m\n' "$api" "$job_id"
curl -sS "${auth[@]}" "$api/jobs/$job_id" | cut -c1-400
echo
# The service's skill search (the studio's search box): best matches with why each matched.
printf '\n\033[1m$ curl "%s/search?q=how+many+kilograms+is+two+pounds&top=3"\033[0m\n' "$api"
curl -sS "${auth[@]}" "$api/search?q=how+many+kilograms+is+two+pounds&top=3" | cut -c1-400
echo
kill "$service_pid"
wait "$service_pid" 2>/dev/null || true
rm -rf "$service_home"
