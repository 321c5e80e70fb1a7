#!/usr/bin/env bash
# Set carecircle up on a fresh machine, then run the demo.
#
#   bash scripts/setup.sh [demo options, e.g. --lang en]
#
# Creates .venv/ with the package and its development tools at exactly the versions locked in
# requirements.lock, installs Chromium (for the browser test) and a CJK font (for Chinese labels
# in screenshots and PNG maps) where they are missing and this is a Debian-like machine we may
# install on, and runs `carecircle demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"carecircle needs Python 3.11 or newer; python3 is {sys.version.split()[0]}")
PY

# Exactly the locked set (requirements.lock, every package pinned and hashed), then the package
# itself without resolving anything more: a fresh machine gets what CI tested.
python3 -m venv .venv
.venv/bin/pip install --quiet "pip==26.3"
.venv/bin/pip install --quiet --require-hashes --no-deps -r requirements.lock
.venv/bin/pip install --quiet --no-deps --no-build-isolation -e .
.venv/bin/pip check >/dev/null || { .venv/bin/pip check; exit 1; }

missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "CJK" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: install ${missing[*]} for the browser test and Chinese labels (e.g. sudo apt-get install ${missing[*]})"
  fi
fi

.venv/bin/carecircle demo "$@"
