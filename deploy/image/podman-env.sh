# Sourced by the image scripts: the container tools and the flags that make them work on a machine
# without a container engine (vfs storage, runc, cgroupfs, host network) and without ulimit
# defaults the kernel refuses.

STORAGE_FLAGS=(--storage-driver vfs)
# podman's global flags for running containers here.
PODMAN_FLAGS=(--storage-driver vfs --runtime runc --cgroup-manager cgroupfs)

_conf_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.run/image"
mkdir -p "$_conf_dir"
printf '[containers]\ndefault_ulimits = []\n' >"$_conf_dir/containers.conf"
export CONTAINERS_CONF="$_conf_dir/containers.conf"

# Installs buildah, podman and runc from the distribution's packages when one is missing.
ensure_container_tools() {
  local missing=()
  for tool in buildah podman runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "[image] missing ${missing[*]} and no apt-get: install buildah, podman and runc" >&2
    return 1
  fi
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo -n)
  echo "[image] installing ${missing[*]} from the distribution's packages" >&2
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    buildah podman runc >&2
}
