#!/usr/bin/env bash
# The system packages the end-to-end tests drive, from Debian: Chromium (the hosted pages), Apache
# httpd with mod_auth_openidc and Python Authlib with requests (relying parties nobody here wrote).
# Installs the missing ones with apt-get (needs root; no questions asked, quiet) and fails loudly
# when it cannot. Installed already: does nothing.
set -euo pipefail

PACKAGES=(chromium apache2 libapache2-mod-auth-openidc python3-authlib python3-requests)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
if command -v dpkg-query >/dev/null; then
  for package in "${PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
  done
else
  missing=("${PACKAGES[@]}")
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages, and they cannot be installed here (needs root and apt-get): ${missing[*]}" >&2
  echo "install Debian's ${missing[*]}, then run the tests again" >&2
  exit 1
fi

echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# apache2's post-install script would start a system-wide Apache on port 80; the tests start their
# own. policy-rc.d (Debian's invoke-rc.d policy hook) answering 101 forbids starting services
# while we install, and is removed afterwards unless it was there before.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null

still=()
for package in "${missing[@]}"; do
  installed "$package" || still+=("$package")
done
if [ ${#still[@]} -gt 0 ]; then
  echo "apt-get did not install: ${still[*]}" >&2
  exit 1
fi
