#!/usr/bin/env bash
# Installs exactly the Debian packages Comptoir needs to build and test, and nothing when they
# are all present already. Runs as root, or through sudo when it is available.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsodium-dev libsqlcipher-dev libcpp-httplib-dev libssl-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev
)
# Browser tests (headless Chromium driven by playwright-core) need these too.
if [ "${COMPTOIR_WITH_BROWSER:-0}" = "1" ]; then
  packages+=(chromium nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from another repository on the machine; only ask apt when the commands
# are really absent.
if [ "${COMPTOIR_WITH_BROWSER:-0}" = "1" ]; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 || filtered+=("$p") ;;
      npm) command -v npm >/dev/null 2>&1 || filtered+=("$p") ;;
      *) filtered+=("$p") ;;
    esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root or install sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
