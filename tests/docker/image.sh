#!/usr/bin/env bash
# Builds the Docker runtime tests' image from busybox's static binary (no
# registry is needed): `ecs-bridge-test/busybox:1`, with a shell, `httpd`
# serving /www (index.html says "hello from ecs-bridge"), `sleep` and friends.
# Idempotent: an existing image is kept.
set -euo pipefail
image="${1:-ecs-bridge-test/busybox:1}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi
busybox="$(command -v busybox || true)"
[[ -n "$busybox" ]] || { echo "busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'dynamically' && { echo "$busybox is not static (apt-get install busybox-static)" >&2; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/www" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in sh httpd sleep echo cat ls env wget true false kill ps id; do
  ln -s busybox "$root/bin/$applet"
done
echo "hello from ecs-bridge" > "$root/www/index.html"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo "$image"
