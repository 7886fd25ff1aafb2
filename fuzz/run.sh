#!/usr/bin/env bash
# Runs one fuzz target on the stable toolchain.
#
#   fuzz/run.sh <target> [seconds] [-- extra libFuzzer flags]
#   fuzz/run.sh --list
#
# Environment:
#   FUZZ_SANITIZER  none (default: works on stable as is) or address (AddressSanitizer; needs
#                   -Zsanitizer, unlocked on stable with RUSTC_BOOTSTRAP=1, which this sets)
#   FUZZ_JOBS       libFuzzer -fork=N workers (default 1: one process)
#   FUZZ_NICE       nice level (default 10; other builds share the machine)
#
# Inputs come from fuzz/corpus/<target>/ (committed seeds, read only) and go to
# fuzz/corpus-work/<target>/ (the growing working corpus, not committed); crashes are written
# to fuzz/artifacts/<target>/ (commit the minimised ones: the replay test keeps them fixed).
# The dictionary is fuzz/dict/<target>.dict. The last lines printed are libFuzzer's final
# stats (exec/s, cov, ft).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if [[ "${1:-}" == "--list" || $# -eq 0 ]]; then
    cargo fuzz list
    [[ $# -eq 0 ]] && echo "usage: fuzz/run.sh <target> [seconds] [-- libFuzzer flags]" >&2
    exit 0
fi
target="$1"
shift
seconds=600
if [[ $# -gt 0 && "$1" != "--" ]]; then
    seconds="$1"
    shift
fi
[[ "${1:-}" == "--" ]] && shift

if ! cargo fuzz list | grep -qx "$target"; then
    echo "unknown target $target; targets: $(cargo fuzz list | tr '\n' ' ')" >&2
    exit 2
fi
command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
}

sanitizer="${FUZZ_SANITIZER:-none}"
# Each mode keeps its own build (different RUSTFLAGS would rebuild everything on a switch).
target_dir=target
case "$sanitizer" in
none) ;;
address)
    export RUSTC_BOOTSTRAP=1 # -Zsanitizer=address on the stable compiler
    target_dir=target/asan
    ;;
*)
    echo "FUZZ_SANITIZER must be none or address" >&2
    exit 2
    ;;
esac

mkdir -p "corpus/$target" "corpus-work/$target" "artifacts/$target"
flags=(
    "-max_total_time=$seconds"
    "-dict=dict/$target.dict"
    "-timeout=20"
    "-rss_limit_mb=4096"
    "-print_final_stats=1"
)
jobs="${FUZZ_JOBS:-1}"
if [[ "$jobs" -gt 1 ]]; then
    flags+=("-fork=$jobs" "-ignore_crashes=1")
fi
case "$target" in
# The PASETO provider prints each new public key on stderr (as Cargo does); keep libFuzzer's
# own output readable.
provider_request) flags+=("-close_fd_mask=2") ;;
esac

# `--debug-assertions` adds overflow checks and debug_assert!s to the release build.
exec nice -n "${FUZZ_NICE:-10}" cargo fuzz run \
    --sanitizer "$sanitizer" --release --debug-assertions --target-dir "$target_dir" \
    "$target" "corpus-work/$target" "corpus/$target" \
    -- "${flags[@]}" "$@"
