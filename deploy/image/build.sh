#!/usr/bin/env bash
# Builds the product image (Containerfile) with buildah and prints its reference.
#   deploy/image/build.sh [--tag REF] [--base IMAGE] [--local-base]
# --base IMAGE   base image (default: the Containerfile's, the official Node 24 slim image)
# --local-base   assemble the base here instead of pulling one: the Node 24 binary of the pinned
#                `node` package plus the shared libraries it links, as localhost/ehrflow-node-base
#                (default when EHRFLOW_IMAGE_LOCAL_BASE=1, as on machines that cannot pull)
# Installs buildah, podman and runc from Debian's packages when they are missing (needs root).
# Storage: vfs, cached in the default container storage; unchanged layers are reused, and images a
# rebuild replaced are pruned.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

TAG="localhost/ehrflow:dev"
BASE=""
LOCAL_BASE="${EHRFLOW_IMAGE_LOCAL_BASE:-0}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) TAG="$2"; shift 2 ;;
    --base) BASE="$2"; shift 2 ;;
    --local-base) LOCAL_BASE=1; shift ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 64 ;;
  esac
done

# shellcheck source=deploy/image/podman-env.sh
source deploy/image/podman-env.sh
ensure_container_tools

log() { echo "[image] $*" >&2; }

# --- base image assembled locally: node + its shared libraries + a non-root user -------------
NODE_BIN="$ROOT/node_modules/node/bin/node"
if [[ "$LOCAL_BASE" == 1 && -z "$BASE" ]]; then
  [[ -x "$NODE_BIN" ]] || { echo "node_modules/node/bin/node missing: run npm ci first" >&2; exit 1; }
  node_version=$("$NODE_BIN" --version)
  libs=$(ldd "$NODE_BIN" | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | sort -u)
  base_id=$( (echo "$node_version"; for l in $libs; do sha256sum "$(readlink -f "$l")"; done) | sha256sum | cut -c1-12)
  BASE="localhost/ehrflow-node-base:${node_version#v}-$base_id"
  if ! buildah "${STORAGE_FLAGS[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
    log "assembling base $BASE"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    chmod 755 "$rootfs"
    mkdir -p "$rootfs"/{usr/local/bin,etc,tmp,app}
    chmod 1777 "$rootfs/tmp"
    cp "$NODE_BIN" "$rootfs/usr/local/bin/node"
    for l in $libs; do
      mkdir -p "$rootfs$(dirname "$l")"
      cp "$(readlink -f "$l")" "$rootfs$l"
    done
    # Debian keeps libraries under /usr/lib with /lib a symlink; the loader path is /lib64.
    printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:ehrflow:/app:/sbin/nologin\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\napp:x:10001:\n' >"$rootfs/etc/group"
    printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
      podman "${STORAGE_FLAGS[@]}" import --quiet - "$BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
  fi
fi

# --- build context: production dependencies and the code, without tests ---------------------
CONTEXT="$ROOT/.run/image/context"
mkdir -p "$CONTEXT/app" "$CONTEXT/node_modules"
mapfile -t services < <(for d in services/*/; do [[ -f "$d/src/main.ts" ]] && echo "${d%/}"; done)
workspace_flags=()
for s in "${services[@]}"; do workspace_flags+=(-w "$s"); done
# Every package the services need at run time (dev dependencies omitted), as paths.
mapfile -t deps < <(npm ls --omit=dev --all --parseable "${workspace_flags[@]}" 2>/dev/null |
  sed -n "s#^$ROOT/node_modules/##p" | sort -u)
third_party=()
workspaces=()
for dep in "${deps[@]}"; do
  if [[ -L "node_modules/$dep" ]]; then
    workspaces+=("$(realpath --relative-to="$ROOT" "node_modules/$dep")")
  else
    third_party+=("$dep")
  fi
done
printf '%s\n' "${third_party[@]}" >"$ROOT/.run/image/third-party.txt"
rsync -a --delete --delete-excluded --files-from=<(printf '%s/\n' "${third_party[@]}") -r \
  "$ROOT/node_modules/" "$CONTEXT/node_modules/"
# Workspace links live in the app layer so that the third-party layer stays cached.
app_files=(package.json schemas deploy/image/entrypoint.ts deploy/topics)
for w in "${workspaces[@]}"; do app_files+=("$w/package.json" "$w/src"); done
rsync -a --delete --delete-excluded -R \
  --exclude='*.test.ts' --exclude='*.int.test.ts' --exclude='*.fixture.ts' --exclude='testing/' \
  "${app_files[@]}" "$CONTEXT/app/"
mkdir -p "$CONTEXT/app/node_modules/@ehrflow"
find "$CONTEXT/app/node_modules/@ehrflow" -mindepth 1 -maxdepth 1 -delete
for dep in "${deps[@]}"; do
  [[ -L "node_modules/$dep" ]] && cp -P "node_modules/$dep" "$CONTEXT/app/node_modules/$dep"
done
log "context: ${#services[@]} services, ${#workspaces[@]} workspaces, ${#third_party[@]} packages ($(du -sh "$CONTEXT" | cut -f1))"

# --- build ---------------------------------------------------------------------------------------
version=$(git describe --tags --always 2>/dev/null || echo 0.0.0)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git remote get-url origin 2>/dev/null || echo ehrflow)
build_args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url")
# The same three as labels of the final image too: with --layers, buildah may reuse the cached
# LABEL layer of an earlier build whose build arguments differed, and the image would name the
# revision of that earlier build.
build_args+=(--label "org.opencontainers.image.version=$version" --label "org.opencontainers.image.revision=$revision"
  --label "org.opencontainers.image.source=$source_url")
[[ -n "$BASE" ]] && build_args+=(--build-arg "BASE_IMAGE=$BASE")
buildah "${STORAGE_FLAGS[@]}" bud --layers --quiet --isolation chroot --pull=never \
  "${build_args[@]}" -f "$ROOT/Containerfile" -t "$TAG" "$CONTEXT" >/dev/null
# vfs stores every layer as a full copy: drop the images this build replaced (untagged, no
# children). The cached dependency layer is a parent of the new image and stays.
podman "${STORAGE_FLAGS[@]}" image prune --force >/dev/null 2>&1 || true
log "built $TAG ($(podman "${STORAGE_FLAGS[@]}" image inspect --format '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$TAG"
