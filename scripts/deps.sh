#!/usr/bin/env bash
# Installs every Debian package Lookout needs to build, run and test.
# Quick when everything is already there: apt is only touched for missing packages.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake pkg-config
  libzmq3-dev libczmq-dev libmsgpack-dev libpq-dev libcurl4-openssl-dev libcmocka-dev
  libmicrohttpd-dev libjansson-dev libyaml-dev librdkafka-dev libsqlite3-dev libjwt-dev
  libssl-dev libmimalloc-dev
  postgresql supervisor sqlite3 python3 curl
  prometheus prometheus-alertmanager
  python3-aiosmtpd
  python3-yaml
  chromium
  clang libclang-rt-dev
)

missing=()
for package in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; check the status line.
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo -E)
fi

echo "deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
