#!/bin/sh
# Builds bench/lwip/lwipserve.c against Debian's liblwip-dev (lwIP 2.1.3) into $1 (default
# bench/build/lwipserve). Called by bench/tcpRate.ts when the binary is missing or older than its sources;
# never at npm install. Exports memp_malloc from the executable so it interposes the library's (see the
# source's header and docs/measurements.md "Linking Debian's lwIP").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../build/lwipserve"}
if [ ! -f /usr/include/lwip/lwip/init.h ]; then
  echo "lwip/build.sh: liblwip-dev is not installed (apt-get install liblwip-dev)" >&2
  exit 1
fi
if pkg-config --exists lwip 2>/dev/null; then
  cflags=$(pkg-config --cflags lwip)
  libs=$(pkg-config --libs lwip)
else
  cflags="-I/usr/include/lwip"
  libs="-llwip"
fi
mkdir -p "$(dirname "$out")"
# shellcheck disable=SC2086 # word splitting of pkg-config output is intended
cc -O2 -Wall -Wextra -Wno-unused-parameter $cflags -o "$out.tmp" "$here/lwipserve.c" $libs -ldl -pthread \
  -Wl,--export-dynamic-symbol=memp_malloc
mv "$out.tmp" "$out"
