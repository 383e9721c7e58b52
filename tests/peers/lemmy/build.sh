#!/usr/bin/env bash
# Build Lemmy 0.19.20, the real peer of tests/lemmy_peer.rs, once, into a
# cache outside the clone. Lemmy's source is not part of Hearth: it comes
# from the workplace's read-only ../shared/peers/ (or HEARTH_LEMMY_SOURCE)
# and is never copied into the repository.
#
# Prints the path of the built `lemmy_server` on its last line. Does
# nothing but print it when the cache already holds a build of the same
# source archive. A debug build on purpose: Lemmy's optimised builds
# refuse http:// URLs and explicit ports in federation.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
source_archive="${HEARTH_LEMMY_SOURCE:-$root/../shared/peers/lemmy-0.19.20-src.tar.gz}"
cache="${HEARTH_LEMMY_CACHE:-$HOME/.cache/hearth/lemmy-0.19.20}"

if [ ! -f "$source_archive" ]; then
    echo "ERROR: Lemmy's source archive is missing: $source_archive" >&2
    echo "Set HEARTH_LEMMY_SOURCE to lemmy-0.19.20-src.tar.gz." >&2
    exit 1
fi
stamp="$(sha256sum "$source_archive" | cut -d' ' -f1)"
binary="$cache/bin/lemmy_server"
if [ -x "$binary" ] && [ "$(cat "$cache/bin/source.sha256" 2>/dev/null)" = "$stamp" ]; then
    echo "$binary"
    exit 0
fi

# Lemmy links libpq (diesel) and needs pkg-config/OpenSSL headers.
missing=()
for package in libpq-dev libssl-dev pkg-config; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} for Lemmy's build" >&2
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$cache"
rm -rf "$cache/src"
mkdir -p "$cache/src"
tar xzf "$source_archive" -C "$cache/src"
echo "building Lemmy 0.19.20 (debug, about 25 minutes the first time on 2 cores)" >&2
(
    cd "$cache/src/lemmy"
    CARGO_TARGET_DIR="$cache/target" CARGO_TERM_COLOR=never \
        cargo build --bin lemmy_server >&2
)
mkdir -p "$cache/bin"
cp "$cache/target/debug/lemmy_server" "$binary.new"
mv "$binary.new" "$binary"
echo "$stamp" > "$cache/bin/source.sha256"
echo "$binary"
