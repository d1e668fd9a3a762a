#!/usr/bin/env bash
# The test command.
#   scripts/test.sh            lint, typecheck, every test file on SQLite, then the in-process files and
#                              the end-to-end files the backend matters to on PostgreSQL + Redis
#   scripts/test.sh fast       the in-process files (test/*.test.ts, not test/e2e/) on SQLite only: no
#                              lint, no typecheck, no child processes or browser (`npm run test:fast`)
#   scripts/test.sh sqlite     every test file, test/e2e/ included, on SQLite only
#   scripts/test.sh postgres   the PostgreSQL + Redis pass only (fails when they cannot be reached)
# Test files may follow the mode (`scripts/test.sh postgres test/oauth-flow.test.ts`); they then
# run as given, in every pass of that mode.
#
# test/*.test.ts run in the test process (app.inject, in-process servers); test/e2e/*.test.ts
# start real processes (`gatehouse serve`, the CLI, the compiled server) or a browser, and take
# most of the time. Of those, only the ones listed in E2E_ON_POSTGRES run in the PostgreSQL +
# Redis pass; the others run once, on SQLite (see E2E_ON_POSTGRES below).
#
# The PostgreSQL + Redis pass needs PostgreSQL on 127.0.0.1:5432 (database `test`, user postgres,
# trust auth) and Redis on 127.0.0.1:6379; GATEHOUSE_TEST_POSTGRES_URL / GATEHOUSE_TEST_REDIS_URL
# point elsewhere. Each test app gets a schema and a Redis key prefix of its own and removes them.
# In the full run, when either cannot be reached: with CI set the run fails; otherwise it says
# so plainly, skips that pass and still runs everything else.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  all | fast | sqlite | postgres) mode="$1"; shift ;;
esac

# The end-to-end files that also run in the PostgreSQL + Redis pass, because the backend is what
# they test: the CLI runs its commands (migrate, project create, ...) on this run's database;
# scale-instances, scale-sso and storage-outage are about a shared PostgreSQL + Redis (on SQLite they skip
# themselves and say why). The other files in test/e2e/ run on SQLite only: the browser drives
# the hosted pages, which the in-process files check on both backends; start.test.ts and
# shutdown.test.ts always use a SQLite file of their own; e2e/passwords.test.ts uses no storage.
# console-browser.test.ts (about half a minute) drives every admin task of the console, so it is the
# console's one pass on PostgreSQL + Redis.
E2E_ON_POSTGRES=(test/e2e/cli.test.ts test/e2e/scale-instances.test.ts test/e2e/scale-sso.test.ts test/e2e/storage-outage.test.ts test/e2e/webhooks-kill.test.ts test/e2e/console-browser.test.ts)

in_process=(test/*.test.ts)
if [ $# -gt 0 ]; then
  sqlite_files=("$@")
  postgres_files=("$@")
elif [ "$mode" = fast ]; then
  sqlite_files=("${in_process[@]}")
else
  sqlite_files=("${in_process[@]}" test/e2e/*.test.ts)
  postgres_files=("${in_process[@]}" "${E2E_ON_POSTGRES[@]}")
fi

run_suite() {
  # $1: sqlite | postgres, then the files. The spec reporter ends with the runner's summary
  # (tests, pass, fail, ...).
  local backend="$1"
  shift
  GATEHOUSE_TEST_BACKEND="$backend" node --import tsx --test --test-concurrency=2 --test-reporter=spec "$@"
}

probe() {
  node --import tsx test/support/backend.ts probe
}

case "$mode" in
  fast | sqlite)
    run_suite sqlite "${sqlite_files[@]}"
    ;;
  postgres)
    if ! reason="$(probe)"; then
      echo "FAILED: the Postgres+Redis run cannot start: ${reason}" >&2
      exit 1
    fi
    run_suite postgres "${postgres_files[@]}"
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
    echo "== every test file on SQLite =="
    run_suite sqlite "${sqlite_files[@]}"
    if [ "$postgres" = yes ]; then
      echo "== the in-process files and ${E2E_ON_POSTGRES[*]} on PostgreSQL + Redis =="
      run_suite postgres "${postgres_files[@]}"
    fi
    ;;
esac
