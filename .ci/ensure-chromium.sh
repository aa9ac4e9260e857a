#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the e2e tier. Never downloads a browser build of its own.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  echo "Installing Debian's chromium for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q chromium fonts-liberation >/dev/null
  exit 0
fi
if [ "${AERIE_SKIP_E2E:-0}" = "1" ]; then
  echo "!! Chromium is missing and AERIE_SKIP_E2E=1: the e2e tier will be skipped." >&2
  exit 0
fi
cat >&2 <<'MSG'
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! Chromium is not installed and this user is not root, so it cannot be
!! installed here. Run as root:  apt-get install -y chromium fonts-liberation
!! or set AERIE_SKIP_E2E=1 to run every tier but the browser tests.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
MSG
exit 1
