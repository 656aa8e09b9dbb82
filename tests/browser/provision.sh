#!/usr/bin/env bash
# Provision what the browser tests need: Debian's headless Chromium (the audit report rendered
# and printed as a reader's browser would), poppler's pdftotext (the printed PDF's text) and a
# font. Idempotent: what is installed is left as it is. Runs as root (CI) or with sudo.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ "${#missing[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A page that renders is the proof: Chromium can start headless here.
page="$(mktemp --suffix=.html)"
profile="$(mktemp -d)"
trap 'rm -rf "$page" "$profile"' EXIT
echo '<!doctype html><title>t</title><p id="p">chromium works</p>' >"$page"
if ! chromium --headless --no-sandbox --disable-dev-shm-usage --user-data-dir="$profile" \
    --dump-dom "file://$page" 2>/dev/null | grep -q 'chromium works'; then
  echo "chromium is installed but does not render a page headless here" >&2
  exit 1
fi
echo "$(chromium --version 2>/dev/null | head -1) renders headless; $(pdftotext -v 2>&1 | head -1)"
