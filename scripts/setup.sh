#!/usr/bin/env bash
# One-time (and idempotent) set-up behind `npm start`, `npm test` and `npm run bench` on a fresh machine:
# Debian packages the tests and demo use (when root), node modules with the native TAP addon, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

# command-or-file → Debian package
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -e "$1" ]; }
have ip || need+=(iproute2)
have ping || need+=(iputils-ping)
have tshark || need+=(tshark)
have tcpdump || need+=(tcpdump)
have iperf3 || need+=(iperf3)
have ethtool || need+=(ethtool)
have dnsmasq || need+=(dnsmasq)
have hping3 || need+=(hping3)
have nc || need+=(netcat-openbsd)
have /usr/lib/python3/dist-packages/scapy || need+=(python3-scapy)
have /usr/include/lwip/lwip/init.h || need+=(liblwip-dev)
have cc || need+=(gcc)
have make || need+=(make)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (install them as root): ${need[*]}" >&2
  fi
fi

# node modules (npm ci also builds the native addon and compiles TypeScript through install/prepare).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f native/build/Release/walnut_tap.node ] || [ native/tap.c -nt native/build/Release/walnut_tap.node ]; then
  echo "setup: building the TAP addon"
  npm run --silent install >/dev/null
fi
npx --no-install tsc -p tsconfig.build.json
