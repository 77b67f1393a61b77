#!/usr/bin/env bash
# Schemathesis at full budget (RELIABILITY.md S3, R2): every operation of /openapi.json,
# phases examples, coverage, fuzzing and stateful, 200 examples per operation, against a
# real `titrate serve` (two workers) on loopback, with a token that has every scope.
#
#   bench/schemathesis.sh                      # fresh SQLite database in a temporary folder
#   DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/titrate_st bench/schemathesis.sh
#   SCHEMATHESIS_MAX_EXAMPLES=50 bench/schemathesis.sh
#
# One Schemathesis worker: with two, Hypothesis' lambda-source cache is shared across threads
# and failed with "AST constructor recursion depth mismatch" (a test-tool error, not the app's).
# Requests may take 60 s: a PDF takes seconds to render on a loaded 2-core machine.
#
# The PostgreSQL database must exist and be empty (or hold only test data): the script
# migrates it and adds a token, a patient and a plan. Reports go to out/schemathesis/.
# The whole run is bounded by `timeout` (BENCH_TIMEOUT seconds, default 1800) and the server
# is stopped by its own process group. Exit status: Schemathesis' (0 = no failure).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
ST="$ROOT/.venv/bin/st"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-200}"
WORK="$(mktemp -d -t titrate-st.XXXXXX)"
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
REPORTS="$ROOT/out/schemathesis"
mkdir -p "$REPORTS"

export TITRATE_ENVIRONMENT=test
export TITRATE_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
export TITRATE_DATABASE_URL="${DATABASE_URL:-sqlite:///$WORK/titrate.db}"
export TITRATE_LOG_LEVEL=WARNING
# A fuzzer is not abuse: lift the per-token request limit for the run.
export TITRATE_TOKEN_REQUESTS_PER_MINUTE=100000 TITRATE_REQUEST_BURST=10000

SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$ROOT/.venv/bin/titrate" migrate
TOKEN="$("$ROOT/.venv/bin/titrate" create-token --name schemathesis_bench --scope patients:read --scope patients:write --scope plans:read --scope plans:write --scope plans:preview --scope plans:review)"

setsid "$ROOT/.venv/bin/titrate" serve --host 127.0.0.1 --port "$PORT" --workers 2 \
    >"$REPORTS/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    if "$PY" -c "import httpx, sys; sys.exit(httpx.get('$BASE/healthz').status_code != 200)" \
        2>/dev/null; then
        break
    fi
    sleep 0.2
done

# A patient and a plan for half of the generated ids to point at (the rest probe 404s).
read -r PATIENT_ID PLAN_ID < <(TOKEN="$TOKEN" BASE="$BASE" "$PY" - <<'PYTHON'
import os

import httpx

from tests.fuzz.seeds import seed_patient_and_plan

with httpx.Client(base_url=os.environ["BASE"]) as client:
    headers = {"Authorization": f"Bearer {os.environ['TOKEN']}"}
    print(*seed_patient_and_plan(client, headers))
PYTHON
)

cat >"$WORK/schemathesis.toml" <<TOML
seed = 20261122

[generation]
max-examples = $MAX_EXAMPLES

[phases.stateful]
enabled = true

[dictionaries.seeded_patients]
values = [$PATIENT_ID]

[dictionaries.seeded_plans]
values = [$PLAN_ID]

[parameters]
"path.patient_id" = { dictionary = "seeded_patients", probability = 0.5 }
"path.plan_id" = { dictionary = "seeded_plans", probability = 0.5 }
TOML

echo "schemathesis: $MAX_EXAMPLES examples per operation against $BASE ($TITRATE_DATABASE_URL)"
started=$(date +%s)
set +e
SCHEMATHESIS_HOOKS=tests.fuzz.hooks PYTHONPATH="$ROOT" timeout "${BENCH_TIMEOUT:-1800}" \
    "$ST" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,ignored_auth,use_after_free,security_headers,no_internal_details \
    --phases examples,coverage,fuzzing,stateful \
    --workers 1 \
    --request-timeout 60 \
    --report junit,ndjson --report-dir "$REPORTS" \
    --no-color
status=$?
set -e
echo "schemathesis: exit $status after $(( $(date +%s) - started )) s; reports in $REPORTS"
exit $status
