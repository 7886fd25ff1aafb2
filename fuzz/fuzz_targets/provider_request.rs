#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| credlab_runners::fuzzing::provider_request(data));
