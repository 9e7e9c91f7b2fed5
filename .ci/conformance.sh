#!/usr/bin/env bash
# Starts the built server on a free port with a fresh embedded store, seeds what Okta's SPEC test needs (one user
# with name and email, one group), runs the collection with newman, and stops the server.
# Usage: .ci/conformance.sh OUTDIR   (newman JSON reports land in OUTDIR/newman-*.json)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=${1:?usage: conformance.sh OUTDIR}
SHARED="$REPO/../shared"
WORK=$(mktemp -d)
TOKEN="ci-conformance-token-$(date +%s)-$RANDOM"
cd "$REPO"
npm run build --silent
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
DATA_DIR="$WORK/data" PORT=$PORT HOST=127.0.0.1 LOG_LEVEL=warn SCIM_BOOTSTRAP_TOKEN="$TOKEN" ORG_DOMAINS=example.com \
  node dist/src/main.js >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
BASE="http://127.0.0.1:$PORT/scim/v2"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
auth=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json")
curl -fs "${auth[@]}" -X POST "$BASE/Users" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"seed.user@example.com","name":{"givenName":"Seed","familyName":"User"},"emails":[{"value":"seed.user@example.com","type":"work","primary":true}],"active":true}' >/dev/null
curl -fs "${auth[@]}" -X POST "$BASE/Groups" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Seed Group","members":[]}' >/dev/null
status=0
BASE="$BASE" TOKEN="$TOKEN" OUT="$WORK/newman" NEWMAN="$REPO/node_modules/.bin/newman" bash "$SHARED/conformance/run.sh" okta || status=$?
cp "$WORK/newman/okta.json" "$OUTDIR/newman-okta.json" 2>/dev/null || true
if [ $status -ne 0 ]; then echo "--- server log ---"; tail -50 "$WORK/server.log"; fi
exit $status
