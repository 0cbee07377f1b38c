#!/usr/bin/env bash
# Spark bootstrap: creates ./.venv on first use (and again when pyproject.toml changes), then
#   ./spark.sh app [FILE]        open the desktop app
#   ./spark.sh test [ARGS]       run the test suite (offscreen; no display needed)
#   ./spark.sh bench [ARGS]      run the Spark-vs-Brian2 benchmark (own venv: .venv-bench)
#   ./spark.sh ARGS...           any other `spark` command: run, validate, train, ...
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

ensure_venv() {  # $1 = venv dir, $2 = extras
  local venv=$1 extras=$2
  local stamp="$venv/.spark-stamp" want
  want=$(cat pyproject.toml; echo "$extras")
  want=$(printf '%s' "$want" | cksum | cut -d' ' -f1)
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "spark: setting up $venv (first run; takes a few minutes)..." >&2
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -U pip >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]" >&2
    echo "$want" > "$stamp"
  fi
}

cmd=${1:-app}
case "$cmd" in
  test)
    shift || true
    ensure_venv .venv test
    export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
    exec .venv/bin/python -m pytest "$@"
    ;;
  bench)
    shift || true
    ensure_venv .venv-bench "test,bench"
    exec .venv-bench/bin/python benchmarks/bench_vs_brian2.py "$@"
    ;;
  *)
    [ $# -gt 0 ] && shift
    ensure_venv .venv test
    exec .venv/bin/spark "$cmd" "$@"
    ;;
esac
