#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| credlab_suite::fuzzing::differential_verify(data));
