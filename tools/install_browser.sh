#!/usr/bin/env bash
# Debian's chromium for the test that opens the Snakemake report in a real headless browser
# (tests/report/test_snakemake_report.py). Installs it only when it is missing and this shell may
# (root with apt-get); otherwise says why and leaves the test to skip with its reason. Never fails
# the test command: the browser is a check of the report, not something the workflow needs.
set -uo pipefail

for browser in chromium chromium-browser google-chrome; do
  if command -v "$browser" >/dev/null; then
    exit 0
  fi
done
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "browser: no chromium, and no root apt-get to install it; the report's browser test will skip" >&2
  exit 0
fi
echo "browser: installing Debian's chromium (apt-get, once)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
       || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }; }; then
  echo "browser: apt-get could not install chromium; the report's browser test will skip" >&2
fi
exit 0
