#!/usr/bin/env bash
# Run the tests on the newest releases that pyproject.toml allows, in a scratch environment,
# and report the result without failing on it: a drift between the lock (requirements.lock,
# which the tests must pass on) and what a plain `pip install carecircle` would get today is
# seen here before a user meets it. CI runs it after the tests on the locked set.
set -uo pipefail
cd "$(dirname "$0")/.."

env="$(mktemp -d)"
log="$env/pytest.log"
trap 'rm -rf "$env"' EXIT
echo "== newest releases (a report: it does not fail the run)"
if ! { python3 -m venv "$env/venv" \
    && "$env/venv/bin/pip" install --quiet --upgrade pip \
    && "$env/venv/bin/pip" install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"; } \
    >"$env/install.log" 2>&1; then
  echo "newest releases: the install failed; its last lines:"
  tail -n 5 "$env/install.log" | sed 's/^/  | /'
  exit 0
fi
# the newest versions that differ from the lock
"$env/venv/bin/pip" freeze --exclude-editable | tr 'A-Z_' 'a-z-' | sort >"$env/newest.txt"
grep -E '^[A-Za-z0-9_.-]+==' requirements.lock | sed 's/ .*//' | tr 'A-Z_' 'a-z-' | sort \
    >"$env/locked.txt"
moved="$(comm -13 "$env/locked.txt" "$env/newest.txt" | tr '\n' ' ')"
echo "newest releases differing from the lock: ${moved:-none}"
timeout 1800 "$env/venv/bin/python" -m pytest -q -p no:cacheprovider >"$log" 2>&1
status=$?
# pytest's own summary is not echoed as it is: this run's result is a report, and the locked
# run's summary stays the last word of CI.
summary="$(grep -E '(passed|failed|error)' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//')"
echo "newest releases, pytest exit $status: ${summary:-no summary}"
grep -E '^(FAILED|ERROR) ' "$log" | head -n 20 | sed 's/^/  | /'
exit 0
