#!/usr/bin/env bash
# Builds dirgate's GSSAPI addon (native/gssapi: MIT krb5 over N-API, for KERBEROS connections).
#
#   bash scripts/build-native.sh             build it; exit 1 with the compiler's words when it cannot
#   bash scripts/build-native.sh --optional  the same, but a machine without MIT krb5's headers gets a
#                                            notice and exit 0 (npm's postinstall: Kerberos is optional,
#                                            the other kinds of connection work without it)
#
# It needs Debian's libkrb5-dev (gssapi/gssapi.h). The test command installs it before calling this.
# node-gyp is npm's own; Node's headers come from npm's `nodedir` setting when there is one, else from
# /usr/include/node (Debian's nodejs), so nothing is downloaded. N-API is ABI-stable: an addon built
# against Node 20's headers loads in Node 24.
set -euo pipefail
cd "$(dirname "$0")/../native/gssapi"

optional=false
[ "${1:-}" = '--optional' ] && optional=true

if [ ! -f /usr/include/gssapi/gssapi.h ]; then
  if $optional; then
    echo 'dirgate: Kerberos (KERBEROS connections) not built: MIT krb5 headers missing (apt-get install libkrb5-dev, then npm run build:native)'
    exit 0
  fi
  echo 'build-native: /usr/include/gssapi/gssapi.h missing: apt-get install libkrb5-dev' >&2
  exit 1
fi

gyp="${npm_config_node_gyp:-}"
if [ -z "$gyp" ] || [ ! -f "$gyp" ]; then
  gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
fi
nodedir="$(npm config get nodedir 2>/dev/null || true)"
if [ -z "$nodedir" ] || [ "$nodedir" = 'undefined' ] || [ "$nodedir" = 'null' ]; then
  nodedir=/usr
fi

log=$(mktemp)
if ! node "$gyp" rebuild --nodedir="$nodedir" >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo 'build-native: the GSSAPI addon did not build (output above)' >&2
  $optional && exit 0
  exit 1
fi
rm -f "$log"
# Built is not enough: it must load in the Node that runs the gateway (this PATH's node: npm puts the
# project's Node 24 first).
if ! node -e 'require("./build/Release/dirgate_gssapi.node")'; then
  echo 'build-native: the GSSAPI addon built but does not load' >&2
  $optional && exit 0
  exit 1
fi
echo "dirgate: Kerberos support built (native/gssapi, $(node --version))"
