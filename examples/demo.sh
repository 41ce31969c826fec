#!/usr/bin/env bash
# skiff's demo (`make demo`): a real Debian base, a Node image and a Node web app, all built
# by skiff, then run, fetched from, changed, rebuilt from the cache, and cleaned up.
#
#   1. debootstrap --variant=minbase bookworm from the host's Debian mirror (cached under
#      .cache/demo/ so a second run skips it), imported with `skiff import`
#   2. skiff build examples/node18      (apt-get install nodejs npm)
#   3. skiff build examples/node-app    (npm ci; the host's CA bundle goes in as a secret so
#      npm verifies the TLS-re-signing proxy's certificates; verification stays on)
#   4. skiff run -d the app (host network), curl a page
#   5. change one source file, rebuild (cache hits up to npm ci), run again, curl
#   6. clean up the containers and the app image
#
# State lives in .cache/demo/root (SKIFF_ROOT) unless SKIFF_ROOT is set.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
CACHE=$REPO/.cache/demo
mkdir -p "$CACHE"
export SKIFF_ROOT=${SKIFF_ROOT:-$CACHE/root}
SKIFF=${SKIFF:-skiff}
CA=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# --- 1. the Debian base -------------------------------------------------------------------
mirror() {
  # The host's configured Debian mirror (deb822 .sources or one-line sources.list).
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$m" ]; then
    m=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '{for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -v security | head -n1 || true)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

ROOTFS_TAR=$CACHE/bookworm-minbase.tar
if [ ! -s "$ROOTFS_TAR" ]; then
  MIRROR=$(mirror)
  say "debootstrap --variant=minbase bookworm from $MIRROR (cached in $ROOTFS_TAR)"
  tmp=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  debootstrap --variant=minbase bookworm "$tmp/rootfs" "$MIRROR"
  # the mirror apt inside the image will use, and no caches in the image
  echo "deb $MIRROR bookworm main" > "$tmp/rootfs/etc/apt/sources.list"
  rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner --xattrs -C "$tmp/rootfs" -cf "$ROOTFS_TAR.part" .
  mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
  rm -rf "$tmp"; trap - EXIT
fi
if ! $SKIFF image inspect skiff-demo/debian:bookworm >/dev/null 2>&1; then
  say "skiff import $ROOTFS_TAR skiff-demo/debian:bookworm"
  $SKIFF import "$ROOTFS_TAR" skiff-demo/debian:bookworm
fi

# --- 2. Node 18 on it ---------------------------------------------------------------------
say "skiff build -t skiff-demo/node:18 examples/node18"
$SKIFF build --progress plain -t skiff-demo/node:18 "$HERE/node18"

# --- 3. the app ---------------------------------------------------------------------------
APP=$CACHE/node-app          # a working copy: the demo edits a source file in it
rm -rf "$APP"; cp -a "$HERE/node-app" "$APP"
say "skiff build -t skiff-demo/node-app:1 (npm ci with the host CA bundle as a secret)"
$SKIFF build --progress plain -t skiff-demo/node-app:1 --secret "id=cacert,src=$CA" "$APP"
$SKIFF history skiff-demo/node-app:1 || true

# --- 4. run it ----------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NAME=skiff-demo-app-$$
cleanup() {
  $SKIFF rm -f "$NAME" >/dev/null 2>&1 || true
  $SKIFF rm -f "$NAME-2" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fetch() {  # fetch URL, retrying while the app starts
  for _ in $(seq 1 50); do
    if out=$(curl -fsS "$1" 2>/dev/null); then printf '%s\n' "$out"; return 0; fi
    sleep 0.2
  done
  echo "no answer from $1" >&2; return 1
}
say "skiff run -d --network host -e PORT=$PORT skiff-demo/node-app:1"
$SKIFF run -d --name "$NAME" --network host -e "PORT=$PORT" skiff-demo/node-app:1
fetch "http://127.0.0.1:$PORT/"
fetch "http://127.0.0.1:$PORT/health"
$SKIFF logs "$NAME" || true

# --- 5. change one file, rebuild from the cache --------------------------------------------
say "change lib/greeting.js and rebuild: FROM..RUN npm ci come from the cache"
sed -i "s/Hello from skiff!/Hello again, rebuilt by skiff at $(date +%T)!/" "$APP/lib/greeting.js"
$SKIFF build --progress plain -t skiff-demo/node-app:1 --secret "id=cacert,src=$CA" "$APP"
$SKIFF rm -f "$NAME" >/dev/null
$SKIFF run -d --name "$NAME-2" --network host -e "PORT=$PORT" skiff-demo/node-app:1
fetch "http://127.0.0.1:$PORT/"

# --- 6. clean up ----------------------------------------------------------------------------
say "clean up"
cleanup
trap - EXIT
$SKIFF rmi skiff-demo/node-app:1 >/dev/null
say "demo done (base images and build cache kept in $SKIFF_ROOT for the next run)"
