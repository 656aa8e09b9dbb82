#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted $vars below are meant for sh -c / apt, not bash
# Provision what the docker-marked tests need, offline apart from the Debian mirror:
#   1. a Docker engine: reuse one that answers, else install docker.io and start dockerd;
#   2. an offline Python image (debootstrap + `docker import`), built once per machine (by tag);
#   3. a local registry on 127.0.0.1:5000 holding that image, so tests can pull it by digest;
#   4. tests/docker/.env with REPRO_TEST_IMAGE and REPRO_TEST_REGISTRY_IMAGE (also printed).
# Idempotent: a second run reuses the engine, the image, the registry and the pushed manifest.
# Runs as root (CI) or as a user with sudo.
#
# Environment (all optional):
#   REPRO_TEST_IMAGE       local tag to build                  (default repro-test/python:bookworm)
#   REPRO_TEST_REGISTRY    registry host:port                  (default 127.0.0.1:5000)
#   REPRO_TEST_REBUILD=1   rebuild the image even if the tag exists
#   REPRO_DEBIAN_MIRROR    debootstrap mirror          (default: the Debian archive apt uses here)
#   REPRO_DOCKERD_FLAGS    dockerd flags to use instead of the automatic fallbacks
#   REPRO_DOCKERD_LOG      dockerd log file                    (default /var/log/repro-dockerd.log)
#   REPRO_REGISTRY_DIR     registry config, storage and log    (default /var/tmp/repro-test-registry)
set -euo pipefail

IMAGE="${REPRO_TEST_IMAGE:-repro-test/python:bookworm}"
REGISTRY="${REPRO_TEST_REGISTRY:-127.0.0.1:5000}"
SUITE="bookworm"
# python-is-python3 makes `python train.py` work; minbase already has dpkg (dpkg-query).
PACKAGES="python3-minimal,python3-numpy,python-is-python3"
DOCKERD_LOG="${REPRO_DOCKERD_LOG:-/var/log/repro-dockerd.log}"
REGISTRY_DIR="${REPRO_REGISTRY_DIR:-/var/tmp/repro-test-registry}"
REGISTRY_LOG="${REGISTRY_DIR}/registry.log"
ENGINE_TIMEOUT=60

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="${HERE}/.env"
if [[ ${EUID} -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi

T_START=${EPOCHREALTIME}
T_STEP=${EPOCHREALTIME}
log()   { printf '[provision] %s\n' "$*"; }
die()   { printf '\n[provision] ERROR: %s\n' "$*" >&2; exit 1; }
since() { awk -v a="$1" -v b="${EPOCHREALTIME}" 'BEGIN{printf "%.1f", b-a}'; }
step()  { T_STEP=${EPOCHREALTIME}; printf '[provision] %s ... ' "$*"; }
ok()    { printf '%s (%s s)\n' "$1" "$(since "${T_STEP}")"; }

engine_up()      { docker info >/dev/null 2>&1; }
dockerd_running() { grep -qsx dockerd /proc/[0-9]*/comm; }
# Run a command detached (own session, no inherited fds) so it outlives this script.
daemonize() { # daemonize LOGFILE CMD...
    "${SUDO[@]}" sh -c 'log=$1; shift; exec setsid "$@" >>"$log" 2>&1 </dev/null' sh "$@" &
}

# --- apt -------------------------------------------------------------------------------------
APT_UPDATED=0
APT_RESULT=""
apt_update_once() {
    [[ ${APT_UPDATED} -eq 1 ]] && return
    local out
    out="$("${SUDO[@]}" apt-get update -qq 2>&1)" || { printf '%s\n' "${out}" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
}
apt_install_missing() { # apt_install_missing PKG... ; sets APT_RESULT
    local missing=() p
    for p in "$@"; do
        [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] \
            || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then APT_RESULT="present"; return; fi
    apt_update_once
    local out
    out="$("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1)" \
        || { printf '%s\n' "${out}" >&2; die "apt-get install ${missing[*]} failed"; }
    APT_RESULT="installed ${missing[*]}"
}

# The Debian archive apt already uses on this machine (never a hard-coded host name).
MIRROR=""
find_mirror() {
    if [[ -n "${REPRO_DEBIAN_MIRROR:-}" ]]; then MIRROR="${REPRO_DEBIAN_MIRROR}"; return; fi
    local fmt='$(REPO_URI) $(ORIGIN) $(RELEASE)' targets try
    for try in 1 2; do
        targets="$(apt-get indextargets --format "${fmt}" 'Created-By: Packages' 2>/dev/null | sort -u || true)"
        # The main archive carrying ${SUITE} itself (not -security/-updates), else any main
        # Debian archive (a host on another release that uses the same mirror).
        MIRROR="$(awk -v s="${SUITE}" '$2=="Debian" && $3==s {print $1; exit}' <<<"${targets}")"
        [[ -n "${MIRROR}" ]] || MIRROR="$(awk '$2=="Debian" && $3 !~ /-/ {print $1; exit}' <<<"${targets}")"
        [[ -n "${MIRROR}" ]] && return
        [[ ${try} -eq 1 ]] && apt_update_once # index lists not downloaded yet
    done
    die "cannot find the Debian archive apt uses (apt-get indextargets); set REPRO_DEBIAN_MIRROR"
}

# --- 1. engine -------------------------------------------------------------------------------
start_dockerd() { # start_dockerd FLAGS... ; 0 once `docker info` answers, 1 if dockerd exited
    "${SUDO[@]}" mkdir -p "$(dirname "${DOCKERD_LOG}")"
    printf '==== %s dockerd %s\n' "$(date -u +%FT%TZ)" "$*" | "${SUDO[@]}" tee -a "${DOCKERD_LOG}" >/dev/null
    daemonize "${DOCKERD_LOG}" dockerd "$@"
    local i
    for ((i = 0; i < ENGINE_TIMEOUT * 4; i++)); do
        engine_up && return 0
        # give it a second to appear, then notice when it has died
        ((i > 4)) && ! dockerd_running && return 1
        sleep 0.25
    done
    die "dockerd did not answer within ${ENGINE_TIMEOUT} s; see ${DOCKERD_LOG}"
}

ensure_engine() {
    step "engine"
    if engine_up; then ok "reusing the engine that answers"; return; fi
    if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]]; then
        die "DOCKER_HOST=${DOCKER_HOST} does not answer; start that engine or unset DOCKER_HOST"
    fi
    if [[ -S /var/run/docker.sock && ! -w /var/run/docker.sock ]] && dockerd_running; then
        die "dockerd runs but /var/run/docker.sock is not writable by $(id -un): run as root or join the docker group"
    fi
    if dockerd_running; then # starting up, or wedged: wait for it rather than start a second one
        local i
        for ((i = 0; i < ENGINE_TIMEOUT * 4; i++)); do
            engine_up && { ok "dockerd was already starting"; return; }
            sleep 0.25
        done
        die "a dockerd process runs but does not answer after ${ENGINE_TIMEOUT} s; see ${DOCKERD_LOG}"
    fi
    local how="started dockerd"
    if ! command -v dockerd >/dev/null; then
        apt_install_missing docker.io
        how="${APT_RESULT}, ${how}"
    fi
    if [[ -n "${REPRO_DOCKERD_FLAGS:-}" ]]; then
        # shellcheck disable=SC2086
        start_dockerd ${REPRO_DOCKERD_FLAGS} || die "dockerd ${REPRO_DOCKERD_FLAGS} exited; see ${DOCKERD_LOG}"
        ok "${how} with ${REPRO_DOCKERD_FLAGS}, log ${DOCKERD_LOG}"
        return
    fi
    # Defaults first (overlay2, docker0 bridge + iptables NAT). dockerd picks vfs by itself when
    # overlayfs is unusable, but exits when iptables or bridges are unavailable (some containers and CI machines): then
    # go without them (only --network none / host work), then also force vfs. Images are stored
    # per storage driver, so a change of driver means one rebuild of the image.
    local flags nonet="--iptables=false --ip6tables=false --bridge=none"
    for flags in "" "${nonet}" "--storage-driver=vfs ${nonet}"; do
        # shellcheck disable=SC2086
        if start_dockerd ${flags}; then
            ok "${how}${flags:+ with ${flags}}, log ${DOCKERD_LOG}"
            [[ -z "${flags}" ]] || log "WARNING: default dockerd flags failed here; using: ${flags}"
            return
        fi
    done
    die "dockerd exited with every flag set tried; see ${DOCKERD_LOG}"
}

# --- tools -----------------------------------------------------------------------------------
ensure_tools() {
    step "tools (debootstrap, docker-registry, curl)"
    apt_install_missing debootstrap debian-archive-keyring docker-registry curl ca-certificates
    ok "${APT_RESULT}"
}

# --- 2. offline image ------------------------------------------------------------------------
build_image() {
    step "image ${IMAGE}"
    if [[ "${REPRO_TEST_REBUILD:-0}" != 1 ]] && docker image inspect "${IMAGE}" >/dev/null 2>&1; then
        ok "cached"
        return
    fi
    if [[ "${REPRO_TEST_REBUILD:-0}" == 1 ]]; then ok "rebuilding (REPRO_TEST_REBUILD=1)"; else ok "not built yet"; fi
    find_mirror
    local rootfs t_boot t_import
    rootfs="$(mktemp -d /var/tmp/repro-rootfs.XXXXXX)"
    # shellcheck disable=SC2064
    trap "${SUDO[*]} rm -rf '${rootfs}' '${rootfs}.log'" EXIT

    step "debootstrap --variant=minbase ${SUITE} from ${MIRROR}"
    if ! "${SUDO[@]}" debootstrap --variant=minbase --components=main --include="${PACKAGES}" \
        "${SUITE}" "${rootfs}" "${MIRROR}" >"${rootfs}.log" 2>&1; then
        tail -n 20 "${rootfs}.log" >&2
        die "debootstrap failed"
    fi
    # Drop the package cache and host-specific files copied in by debootstrap.
    "${SUDO[@]}" sh -c 'cd "$1" && rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* debootstrap &&
        : >etc/resolv.conf && : >etc/hostname' sh "${rootfs}"
    t_boot="$(since "${T_STEP}")"
    ok "done"

    step "docker import ${IMAGE}"
    "${SUDO[@]}" tar -C "${rootfs}" --numeric-owner -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --message "debootstrap --variant=minbase --include=${PACKAGES} ${SUITE}" \
        - "${IMAGE}" >/dev/null
    t_import="$(since "${T_STEP}")"
    ok "$(docker image inspect -f '{{.Size}}' "${IMAGE}" | awk '{printf "%.0f MB", $1/1e6}')"

    "${SUDO[@]}" rm -rf "${rootfs}" "${rootfs}.log"
    trap - EXIT
    log "offline image built in $(awk -v a="${t_boot}" -v b="${t_import}" 'BEGIN{printf "%.1f", a+b}') s (debootstrap ${t_boot} s + import ${t_import} s)"
}

# --- 3. registry -----------------------------------------------------------------------------
registry_status() { # HTTP status of GET /v2/ ("000" when nothing listens)
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://${REGISTRY}/v2/" || true
}

ensure_registry() {
    step "registry ${REGISTRY}"
    local code
    code="$(registry_status)"
    if [[ "${code}" == 200 ]]; then ok "reusing the registry that answers"; return; fi
    [[ "${code}" == 000 ]] || die "${REGISTRY} answers HTTP ${code} (a registry with auth, such as the packaged docker-registry service?); stop it or set REPRO_TEST_REGISTRY"
    "${SUDO[@]}" mkdir -p "${REGISTRY_DIR}/data"
    "${SUDO[@]}" tee "${REGISTRY_DIR}/config.yml" >/dev/null <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${REGISTRY_DIR}/data
  delete:
    enabled: true
http:
  addr: ${REGISTRY}
EOF
    daemonize "${REGISTRY_LOG}" docker-registry serve "${REGISTRY_DIR}/config.yml"
    local i
    for ((i = 0; i < 120; i++)); do
        [[ "$(registry_status)" == 200 ]] && { ok "started, storage ${REGISTRY_DIR}/data"; return; }
        if ((i > 4)) && ! grep -qsx docker-registry /proc/[0-9]*/comm; then
            tail -n 5 "${REGISTRY_LOG}" >&2 || true
            die "docker-registry exited; see ${REGISTRY_LOG}"
        fi
        sleep 0.25
    done
    die "docker-registry did not answer on ${REGISTRY} within 30 s; see ${REGISTRY_LOG}"
}

DIGEST=""
push_image() {
    local name="${IMAGE%:*}" tag="${IMAGE##*:}" repo known remote out
    repo="${REGISTRY}/${name}"
    step "push ${repo}:${tag}"
    repo_digest() {
        docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "${IMAGE}" \
            | awk -F@ -v r="${repo}" '$1==r && !n++ {print $2}'
    }
    # Skip the push when the registry already serves the digest the engine recorded.
    known="$(repo_digest)"
    remote="$(curl -sfI --max-time 5 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://${REGISTRY}/v2/${name}/manifests/${tag}" \
        | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}' || true)"
    if [[ -n "${known}" && "${known}" == "${remote}" ]]; then
        DIGEST="${known}"
        ok "already there"
        return
    fi
    docker tag "${IMAGE}" "${repo}:${tag}"
    out="$(docker push "${repo}:${tag}" 2>&1)" || die "docker push failed: ${out}"
    DIGEST="$(repo_digest)"
    [[ -n "${DIGEST}" ]] || die "the push recorded no digest for ${repo}"
    ok "pushed"
}

# --- check and output ------------------------------------------------------------------------
smoke_test() {
    step "smoke test: docker run --network none ${IMAGE} python -c 'import numpy'"
    local out
    out="$(docker run --rm --network none "${IMAGE}" python -c 'import numpy; print(numpy.__version__)' 2>&1)" \
        || die "container run failed: ${out}"
    ok "numpy ${out}"
}

write_env() {
    printf 'REPRO_TEST_IMAGE=%s\nREPRO_TEST_REGISTRY_IMAGE=%s\n' \
        "${IMAGE}" "${REGISTRY}/${IMAGE%:*}@${DIGEST}" >"${ENV_FILE}.tmp"
    mv "${ENV_FILE}.tmp" "${ENV_FILE}"
    log "total $(since "${T_START}") s; wrote ${ENV_FILE}"
    cat "${ENV_FILE}"
}

ensure_engine
ensure_tools
build_image
ensure_registry
push_image
smoke_test
write_env
