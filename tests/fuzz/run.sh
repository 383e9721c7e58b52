#!/usr/bin/env bash
# Fuzz Hearth's untrusted-input parsers for a bounded time (issue 16):
# each cargo-fuzz target of tests/fuzz runs for HEARTH_FUZZ_SECS seconds on
# a corpus kept outside the repository, seeded from tests/fuzz/seeds, the
# inputs that once failed (tests/fuzz/regressions) and the project's
# fixtures. Each run starts again from those seeds, so that two runs of
# the same commit fuzz from the same place (a corpus grown by an earlier
# run, perhaps of an older commit, is thrown away first); set
# HEARTH_FUZZ_KEEP_CORPUS=1 to keep growing it instead, for long runs by
# hand. Fails (exit 1) when a target crashes, naming the input that
# crashed it. tests/run calls it after the whole suite.
#
#   tests/fuzz/run.sh                      every target
#   tests/fuzz/run.sh markdown webfinger_resource
#                                          the targets named
#
# A crash found becomes a regression test: copy the input into
# tests/fuzz/regressions/<target>/ (the crates' tests replay every file
# there through the same function the target calls), fix the bug, commit
# both.
#
# Environment:
#   HEARTH_FUZZ_SECS        seconds per target (default 20)
#   HEARTH_FUZZ_WORK        the corpora and crash inputs (default
#                           $HOME/.cache/hearth/fuzz)
#   HEARTH_FUZZ_KEEP_CORPUS 1 to go on from the corpus an earlier run grew
#                           (default: start from the seeds each time)
#   HEARTH_FUZZ_TARGET_DIR  where the nightly, sanitised builds go (default
#                           $HOME/.cache/hearth/target-fuzz; never the stable
#                           CARGO_TARGET_DIR, with which they share nothing)
#
# Needs a nightly toolchain (installed with rustup when missing) and
# cargo-fuzz (installed into $HOME/.cache/hearth/tools when missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

say() { printf 'tests/fuzz/run.sh: %s\n' "$*" >&2; }
fail() {
    printf 'tests/fuzz/run.sh: ERROR: %s\n' "$*" >&2
    exit 1
}

all_targets=(signature_cavage signature_rfc9421 inbound_activity markdown webfinger_resource)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [ -f "tests/fuzz/fuzz_targets/$target.rs" ] ||
        fail "no fuzz target '$target' (there are: ${all_targets[*]})"
done
secs="${HEARTH_FUZZ_SECS:-20}"
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || fail "HEARTH_FUZZ_SECS must be a number of seconds, not '$secs'"
work="${HEARTH_FUZZ_WORK:-$HOME/.cache/hearth/fuzz}"
keep="${HEARTH_FUZZ_KEEP_CORPUS:-0}"
[ "$keep" = 0 ] || [ "$keep" = 1 ] || fail "HEARTH_FUZZ_KEEP_CORPUS must be 0 or 1, not '$keep'"
export CARGO_TARGET_DIR="${HEARTH_FUZZ_TARGET_DIR:-$HOME/.cache/hearth/target-fuzz}"

# ---- tools --------------------------------------------------------------
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    say "installing a nightly toolchain (cargo-fuzz needs one)"
    rustup toolchain install nightly --profile minimal >/dev/null
fi
tools="$HOME/.cache/hearth/tools"
export PATH="$tools/bin:$PATH"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz into $tools"
    cargo install --locked cargo-fuzz --version 0.13.2 --root "$tools" --quiet
fi

# ---- corpora ------------------------------------------------------------
# Copied, never linked: libFuzzer adds what it finds to the corpus it runs
# on, and that must not land in the repository.
seed() {
    local target="$1" corpus="$2"
    [ "$keep" = 1 ] || rm -rf "$corpus"
    mkdir -p "$corpus"
    local dir
    for dir in "tests/fuzz/seeds/$target" "tests/fuzz/regressions/$target"; do
        [ -d "$dir" ] || continue
        find "$dir" -maxdepth 1 -type f ! -name README.md -exec cp -f {} "$corpus/" \;
    done
    case "$target" in
    inbound_activity)
        # Other servers' activities, as kept for the tests.
        local fixture
        for fixture in tests/fixtures/*/*.json; do
            cp -f "$fixture" "$corpus/fixture-$(basename "$(dirname "$fixture")")-$(basename "$fixture")"
        done
        ;;
    markdown)
        # One XSS payload a file, the list the sanitiser's tests read.
        local n=0 line
        while IFS= read -r line; do
            n=$((n + 1))
            [ -n "$line" ] && printf '%s' "$line" >"$corpus/xss-$n"
        done <crates/hearth-domain/tests/xss_payloads.txt
        ;;
    esac
}

# ---- fuzzing ------------------------------------------------------------
say "building the fuzz targets (nightly, address sanitiser, debug assertions)"
cargo +nightly fuzz build --fuzz-dir tests/fuzz

stamp="$(date +%Y%m%d-%H%M%S)"
crashed=()
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    artifacts="$work/artifacts/$target/$stamp"
    seed "$target" "$corpus"
    mkdir -p "$artifacts"
    say "fuzzing $target for ${secs}s ($(find "$corpus" -type f | wc -l) inputs in $corpus)"
    log="$artifacts/fuzz.log"
    if cargo +nightly fuzz run --fuzz-dir tests/fuzz "$target" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        say "$target: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?') runs, no crash"
    else
        input="$(find "$artifacts" -maxdepth 1 -type f ! -name fuzz.log | head -n 1)"
        tail -n 40 "$log" >&2
        say "$target CRASHED on ${input:-an input it did not write (see $log)}"
        say "  replay: cargo +nightly fuzz run --fuzz-dir tests/fuzz $target ${input:-}"
        say "  keep it: cp ${input:-INPUT} tests/fuzz/regressions/$target/ and fix the bug"
        crashed+=("$target")
    fi
done

if [ "${#crashed[@]}" -gt 0 ]; then
    fail "fuzzing found crashes in: ${crashed[*]}"
fi
say "fuzzing found no crash (${#targets[@]} targets, ${secs}s each)"
