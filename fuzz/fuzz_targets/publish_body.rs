#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| credlab_runners::fuzzing::publish_body(data));
