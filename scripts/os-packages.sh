#!/usr/bin/env bash
# Install the Debian packages vnsearch needs, only those missing.
#   scripts/os-packages.sh base   -> what PyICU builds against, rsync and ssh for publish
#   scripts/os-packages.sh test   -> base + headless Chromium and its driver, HAProxy, and
#                                    an ssh server the publish tests start on 127.0.0.1
set -euo pipefail
want=(libicu-dev pkg-config rsync openssh-client)
[ "${1:-base}" = test ] && want+=(chromium chromium-driver haproxy openssh-server)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "os-packages: please install: ${missing[*]}" >&2; exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "os-packages: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
