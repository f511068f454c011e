#!/bin/sh
# install-chromium.sh: Debian's Chromium, which TestExplorerInABrowser
# drives headless, from apt only. Does nothing when it is installed
# already, since apt-get update alone takes a while; run as root.
set -eu
if [ "$(dpkg-query -W -f='${db:Status-Status}' chromium 2>/dev/null)" = installed ]; then
  echo "installed already: chromium"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
