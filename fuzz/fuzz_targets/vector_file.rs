#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| credlab_suite::fuzzing::vector_file(data));
