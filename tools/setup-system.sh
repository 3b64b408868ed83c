#!/usr/bin/env bash
# Install the Debian packages the test suites need, only when one is missing.
#   - shellcheck: ansible-test sanity's shellcheck test (skipped without it)
#   - libnss-myhostname: makes every *.localhost name resolve to loopback (RFC 6761),
#     which gives sandbox Key Vaults real host names
#   - nginx-light: local TLS endpoints for integration tests
set -euo pipefail

packages=(shellcheck libnss-myhostname nginx-light)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup-system: missing ${missing[*]} and not root; install them by hand" >&2
        exit 1
    fi
    echo "setup-system: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The package's postinst normally adds "myhostname"; make sure, since resolution of
# *.localhost depends on it.
if ! grep -Eq '^hosts:.*\bmyhostname\b' /etc/nsswitch.conf; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup-system: add 'myhostname' to the hosts line of /etc/nsswitch.conf" >&2
        exit 1
    fi
    sed -i -E 's/^(hosts:.*)$/\1 myhostname/' /etc/nsswitch.conf
fi
