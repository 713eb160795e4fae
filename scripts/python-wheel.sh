#!/usr/bin/env bash
# Builds the Python SDK's wheel from an existing build directory and installs it into the test
# environment <build>/pyenv (scripts/python-env.sh), so the pytest suites import what was built.
# scikit-build-core (pyproject.toml) uses BUILD_DIR as its own build directory: it configures
# it again with the same settings and builds the `_skillrt` target, which the main build has
# made already, so nothing is compiled twice. Skipped when the module and the package sources
# are unchanged since the last install.
# Usage: scripts/python-wheel.sh [BUILD_DIR]    The wheel is left in BUILD_DIR/wheels.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
python=$build/pyenv/bin/python
wheels=$build/wheels
module=$(ls "$build"/python/_skillrt.*.so 2>/dev/null | head -n1 || true)
if [[ -z $module ]]; then
  echo "python-wheel: no extension module under $build/python (configured with -DSKILLRT_BUILD_PYTHON=OFF?)" >&2
  exit 1
fi

stamp=$wheels/.installed
want=$(cat "$module" "$root"/python/skillrt/* "$root/pyproject.toml" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  # The installed wheel holds this module (a relink can give the same bytes a new mtime): the
  # stamp's own time says when that was last confirmed (python/tests/conftest.py reads it).
  touch "$stamp"
  exit 0
fi
# Keep the build directory's own build type (a Release tree must not turn RelWithDebInfo).
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
rm -rf "$wheels"
mkdir -p "$wheels"
echo "python-wheel: building the skillrt wheel in $build" >&2
"$python" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps -q \
  -w "$wheels" --config-settings=build-dir="$build" --config-settings=cmake.build-type="${build_type:-RelWithDebInfo}" \
  "$root" >&2
"$python" -m pip install --disable-pip-version-check --no-deps --force-reinstall -q \
  "$wheels"/skillrt-*.whl >&2
echo "$want" >"$stamp"
