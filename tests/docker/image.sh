#!/usr/bin/env bash
# Builds the Docker runtime tests' image from busybox's static binary (no
# registry is needed): `ecs-bridge-test/busybox:2`, with a shell, `httpd`
# serving /www (index.html says "hello from ecs-bridge"), `wget` and `nc`
# (with the /etc/services and /etc/protocols that static busybox's resolver
# reads: without them `wget` segfaults), `sleep` and friends.
# Idempotent: an existing image is kept (a change of content bumps the tag).
set -euo pipefail
image="${1:-ecs-bridge-test/busybox:2}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi
busybox="$(command -v busybox || true)"
[[ -n "$busybox" ]] || { echo "busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'dynamically' && { echo "$busybox is not static (apt-get install busybox-static)" >&2; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for applet in sh httpd sleep echo cat ls env wget nc true false kill ps id grep ip hostname; do
  ln -s busybox "$root/bin/$applet"
done
echo "hello from ecs-bridge" > "$root/www/index.html"
printf 'ip\t0\tIP\ntcp\t6\tTCP\nudp\t17\tUDP\n' > "$root/etc/protocols"
printf 'http\t\t80/tcp\nhttps\t\t443/tcp\n' > "$root/etc/services"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo "$image"
