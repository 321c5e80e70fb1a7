#!/usr/bin/env bash
# Refresh requirements.lock, the lock that scripts/setup.sh installs: every dependency of the
# package and of its [dev] extra, and the build backend, at the newest versions that
# pyproject.toml allows, pinned and hashed. Run it with Python 3.11 (the oldest supported),
# then run the tests on the new set before committing it:
#
#   bash scripts/update_lock.sh                  # everything to the newest allowed
#   bash scripts/update_lock.sh -P highspy==1.16.0   # move one package (pip-compile options)
set -euo pipefail
cd "$(dirname "$0")/.."

tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install --quiet "pip-tools==7.6.2"
CUSTOM_COMPILE_COMMAND="bash scripts/update_lock.sh" "$tools/bin/pip-compile" --quiet --upgrade --extra dev --all-build-deps --allow-unsafe \
    --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
    --output-file requirements.lock "$@" pyproject.toml
echo "requirements.lock refreshed; now: bash scripts/setup.sh && .venv/bin/python -m pytest"
