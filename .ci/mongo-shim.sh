#!/usr/bin/env bash
# Runs the MongoDB jest project against ../shared/tools/mongo-shim, a MongoDB wire-protocol EMULATOR (not MongoDB).
# A pass shows the mongoose adapter runs, builds its indexes and maps real driver errors; it is not a MongoDB pass.
#
# Usage: .ci/mongo-shim.sh [jest-json-output-file]   (default: ${TMPDIR:-/tmp}/mongo-shim-jest.json, outside the tree)
# Exit status: jest's.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHIM_SRC="$REPO/../shared/tools/mongo-shim"
OUTPUT=${1:-"${TMPDIR:-/tmp}/mongo-shim-jest.json"}
case "$OUTPUT" in /*) ;; *) OUTPUT="$PWD/$OUTPUT" ;; esac

if [ ! -f "$SHIM_SRC/server.mjs" ]; then
  echo "mongo-shim not found at $SHIM_SRC" >&2
  exit 2
fi

WORK=$(mktemp -d)
SHIM_PID=""
cleanup() {
  if [ -n "$SHIM_PID" ] && kill -0 "$SHIM_PID" 2>/dev/null; then
    kill "$SHIM_PID" 2>/dev/null || true
    wait "$SHIM_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# shared/ is read-only: install and run from a copy.
cp -R "$SHIM_SRC" "$WORK/shim"
rm -rf "$WORK/shim/node_modules"
(cd "$WORK/shim" && npm ci --no-audit --no-fund --loglevel=error)

node "$WORK/shim/server.mjs" --port 0 >"$WORK/shim.out" 2>"$WORK/shim.err" &
SHIM_PID=$!

PORT=""
for _ in $(seq 100); do
  PORT=$(sed -n 's/^listening \([0-9][0-9]*\)$/\1/p' "$WORK/shim.out" | head -n 1)
  [ -n "$PORT" ] && break
  if ! kill -0 "$SHIM_PID" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "mongo-shim did not start:" >&2
  cat "$WORK/shim.err" >&2
  exit 2
fi
echo "mongo-shim (emulator, not MongoDB) listening on 127.0.0.1:$PORT" >&2

status=0
(cd "$REPO" && MONGODB_URI="mongodb://127.0.0.1:$PORT/scimtest" npx jest --selectProjects mongo --json --outputFile="$OUTPUT") || status=$?

if grep -q UNSUPPORTED "$WORK/shim.err"; then
  echo "mongo-shim reported unsupported commands:" >&2
  grep UNSUPPORTED "$WORK/shim.err" >&2
fi
echo "jest results: $OUTPUT (against mongo-shim, not MongoDB)" >&2
exit "$status"
