# Sourced by bench/fresh/apt-estimate.sh and apt-measure.sh: sets `common` and `tests` to the
# two package lists of scripts/setup.sh (the main job's, and what `--tests` adds), each a
# space-separated word list, read from setup.sh itself so that they cannot drift apart.
# Needs `root` (the repository) set.
lists=$(sed -n '/^packages=(/,/^)/p; /^test_packages=(/p' "$root/scripts/setup.sh")
# shellcheck disable=SC2034  # used by the scripts that source this
common=$(sed -n '/^packages=(/,/^)/p' <<<"$lists" | sed '1d;$d' | tr -s ' \n' ' ')
# shellcheck disable=SC2034
tests=$(sed -n 's/^test_packages=(\(.*\))/\1/p' <<<"$lists")
