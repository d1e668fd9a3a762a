#!/usr/bin/env bash
# The test command.
#   scripts/test.sh            lint, typecheck, the whole suite on SQLite, then again on PostgreSQL + Redis
#   scripts/test.sh sqlite     the suite on SQLite only
#   scripts/test.sh postgres   the suite on PostgreSQL + Redis only (fails when they cannot be reached)
# Test files may follow the mode (`scripts/test.sh postgres test/oauth-flow.test.ts`).
#
# The PostgreSQL + Redis pass needs PostgreSQL on 127.0.0.1:5432 (database `test`, user postgres,
# trust auth) and Redis on 127.0.0.1:6379; GATEHOUSE_TEST_POSTGRES_URL / GATEHOUSE_TEST_REDIS_URL
# point elsewhere. Each test app gets a schema and a Redis key prefix of its own and removes them.
# In the full run, when either cannot be reached: with CI set the run fails; otherwise it says
# so plainly, skips that pass and still runs everything else.
set -euo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  all | sqlite | postgres) mode="$1"; shift ;;
esac
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=(test/**/*.test.ts); fi

run_suite() {
  # $1: sqlite | postgres. The spec reporter ends with the runner's summary (tests, pass, fail, ...).
  GATEHOUSE_TEST_BACKEND="$1" node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
}

probe() {
  node --import tsx test/support/backend.ts probe
}

case "$mode" in
  sqlite)
    run_suite sqlite
    ;;
  postgres)
    if ! reason="$(probe)"; then
      echo "FAILED: the Postgres+Redis run cannot start: ${reason}" >&2
      exit 1
    fi
    run_suite postgres
    ;;
  all)
    npm run --silent lint
    npm run --silent typecheck
    postgres=yes
    if ! reason="$(probe)"; then
      if [ -n "${CI:-}" ]; then
        echo "FAILED: the Postgres+Redis run cannot start in CI: ${reason}" >&2
        exit 1
      fi
      postgres=no
      echo
      echo "SKIPPED the Postgres+Redis run: ${reason}; start them and run \`npm run test:postgres\`"
      echo
    fi
    echo "== the suite on SQLite =="
    run_suite sqlite
    if [ "$postgres" = yes ]; then
      echo "== the suite on PostgreSQL + Redis =="
      run_suite postgres
    fi
    ;;
esac
