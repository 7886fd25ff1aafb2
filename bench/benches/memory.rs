//! Memory retained per cached key in a `KeyStore` (the verifier's key cache).
//!
//! Three independent figures, for 1, 1 000 and 10 000 keys:
//! - Rust heap: a counting `#[global_allocator]` (bytes requested, live);
//! - AWS-LC heap: AWS-LC allocates with its own `OPENSSL_malloc` (→ libc `malloc`), which a
//!   Rust global allocator never sees, and aws-lc-rs exposes no allocator hook or statistics.
//!   AWS-LC itself has `CRYPTO_set_mem_functions` (reached through aws-lc-sys, the crate
//!   aws-lc-rs links), so this bench installs counting hooks before anything touches AWS-LC.
//!   The hooks keep AWS-LC's own 8-byte size prefix, so the footprint matches the default path;
//! - libc view: glibc `mallinfo2()` in-use bytes (Rust's `System` allocator and AWS-LC both end
//!   in glibc malloc; includes malloc's per-chunk overhead), and the process RSS delta from
//!   `/proc/self/statm` for 10 000 keys (page-granular, includes allocator slack).
//!
//! Output: JSON lines on stdout, also written to `<target>/criterion/credlab-memory.json`.
//! Without `--bench` (e.g. `cargo test --benches`) it runs a quick smoke check and writes
//! nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_char, c_int, c_void};
use std::fs;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use credlab_bench::Fixture;
use credlab_suite::Backend;
use credlab_suite::keys::PublicKey;
use credlab_suite::registry::{ContentKey, ReplayGuard};
use credlab_suite::verify::{KeyRecord, KeyStore, SignedContent, Verifier};
use p384::elliptic_curve::sec1::ToSec1Point;

// ---- Rust heap -------------------------------------------------------------------------------

struct Counting;

static RUST_LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static RUST_LIVE_BLOCKS: AtomicI64 = AtomicI64::new(0);
static RUST_ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            RUST_LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
            RUST_LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
            RUST_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            RUST_LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
            RUST_LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
            RUST_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        RUST_LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        RUST_LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            RUST_LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
            RUST_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---- AWS-LC heap -----------------------------------------------------------------------------

static LC_LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LC_LIVE_BLOCKS: AtomicI64 = AtomicI64::new(0);
static LC_ALLOCS: AtomicU64 = AtomicU64::new(0);

/// AWS-LC's default `OPENSSL_malloc` stores the size in an 8-byte prefix; so do the hooks.
const PREFIX: usize = 8;

unsafe extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

unsafe extern "C" fn lc_malloc(size: usize, _file: *const c_char, _line: c_int) -> *mut c_void {
    let Some(total) = size.checked_add(PREFIX) else {
        return std::ptr::null_mut();
    };
    let base = unsafe { malloc(total) };
    if base.is_null() {
        return base;
    }
    unsafe { base.cast::<usize>().write(size) };
    LC_LIVE_BYTES.fetch_add(size as i64, Ordering::Relaxed);
    LC_LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
    LC_ALLOCS.fetch_add(1, Ordering::Relaxed);
    unsafe { base.cast::<u8>().add(PREFIX).cast() }
}

unsafe extern "C" fn lc_free(ptr: *mut c_void, _file: *const c_char, _line: c_int) {
    if ptr.is_null() {
        return;
    }
    let base = unsafe { ptr.cast::<u8>().sub(PREFIX) };
    let size = unsafe { base.cast::<usize>().read() };
    LC_LIVE_BYTES.fetch_sub(size as i64, Ordering::Relaxed);
    LC_LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    unsafe { free(base.cast()) };
}

unsafe extern "C" fn lc_realloc(
    ptr: *mut c_void,
    size: usize,
    file: *const c_char,
    line: c_int,
) -> *mut c_void {
    if ptr.is_null() {
        return unsafe { lc_malloc(size, file, line) };
    }
    let Some(total) = size.checked_add(PREFIX) else {
        return std::ptr::null_mut();
    };
    let base = unsafe { ptr.cast::<u8>().sub(PREFIX) };
    let old = unsafe { base.cast::<usize>().read() };
    let new_base = unsafe { realloc(base.cast(), total) };
    if new_base.is_null() {
        return new_base;
    }
    unsafe { new_base.cast::<usize>().write(size) };
    LC_LIVE_BYTES.fetch_add(size as i64 - old as i64, Ordering::Relaxed);
    LC_ALLOCS.fetch_add(1, Ordering::Relaxed);
    unsafe { new_base.cast::<u8>().add(PREFIX).cast() }
}

/// Installs the hooks; false if AWS-LC refused (it allows this once, before any allocation).
fn hook_aws_lc() -> bool {
    unsafe {
        aws_lc_sys::CRYPTO_set_mem_functions(Some(lc_malloc), Some(lc_realloc), Some(lc_free)) == 1
    }
}

// ---- libc view -------------------------------------------------------------------------------

/// glibc's `struct mallinfo2` (all `size_t`).
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

unsafe extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Bytes glibc malloc has handed out and not had back (all arenas, chunk overhead included).
fn malloc_in_use() -> i64 {
    let info = unsafe { mallinfo2() };
    (info.uordblks + info.hblkhd) as i64
}

/// Resident set size from `/proc/self/statm` (second field, in pages).
fn rss_bytes() -> Option<i64> {
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

// `c_long` is `i64` on 64-bit Linux only.
#[allow(clippy::useless_conversion)]
fn page_size() -> i64 {
    unsafe extern "C" {
        fn sysconf(name: c_int) -> std::ffi::c_long;
    }
    const SC_PAGESIZE: c_int = 30; // Linux
    i64::from(unsafe { sysconf(SC_PAGESIZE) })
}

// ---- the measurement -------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Snapshot {
    rust: i64,
    rust_blocks: i64,
    lc: i64,
    lc_blocks: i64,
    malloc: i64,
    rss: Option<i64>,
}

fn snapshot() -> Snapshot {
    Snapshot {
        rust: RUST_LIVE_BYTES.load(Ordering::Relaxed),
        rust_blocks: RUST_LIVE_BLOCKS.load(Ordering::Relaxed),
        lc: LC_LIVE_BYTES.load(Ordering::Relaxed),
        lc_blocks: LC_LIVE_BLOCKS.load(Ordering::Relaxed),
        malloc: malloc_in_use(),
        rss: rss_bytes(),
    }
}

/// Distinct valid keys without secret keys: the points G·(start + i), as PASERK strings made
/// on demand (nothing about them is retained, so only the store's share stays live).
struct Points {
    next: p384::ProjectivePoint,
}

impl Points {
    fn starting_at(k: u64) -> Self {
        Self {
            next: p384::ProjectivePoint::GENERATOR * p384::Scalar::from(k),
        }
    }

    fn next_paserk(&mut self) -> String {
        let affine = self.next.to_affine();
        self.next += p384::ProjectivePoint::GENERATOR;
        let point = p384::PublicKey::from_affine(affine)
            .expect("k·G with 0 < k < n is not the identity")
            .to_sec1_point(true);
        format!("k3.public.{}", credlab_suite::b64::encode(point.as_bytes()))
    }
}

struct Measurement {
    keys: usize,
    rust_bytes: i64,
    rust_blocks: i64,
    aws_lc_bytes: i64,
    aws_lc_blocks: i64,
    malloc_bytes: i64,
    rss_bytes: Option<i64>,
}

/// Inserts `n` fresh keys into an empty store and returns what stayed allocated with it.
fn measure(n: usize, points: &mut Points) -> (KeyStore, Measurement) {
    let before = snapshot();
    let mut store = KeyStore::new();
    for _ in 0..n {
        let paserk = points.next_paserk();
        store.insert_paserk(&paserk, None).expect("a valid key");
    }
    let after = snapshot();
    assert_eq!(store.len(), n, "every key is distinct");
    let m = Measurement {
        keys: n,
        rust_bytes: after.rust - before.rust,
        rust_blocks: after.rust_blocks - before.rust_blocks,
        aws_lc_bytes: after.lc - before.lc,
        aws_lc_blocks: after.lc_blocks - before.lc_blocks,
        malloc_bytes: after.malloc - before.malloc,
        rss_bytes: after.rss.zip(before.rss).map(|(a, b)| a - b),
    };
    (store, m)
}

fn per_key(total: i64, keys: usize) -> f64 {
    (total as f64 / keys as f64 * 10.0).round() / 10.0
}

fn line(m: &Measurement, hooked: bool, cold: bool) -> String {
    let total = m.rust_bytes + m.aws_lc_bytes;
    let aws = if hooked {
        format!(
            "\"aws_lc_bytes\":{},\"aws_lc_bytes_per_key\":{},\"aws_lc_blocks_per_key\":{},",
            m.aws_lc_bytes,
            per_key(m.aws_lc_bytes, m.keys),
            per_key(m.aws_lc_blocks, m.keys)
        )
    } else {
        String::new()
    };
    let rss = m.rss_bytes.map_or(String::new(), |r| {
        format!(
            ",\"rss_bytes\":{r},\"rss_bytes_per_key\":{}",
            per_key(r, m.keys)
        )
    });
    format!(
        "{{\"bench\":\"memory\",\"what\":\"keystore_retained\",\"keys\":{keys},\"cold\":{cold},\
         \"rust_heap_bytes\":{rb},\"rust_heap_bytes_per_key\":{rpk},\"rust_blocks_per_key\":{rbk},\
         {aws}\"requested_bytes_per_key\":{tpk},\"malloc_in_use_bytes_per_key\":{mpk}{rss}}}",
        keys = m.keys,
        rb = m.rust_bytes,
        rpk = per_key(m.rust_bytes, m.keys),
        rbk = per_key(m.rust_blocks, m.keys),
        tpk = if hooked {
            per_key(total, m.keys).to_string()
        } else {
            "null".to_string()
        },
        mpk = per_key(m.malloc_bytes, m.keys),
    )
}

/// The replay state: a `Verifier` holds none (it judges one token at a time); a registry
/// that refuses reused publish/yank/unyank tokens holds a `ReplayGuard`, one record per
/// accepted single-use token until it expires (pruned after one freshness window). Measured
/// here: Rust heap bytes of a guard holding `n` records (it allocates nothing in AWS-LC).
fn replay_state(n: usize) -> String {
    let now = time::OffsetDateTime::now_utc();
    let before = RUST_LIVE_BYTES.load(Ordering::Relaxed);
    let mut guard = ReplayGuard::new();
    for i in 0..n {
        let content = SignedContent {
            payload: i.to_le_bytes().to_vec(),
            footer: Vec::new(),
        };
        guard.record(ContentKey::of(&content), now);
    }
    let bytes = RUST_LIVE_BYTES.load(Ordering::Relaxed) - before;
    assert_eq!(guard.len(), n, "every record is kept");
    drop(guard);
    format!(
        "{{\"bench\":\"memory\",\"what\":\"replay_state\",\"records\":{n},\"bytes\":{bytes},\
         \"bytes_per_record\":{per:.1},\"note\":\"a registry's ReplayGuard (HashMap<32-byte \
         content key, expiry>); the Verifier itself keeps no replay state\"}}",
        per = per_key(bytes, n),
    )
}

fn main() {
    // First: AWS-LC must not have allocated anything before its hooks are in.
    let hooked = hook_aws_lc();
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if bench { &[10_000, 1_000, 1] } else { &[10, 1] };

    let mut lines = Vec::new();
    let mut points = Points::starting_at(1_000_003);

    // The very first key pays one-time setup (AWS-LC and p384 statics, thread-local state).
    let (cold_store, cold) = measure(1, &mut points);
    lines.push(line(&cold, hooked, true));
    drop(cold_store);

    // Largest first, so RSS grows into fresh pages rather than memory freed by earlier runs.
    let mut kept = None;
    for &n in sizes {
        let (store, m) = measure(n, &mut points);
        lines.push(line(&m, hooked, false));
        if kept.is_none() {
            kept = Some(store);
        }
    }

    // The big store still works as a verifier's key cache.
    let f = Fixture::publish();
    let mut keys = kept.expect("at least one size");
    keys.insert(f.public.clone(), None);
    let verifier = Verifier::new(keys).with_backend(Backend::AwsLc);
    verifier
        .verify(&f.token, &f.request, f.now)
        .expect("the fixture verifies against the big store");

    let slot = std::mem::size_of::<(String, KeyRecord)>();
    let key_struct = std::mem::size_of::<PublicKey>();
    lines.push(format!(
        "{{\"bench\":\"memory\",\"what\":\"layout\",\"hash_slot_bytes\":{slot},\
         \"public_key_struct_bytes\":{key_struct},\"compressed_key_bytes\":49,\
         \"paserk_len\":{},\"note\":\"a KeyStore is a HashMap<String, KeyRecord>: the table \
         holds one {slot}-byte slot per bucket at up to 7/8 load, so the per-key share of the \
         table steps with capacity (powers of two)\"}}",
        f.public.to_paserk().len()
    ));
    lines.push(format!(
        "{{\"bench\":\"memory\",\"what\":\"method\",\"aws_lc_counted\":{hooked},\
         \"aws_lc\":\"{}\",\"rss\":\"/proc/self/statm resident pages delta, page-granular, \
         includes malloc slack\",\"malloc_in_use\":\"glibc mallinfo2 uordblks+hblkhd delta: Rust \
         and AWS-LC allocations with malloc chunk overhead\"}}",
        if hooked {
            "counted with CRYPTO_set_mem_functions (aws-lc-sys); aws-lc-rs itself exposes no \
             allocator hook or statistics"
        } else {
            "NOT counted: CRYPTO_set_mem_functions refused (AWS-LC allocated before main?); \
             see malloc_in_use and rss"
        }
    ));
    for &n in sizes {
        lines.push(replay_state(n));
    }

    for l in &lines {
        println!("{l}");
    }
    if bench {
        let path = credlab_bench::write_json_lines("credlab-memory.json", &lines)
            .expect("write credlab-memory.json");
        eprintln!("wrote {}", path.display());
    }
}
