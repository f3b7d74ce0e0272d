#!/usr/bin/env bash
# scripts/mail-keys.sh DIR: the mail pinger's key pair and the trackers' stop-
# token secret, made with openssl where missing (never replaced):
#   DIR/pinger.key        PEM P-256 private key  -> the pinger only (pinger.privateKeyFiles)
#   DIR/pinger.pub        its public key         -> every tracker (mail.publicKeyFile)
#   DIR/mail-token.secret 32 random bytes        -> every tracker (mail.tokenSecretFile)
# For a rotation, see the README ("Rotating the mail key pair").
set -euo pipefail
dir="${1:?usage: scripts/mail-keys.sh DIR}"
mkdir -p "$dir"
if [[ ! -s "$dir/pinger.key" ]]; then
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/pinger.key" 2>/dev/null)
    rm -f "$dir/pinger.pub"
fi
[[ -s "$dir/pinger.pub" ]] || openssl pkey -in "$dir/pinger.key" -pubout -out "$dir/pinger.pub" 2>/dev/null
[[ -s "$dir/mail-token.secret" ]] || (umask 077 && openssl rand -out "$dir/mail-token.secret" 32)
