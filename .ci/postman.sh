#!/usr/bin/env bash
# Runs our own Postman collection (postman/scim-lifecycle.postman_collection.json) against a freshly started server:
# its own empty DATA_DIR, a free port on 127.0.0.1, bootstrap SCIM and admin tokens, an SSO secret, ORG_SEATS=5.
# The server is stopped by its PID on exit, whatever happens.
# Usage: .ci/postman.sh OUTDIR   (newman's JSON report lands in OUTDIR/newman-postman.json)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=${1:?usage: postman.sh OUTDIR}
case "$OUTDIR" in /*) ;; *) OUTDIR="$PWD/$OUTDIR" ;; esac
mkdir -p "$OUTDIR"
WORK=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

SUFFIX="$(date +%s)-$RANDOM$RANDOM"
SCIM_TOKEN="ci-postman-scim-$SUFFIX"
ADMIN_TOKEN="ci-postman-admin-$SUFFIX"
SSO_SECRET="ci-postman-sso-secret-$SUFFIX-0123456789abcdef"
ORG=postman-ci

cd "$REPO"
npm run build --silent
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
DATA_DIR="$WORK/data" PORT=$PORT HOST=127.0.0.1 LOG_LEVEL=warn \
  SCIM_BOOTSTRAP_TOKEN="$SCIM_TOKEN" ADMIN_BOOTSTRAP_TOKEN="$ADMIN_TOKEN" SSO_BOOTSTRAP_SECRET="$SSO_SECRET" \
  ORG_NAME="$ORG" ORG_DOMAINS=example.com ORG_SEATS=5 \
  node dist/src/main.js >"$WORK/server.log" 2>&1 &
PID=$!
BASE="http://127.0.0.1:$PORT"
up=""
for _ in $(seq 100); do
  if curl -fs "$BASE/readyz" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "server did not start:" >&2
  cat "$WORK/server.log" >&2
  exit 2
fi

status=0
node_modules/.bin/newman run postman/scim-lifecycle.postman_collection.json \
  --environment postman/local.postman_environment.json \
  --env-var "baseUrl=$BASE" \
  --env-var "scimToken=$SCIM_TOKEN" \
  --env-var "adminToken=$ADMIN_TOKEN" \
  --env-var "orgName=$ORG" \
  --env-var "ssoSecret=$SSO_SECRET" \
  --env-var "emailDomain=example.com" \
  --reporters cli,json --reporter-json-export "$OUTDIR/newman-postman.json" || status=$?
if [ $status -ne 0 ]; then echo "--- server log ---"; tail -50 "$WORK/server.log"; fi
exit $status
