#!/usr/bin/env python3
"""Seal a mail account for Beacon's tracker, on the device's side.

Prints the `v1.<keyId>.<enc>.<ct>` string that POST /v1/mail/register takes
as `account.sealed`, so that the tracker never sees the password: HPKE base
mode (RFC 9180), DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, info
"beacon mail credentials v1", the app's name as associated data. Only the
pinger's private key opens it.

    .deps/venv/bin/python scripts/seal-mail-account.py \\
        --key http://127.0.0.1:8080/v1/mail/key --app demo \\
        --host imap.example.com --username me@example.com --password-env MAIL_PASSWORD

The key is the tracker's GET /v1/mail/key answer (a URL, a file, or - for
stdin). The password (or OAuth2 access token) is best passed in the
environment or typed at the prompt, not on the command line. Needs pyhpke
(scripts/install-deps.sh installs it into .deps/venv).
"""

import argparse
import base64
import getpass
import hashlib
import json
import os
import sys
import urllib.request

INFO = b"beacon mail credentials v1"
SUITE = ("DHKEM(P-256, HKDF-SHA256)", "HKDF-SHA256", "AES-256-GCM")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_key(source: str) -> dict:
    if source == "-":
        text = sys.stdin.read()
    elif source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as reply:
            text = reply.read().decode("utf-8")
    else:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    key = json.loads(text)
    if not isinstance(key, dict) or "publicKeyRaw" not in key or "keyId" not in key:
        raise SystemExit("the key must be the JSON of GET /v1/mail/key (with keyId and publicKeyRaw)")
    suite = (key.get("kem"), key.get("kdf"), key.get("aead"))
    if suite != SUITE:
        raise SystemExit(f"the tracker names the suite {suite}; this tool seals with {SUITE}")
    if key.get("info", INFO.decode()) != INFO.decode():
        raise SystemExit(f"the tracker names info {key.get('info')!r}; this tool uses {INFO.decode()!r}")
    return key


def seal(key: dict, app: str, plaintext: bytes) -> str:
    from pyhpke import AEADId, CipherSuite, KDFId, KEMId

    raw = b64url_decode(key["publicKeyRaw"])
    key_id = hashlib.sha256(raw).digest()[:8].hex()
    if key_id != key["keyId"]:
        raise SystemExit(f"publicKeyRaw has key id {key_id}, not the {key['keyId']} the tracker names")
    suite = CipherSuite.new(KEMId.DHKEM_P256_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
    recipient = suite.kem.deserialize_public_key(raw)
    enc, sender = suite.create_sender_context(recipient, info=INFO)
    ciphertext = sender.seal(plaintext, aad=app.encode("utf-8"))
    return ".".join(["v1", key_id, b64url_encode(enc), b64url_encode(ciphertext)])


def account_from(args: argparse.Namespace) -> dict:
    if args.account_json:
        with (sys.stdin if args.account_json == "-" else open(args.account_json, encoding="utf-8")) as handle:
            account = json.load(handle)
        if not isinstance(account, dict):
            raise SystemExit("--account-json must hold a JSON object")
        return account
    missing = [name for name in ("host", "username") if not getattr(args, name)]
    if missing:
        raise SystemExit("missing " + ", ".join("--" + name for name in missing) + " (or give --account-json)")
    tls = args.tls
    account = {"host": args.host, "port": args.port or (993 if tls == "implicit" else 143), "tls": tls, "username": args.username}
    if args.xoauth2_env:
        token = os.environ.get(args.xoauth2_env)
        if not token:
            raise SystemExit(f"${args.xoauth2_env} is empty")
        account["xoauth2"] = token
    else:
        password = os.environ.get(args.password_env) if args.password_env else args.password
        if args.password_env and not password:
            raise SystemExit(f"${args.password_env} is empty")
        if password is None:
            password = getpass.getpass(f"IMAP password for {args.username}: ")
        account["password"] = password
    account["mailbox"] = args.mailbox
    return account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key", required=True, help="GET /v1/mail/key's JSON: a URL, a file, or - for stdin")
    parser.add_argument("--app", required=True, help="the app name the write key belongs to (the associated data)")
    parser.add_argument("--host", help="IMAP server host name")
    parser.add_argument("--port", type=int, help="IMAP port (default 993 for implicit TLS, 143 otherwise)")
    parser.add_argument("--tls", choices=["implicit", "starttls", "none"], default="implicit")
    parser.add_argument("--username")
    parser.add_argument("--password", help="the password (visible in the process list: prefer --password-env or the prompt)")
    parser.add_argument("--password-env", metavar="NAME", help="read the password from this environment variable")
    parser.add_argument("--xoauth2-env", metavar="NAME", help="read an OAuth2 access token (instead of a password) from this variable")
    parser.add_argument("--mailbox", default="INBOX")
    parser.add_argument("--account-json", metavar="FILE", help="seal this account JSON object as it is (- for stdin)")
    args = parser.parse_args()
    key = load_key(args.key)
    plaintext = json.dumps(account_from(args), separators=(",", ":")).encode("utf-8")
    print(seal(key, args.app, plaintext))


if __name__ == "__main__":
    main()
