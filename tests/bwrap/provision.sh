#!/usr/bin/env bash
# Provision what the bwrap-marked tests need: bubblewrap installed, and able to create the
# namespaces a sandbox uses here (user, mount, network). Idempotent: an installed bwrap that
# works is left as it is. Runs as root (CI) or as a user with sudo.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v bwrap >/dev/null 2>&1; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq bubblewrap >/dev/null
fi

# The same shape repro's probe starts (repro/sandbox/probe.py): with a user namespace first,
# then without (a setuid bwrap on a kernel with unprivileged user namespaces off).
err="$(mktemp)"
trap 'rm -f "$err"' EXIT
base=(--cap-drop ALL --unshare-net --die-with-parent --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp)
if bwrap --unshare-user --uid "$(id -u)" --gid "$(id -g)" "${base[@]}" -- true 2>"$err"; then
  mode="user namespace"
elif bwrap "${base[@]}" -- true 2>>"$err"; then
  mode="setuid, no user namespace"
else
  echo "bwrap is installed but cannot create namespaces here:" >&2
  cat "$err" >&2
  echo "(enable unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1," \
       "or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04)" >&2
  exit 1
fi
echo "bwrap $(bwrap --version | awk '{print $NF}') works here ($mode)"
