#!/usr/bin/env bash
# Supply chain: cargo-deny against deny.toml (advisories, licences, duplicate
# majors, sources), offline, on a local copy of the RustSec advisory
# database. Run by .ci/run; run it by hand the same way.
#
#   HEARTH_ADVISORY_DB   the database's git checkout
#                        (default: $HOME/.cache/hearth/advisory-db)
#
# The database is updated from GitHub when GitHub answers, and used as it
# is when not; with no database at all this fails: advisories must be
# checked. cargo-deny itself is installed into $HOME/.cache/hearth/tools
# when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
tools="$HOME/.cache/hearth/tools"
db="${HEARTH_ADVISORY_DB:-$HOME/.cache/hearth/advisory-db}"
upstream=https://github.com/rustsec/advisory-db
export PATH="$tools/bin:$PATH"

if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $version"; then
    echo "installing cargo-deny $version into $tools"
    cargo install --locked --quiet cargo-deny --version "$version" --root "$tools"
fi

if git -C "$db" rev-parse --git-dir >/dev/null 2>&1; then
    if timeout 30 git -C "$db" fetch --quiet "$upstream" main 2>/dev/null; then
        git -C "$db" reset --quiet --hard FETCH_HEAD
        echo "advisory database updated from $upstream"
    else
        echo "advisory database: $upstream unreachable; using the copy at $db as it is"
    fi
elif timeout 120 git clone --quiet "$upstream" "$db" 2>/dev/null; then
    echo "advisory database cloned from $upstream"
else
    echo "ERROR: no RustSec advisory database at $db, and $upstream is unreachable." >&2
    echo "Put a git checkout of the advisory database there (or set HEARTH_ADVISORY_DB)." >&2
    exit 1
fi
echo "advisory database at $db: last commit $(git -C "$db" log -1 --format='%cI (%h)')"

# cargo-deny looks for each database in a folder named after its URL under
# db-path (deny.toml: $HOME/.cache/hearth/advisory-dbs); this name is the
# one it gives the default RustSec URL.
dbs="$HOME/.cache/hearth/advisory-dbs"
mkdir -p "$dbs"
ln -sfn "$db" "$dbs/advisory-db-3157b0e258782691"

# cargo-deny reads the whole dependency graph, every platform's crates
# included (windows-sys and the like, which a Linux build never downloads),
# and runs offline: fetch them all first, from Cargo.lock.
cargo fetch --locked --quiet

cargo deny --offline --locked check
