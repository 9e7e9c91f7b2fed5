#!/usr/bin/env bash
# Runs the third-party conformance collections (../shared/conformance) against the built server, each on its own
# fresh embedded store:
#   okta  — seeds what Okta's SPEC test needs (one user with name and email, one group) first;
#   entra — Microsoft's SCIMReferenceCode collection, which needs an EMPTY store (it asserts exact totals). That
#           server runs with SCIM_USER_PATCH_RESPONSE=no-content (the reference implementation's 204 on user PATCH) and
#           SCIM_UNKNOWN_MEMBERS=ignore (the collection adds members that do not exist)
#           (README "IdP compatibility choices").
# Usage: .ci/conformance.sh OUTDIR   (newman JSON reports land in OUTDIR/newman-okta.json and OUTDIR/newman-entra.json)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=${1:?usage: conformance.sh OUTDIR}
SHARED="$REPO/../shared"
WORK=$(mktemp -d)
TOKEN="ci-conformance-token-$(date +%s)-$RANDOM"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$REPO"
npm run build --silent

# start_server NAME [VAR=value ...]: a server on a free port over $WORK/NAME/data; sets PORT.
start_server() {
  local name=$1; shift
  mkdir -p "$WORK/$name"
  PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  env DATA_DIR="$WORK/$name/data" PORT="$PORT" HOST=127.0.0.1 LOG_LEVEL=warn SCIM_BOOTSTRAP_TOKEN="$TOKEN" "$@" \
    node dist/src/main.js >"$WORK/$name/server.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "$name server did not start"; cat "$WORK/$name/server.log"; return 1
}

# run_collection NAME: runs ../shared/conformance/run.sh NAME against $PORT and copies the newman report.
run_collection() {
  local name=$1 rc=0
  BASE="http://127.0.0.1:$PORT/scim/v2" TOKEN="$TOKEN" OUT="$WORK/$name/newman" NEWMAN="$REPO/node_modules/.bin/newman" \
    bash "$SHARED/conformance/run.sh" "$name" || rc=$?
  cp "$WORK/$name/newman/$name.json" "$OUTDIR/newman-$name.json" 2>/dev/null || true
  if [ $rc -ne 0 ]; then echo "--- $name server log ---"; tail -50 "$WORK/$name/server.log"; fi
  return $rc
}

status=0

start_server okta ORG_DOMAINS=example.com
BASE="http://127.0.0.1:$PORT/scim/v2"
auth=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json")
curl -fs "${auth[@]}" -X POST "$BASE/Users" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"seed.user@example.com","name":{"givenName":"Seed","familyName":"User"},"emails":[{"value":"seed.user@example.com","type":"work","primary":true}],"active":true}' >/dev/null
curl -fs "${auth[@]}" -X POST "$BASE/Groups" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Seed Group","members":[]}' >/dev/null
run_collection okta || status=1

start_server entra SCIM_USER_PATCH_RESPONSE=no-content SCIM_UNKNOWN_MEMBERS=ignore
run_collection entra || status=1

exit $status
