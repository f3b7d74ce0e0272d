#!/usr/bin/env bash
# `make settings-table`: writes every service's configuration table (from its
# Settings type, `beacon-<service> --settings-table`) into README.md between
# the settings markers. A test fails while the README is stale.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN_DIR="$(swift build --show-bin-path)"
tables="$(for service in tracker enricher consumers pusher liveview pinger; do
    "$BIN_DIR/beacon-$service" --settings-table
    echo
done)"
TABLES="$tables" python3 - "$ROOT/README.md" <<'PY'
import os, re, sys
path = sys.argv[1]
text = open(path).read()
new = "<!-- settings:begin -->\n" + os.environ["TABLES"].strip() + "\n<!-- settings:end -->"
text, count = re.subn(r"<!-- settings:begin -->.*?<!-- settings:end -->", lambda _: new, text, flags=re.S)
if count != 1:
    sys.exit("README.md has no settings markers")
open(path, "w").write(text)
PY
echo "README.md: configuration tables written"
