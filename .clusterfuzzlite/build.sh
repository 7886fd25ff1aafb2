#!/bin/bash -eu
# Builds every cargo-fuzz target with the sanitizer flags ClusterFuzzLite/OSS-Fuzz set, and
# copies each binary to $OUT with its seed corpus (<t>_seed_corpus.zip) and dictionary
# (<t>.dict), the names the fuzzing infrastructure looks for.
cd "$SRC/credlab"
cargo fuzz build -O --debug-assertions
release=fuzz/target/x86_64-unknown-linux-gnu/release
for target in $(cargo fuzz list); do
    cp "$release/$target" "$OUT/"
    if [ -d "fuzz/corpus/$target" ]; then
        (cd "fuzz/corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
    fi
    if [ -f "fuzz/dict/$target.dict" ]; then
        cp "fuzz/dict/$target.dict" "$OUT/$target.dict"
    fi
done
