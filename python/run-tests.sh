#!/usr/bin/env bash
# The Python tests: the vmodem package's own (python/tests) and the example firmware's suite
# (examples/python), against the debug binary `cargo test --workspace` already built, plus
# `mypy --strict` over both. Installs what they need into target/python-venv (pip: pytest,
# pyserial, paho-mqtt, mypy); the package runs from python/src, so no maturin, no release build.
#
#   python/run-tests.sh               # everything (a few seconds once the venv exists)
#   python/run-tests.sh -k trace      # extra arguments go to pytest
#   VMODEM_BIN=target/release/vmodem python/run-tests.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VMODEM_PY_VENV:-$root/target/python-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/python/requirements-test.txt"

export VMODEM_BIN="${VMODEM_BIN:-$root/target/debug/vmodem}"
case "$VMODEM_BIN" in /*) ;; *) VMODEM_BIN="$root/$VMODEM_BIN" ;; esac
if [ ! -x "$VMODEM_BIN" ]; then
    echo "python/run-tests.sh: no vmodem binary at $VMODEM_BIN: run \`cargo build -p vmodem-cli\` first" >&2
    exit 2
fi
export PYTHONPATH="$root/python/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

cd "$root/python"
"$venv/bin/python" -m mypy --strict --cache-dir "$root/target/mypy-cache" --no-error-summary
(cd "$root/examples/python" && MYPYPATH="$root/python/src" "$venv/bin/python" -m mypy --strict \
    --cache-dir "$root/target/mypy-cache-examples" --no-error-summary .)

cd "$root"
# Bounded: every wait in the tests has its own limit; this is the backstop.
exec timeout 600 "$venv/bin/python" -m pytest -p no:cacheprovider -q -rs \
    python/tests examples/python "$@"
