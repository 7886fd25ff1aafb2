#!/usr/bin/env python3
"""Ratio report for credlab's benches (stdlib only).

Reads criterion's output of the last `cargo bench -p credlab-bench`:
  <target>/criterion/**/new/benchmark.json and new/estimates.json
  <target>/criterion/credlab-memory.json (JSON lines from benches/memory.rs)
  <target>/criterion/credlab-paired.json (JSON lines: the interleaved verify ratios)
  <target>/criterion/credlab-scaling.json (JSON lines: CPU time per verify per thread count)
  <target>/criterion/credlab-runner.json, credlab-registry.json, credlab-registry-cache.json
    (the runner, registry and read-token cache benches)
and prints Markdown: every figure is a ratio against a baseline measured in the same run
(the machine is small and shared; absolute times are shown for information only).

<target> is $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else <repo>/target/criterion.
Times are criterion's median estimate per iteration (thread CPU time, except the scaling
groups: wall time); the range after each ratio combines the 95 % confidence bounds of both
medians (worst case both ways). The verify goal rows also show the interleaved ("paired")
estimate of benches/verify.rs, which is immune to load drift between benchmarks; a goal is
judged on that estimate when it exists, else on criterion's.
"""

import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
# A full `cargo bench -p credlab-bench` takes a few minutes; older results are another run's.
STALE_AFTER_S = 20 * 60


def criterion_dir():
    if os.environ.get("CRITERION_HOME"):
        return pathlib.Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return pathlib.Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return REPO / "target" / "criterion"


def load_benches(root):
    """full_id -> {t, lo, hi (ns per element), mtime}."""
    out = {}
    for bench_json in root.glob("**/new/benchmark.json"):
        estimates_json = bench_json.with_name("estimates.json")
        if not estimates_json.exists():
            continue
        try:
            meta = json.loads(bench_json.read_text())
            est = json.loads(estimates_json.read_text())
        except (OSError, ValueError):
            continue
        elements = 1
        throughput = meta.get("throughput") or {}
        if isinstance(throughput, dict) and "Elements" in throughput:
            elements = throughput["Elements"] or 1
        median = est["median"]
        ci = median.get("confidence_interval", {})
        t = median["point_estimate"] / elements
        out[meta["full_id"]] = {
            "t": t,
            "lo": ci.get("lower_bound", median["point_estimate"]) / elements,
            "hi": ci.get("upper_bound", median["point_estimate"]) / elements,
            "mtime": estimates_json.stat().st_mtime,
        }
    return out


def load_memory(root, name="credlab-memory.json"):
    path = root / name
    if not path.exists():
        return [], None
    lines = []
    for raw in path.read_text().splitlines():
        raw = raw.strip()
        if raw:
            try:
                lines.append(json.loads(raw))
            except ValueError:
                pass
    return lines, path.stat().st_mtime


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def fmt_ratio(r, lo, hi):
    return f"{r:.2f}× ({lo:.2f}–{hi:.2f})" if r < 100 else f"{r:.0f}× ({lo:.0f}–{hi:.0f})"


def ratio(benches, what, base, kind):
    """speed: throughput(what)/throughput(base); cost: time(what)/time(base)."""
    w, b = benches.get(what), benches.get(base)
    if w is None or b is None:
        return None
    if kind == "speed":
        return b["t"] / w["t"], b["lo"] / w["hi"], b["hi"] / w["lo"]
    return w["t"] / b["t"], w["lo"] / b["hi"], w["hi"] / b["lo"]


# (what, id, baseline label, baseline id, kind, goal) — goal is a minimum for "speed" rows.
VERIFY_ROWS = [
    ("credlab full verify, AWS-LC, key cache (b)", "verify/b_credlab_aws_lc",
     "raw AWS-LC verify_sig (a)", "verify/a_raw_aws_lc", "speed", 0.9),
    ("credlab full verify, AWS-LC, key cache (b)", "verify/b_credlab_aws_lc",
     "pasetors registry verify (d)", "verify/d_pasetors_registry", "speed", 3.5),
    ("raw AWS-LC verify_sig (a): the ceiling for b vs d", "verify/a_raw_aws_lc",
     "pasetors registry verify (d)", "verify/d_pasetors_registry", "speed", None),
    ("credlab full verify, AWS-LC, key cache (b)", "verify/b_credlab_aws_lc",
     "pasetors signature only (d0)", "verify/d0_pasetors_signature_only", "speed", None),
    ("credlab full verify, no key cache (c)", "verify/c_credlab_aws_lc_uncached",
     "credlab with key cache (b)", "verify/b_credlab_aws_lc", "speed", None),
    ("credlab full verify, pasetors backend (e)", "verify/e_credlab_pasetors",
     "pasetors registry verify (d)", "verify/d_pasetors_registry", "speed", None),
    ("credlab AWS-LC backend (b)", "verify/b_credlab_aws_lc",
     "credlab pasetors backend (e)", "verify/e_credlab_pasetors", "speed", None),
]

KEYS_ROWS = [
    ("PublicKey::from_paserk", "keys/public_from_paserk", "b64 decode of it", "keys/b64_public"),
    ("  of which p384 decompress+validate", "keys/part_p384_decompress", "b64 decode (public)",
     "keys/b64_public"),
    ("  of which AWS-LC ParsedPublicKey::new", "keys/part_aws_lc_parse", "b64 decode (public)",
     "keys/b64_public"),
    ("  of which k3.pid computation", "keys/pid", "b64 decode (public)", "keys/b64_public"),
    ("SecretKey::from_paserk", "keys/secret_from_paserk", "b64 decode of it", "keys/b64_secret"),
    ("KeyId::parse", "keys/keyid_parse", "b64 decode of it", "keys/b64_pid"),
    ("PublicKey::from_paserk", "keys/public_from_paserk", "raw AWS-LC verify (a)",
     "verify/a_raw_aws_lc"),
]

PARTS = [
    ("decode (split + base64 of body and footer)", "verify_parts/decode"),
    ("footer JSON (strict parser)", "verify_parts/footer_json"),
    ("payload JSON (strict parser)", "verify_parts/payload_json"),
    ("PAE message build (a gets it precomputed)", "verify_parts/pae_build"),
    ("r/s range + high-S check (p384 Signature)", "verify_parts/signature_s"),
    ("iat RFC 3339 parse", "verify_parts/iat_parse"),
]
# Shown for scale, not part of b − a: both a and b do these.
PARTS_SHARED = [
    ("SHA-384 of the PAE message (in a and b)", "verify_parts/sha384_of_pae"),
    ("verify_signature: s-check + PAE + AWS-LC (b's signature step)",
     "verify_parts/verify_signature_aws_lc"),
]


def cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rustc_version():
    try:
        return subprocess.run(["rustc", "-V"], capture_output=True, text=True,
                              check=False).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def main():
    root = criterion_dir()
    benches = load_benches(root)
    memory, memory_mtime = load_memory(root)
    paired_lines, paired_mtime = load_memory(root, "credlab-paired.json")
    paired = {(p["what"], p["vs"]): p for p in paired_lines if "vs" in p}
    scaling_lines, scaling_mtime = load_memory(root, "credlab-scaling.json")
    scaling_cpu = {s["id"]: s for s in scaling_lines if "id" in s}
    if not benches:
        sys.exit(f"no criterion results under {root}: run `cargo bench -p credlab-bench` first")

    print("# credlab bench report\n")
    # Everything must come from one run: drop results well older than the newest ones
    # (renamed or filtered-out benches leave their old directories behind).
    newest = max(b["mtime"] for b in benches.values())
    stale = sorted(k for k, b in benches.items() if b["mtime"] < newest - STALE_AFTER_S)
    for k in stale:
        del benches[k]
    mtimes = [b["mtime"] for b in benches.values()]
    mtimes += [m for m in (memory_mtime, paired_mtime, scaling_mtime) if m]
    start = datetime.datetime.fromtimestamp(min(mtimes), datetime.timezone.utc)
    end = datetime.datetime.fromtimestamp(max(mtimes), datetime.timezone.utc)
    try:
        load = pathlib.Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = ["?"]
    print(table(["machine", ""], [
        ("CPU", cpu_model()),
        ("cores (logical)", os.cpu_count()),
        ("rustc", rustc_version()),
        ("report date (UTC)", datetime.datetime.now(datetime.timezone.utc)
         .strftime("%Y-%m-%d %H:%M:%S")),
        ("results written", f"{start:%Y-%m-%d %H:%M:%S} – {end:%H:%M:%S} UTC"
                            f" ({(end - start).total_seconds():.0f} s)"),
        ("load average now", " ".join(load)),
    ]))
    if stale:
        print(f"\nIgnored {len(stale)} result(s) from an older run: {', '.join(stale)}")
    if (end - start).total_seconds() > STALE_AFTER_S:
        print("\n**Warning:** the JSON side files are older than the criterion results: "
              "re-run `cargo bench -p credlab-bench` so every ratio is from one run.")

    print("\n## Verify (ratios of throughput: >1 means faster than the baseline)\n")
    rows = []
    for what, wid, base, bid, kind, goal in VERIFY_ROWS:
        r = ratio(benches, wid, bid, kind)
        p = paired.get((wid, bid))
        paired_text = (f"{p['median']:.2f}× ({p['p25']:.2f}–{p['p75']:.2f})" if p else "—")
        if r is None:
            rows.append((what, "missing", paired_text, base, "—", "—"))
            continue
        judged = p["median"] if p else r[0]
        met = "—" if goal is None else ("yes" if judged >= goal else "**NO**")
        rows.append((what, fmt_ratio(*r), paired_text, base, f"≥ {goal}" if goal else "—", met))
    print(table(["what", "ratio (criterion)", "ratio (paired)", "vs baseline", "goal", "met?"],
                rows))
    print("\nratio (criterion): medians of separate criterion runs, range from their 95 % CIs;"
          " ratio (paired): median over interleaved rounds, range = 25th–75th percentile.")

    if "verify/a_raw_aws_lc" in benches:
        a = benches["verify/a_raw_aws_lc"]["t"]
        rows = []
        b = benches.get("verify/b_credlab_aws_lc")
        if b:
            rows.append(("**b − a, criterion medians**", fmt_time(b["t"] - a),
                         f"{(b['t'] - a) / a * 100:.1f} %"))
        pa = {p["id"]: p["median_ns"] for p in paired_lines if "median_ns" in p}
        if "verify/a_raw_aws_lc" in pa and "verify/b_credlab_aws_lc" in pa:
            d = pa["verify/b_credlab_aws_lc"] - pa["verify/a_raw_aws_lc"]
            rows.append(("**b − a, paired medians**", fmt_time(d),
                         f"{d / pa['verify/a_raw_aws_lc'] * 100:.1f} %"))
        total = 0.0
        for label, pid in PARTS:
            p = benches.get(pid)
            if p:
                total += p["t"]
                rows.append((label, fmt_time(p["t"]), f"{p['t'] / a * 100:.2f} %"))
        rows.append(("sum of the steps above (key lookup, claim checks and the result"
                     " struct not measured alone)", fmt_time(total), f"{total / a * 100:.1f} %"))
        for label, pid in PARTS_SHARED:
            p = benches.get(pid)
            if p:
                rows.append((label, fmt_time(p["t"]), f"{p['t'] / a * 100:.1f} %"))
        print("\n## Where credlab's time goes (per verify; share of the raw verify a)\n")
        print(table(["step", "time", "% of raw verify (a)"], rows))

    print("\n## Scaling (total throughput of T threads sharing one verifier)\n")
    rows = []
    for group in ("scaling_aws_lc", "scaling_pasetors"):
        ids = sorted((k for k in benches if k.startswith(group + "/threads/")),
                     key=lambda k: int(k.rsplit("/", 1)[1]))
        one = f"{group}/threads/1"
        for k in ids:
            if k == one:
                continue
            n = int(k.rsplit("/", 1)[1])
            r = ratio(benches, k, one, "speed")
            sc = scaling_cpu.get(k, {})
            cpu = sc.get("cpu_cost_vs_1_thread")
            on_cpu = sc.get("on_cpu_share")
            switches = (f"{sc['voluntary_switches']} / {sc['involuntary_switches']}"
                        if "voluntary_switches" in sc else "—")
            rows.append((f"{group.split('_', 1)[1]}: {n} threads", fmt_ratio(*r),
                         f"{cpu:.2f}×" if cpu else "—",
                         f"{on_cpu * 100:.0f} %" if on_cpu else "—", switches,
                         "1 thread", f"ideal {n}.0 (cores: {os.cpu_count()})",
                         f"{r[0] / n * 100:.0f} % of ideal"))
    print(table(["what", "throughput ratio (wall)", "CPU per verify vs 1 thread",
                 "threads on CPU", "ctx switches vol / invol", "vs baseline", "goal", "met?"],
                rows) if rows else "(no scaling results)")
    print("\nCPU per verify ≈ 1.00× means no extra work per verify with more threads. When the"
          " throughput ratio falls short of ideal, the threads were off the CPU: voluntary"
          " context switches would mean blocking inside the verifier (a lock), involuntary ones"
          " that other processes on the machine took the cores.")

    print("\n## Keys (ratios of time: how many times the baseline's cost)\n")
    rows = []
    for what, wid, base, bid in KEYS_ROWS:
        r = ratio(benches, wid, bid, "cost")
        rows.append((what, fmt_ratio(*r) if r else "missing", base, "—", "—"))
    print(table(["what", "ratio", "vs baseline", "goal", "met?"], rows))

    print("\n## Sign (ratios of time vs a raw p384 sign_prehash of a fixed digest)\n")
    rows = []
    for op in ("read", "publish", "yank", "unyank", "owners"):
        r = ratio(benches, f"sign/cargo_{op}", "sign/raw_p384_sign_prehash", "cost")
        rows.append((f"sign_as_cargo {op}", fmt_ratio(*r) if r else "missing",
                     "raw p384 sign_prehash", "—", "—"))
    print(table(["what", "ratio", "vs baseline", "goal", "met?"], rows))

    print("\n## Memory per cached key (KeyStore)\n")
    retained = [m for m in memory if m.get("what") == "keystore_retained"]
    if retained:
        rows = []
        for m in retained:
            total = m.get("requested_bytes_per_key")
            rows.append((
                f"{m['keys']}" + (" (first key, cold)" if m.get("cold") else ""),
                m.get("rust_heap_bytes_per_key"),
                m.get("aws_lc_bytes_per_key", "not counted"),
                total if total is not None else "—",
                f"{total / 49:.1f}×" if isinstance(total, (int, float)) else "—",
                m.get("malloc_in_use_bytes_per_key"),
                m.get("rss_bytes_per_key", "—"),
            ))
        print(table(["keys", "Rust heap B/key", "AWS-LC B/key", "requested B/key",
                     "vs 49-B compressed key", "malloc in-use B/key", "RSS B/key"], rows))
        for m in memory:
            if m.get("what") in ("layout", "method"):
                print(f"\n- {m['what']}: " + ", ".join(
                    f"{k}={v}" for k, v in m.items() if k not in ("bench", "what")))
        replay = [m for m in memory if m.get("what") == "replay_state" and "records" in m]
        if replay:
            print("\n## Memory of the replay state (a registry's ReplayGuard)\n")
            print(table(["records", "Rust heap bytes", "B/record", "vs 48-B record (key + expiry)"],
                        [(m["records"], m["bytes"], m["bytes_per_record"],
                          f"{m['bytes_per_record'] / 48:.2f}×") for m in replay]))
            print("\nThe Verifier keeps no replay state; a registry's guard holds one record per "
                  "accepted publish/yank/unyank token and prunes it after the freshness window.")
    else:
        print("(no credlab-memory.json: run `cargo bench -p credlab-bench --bench memory`)")

    print("\n## Absolute figures from the same run (information only, not goals)\n")
    rows = []
    for label, bid in [
        ("raw AWS-LC verify_sig (a)", "verify/a_raw_aws_lc"),
        ("credlab, AWS-LC, key cache (b)", "verify/b_credlab_aws_lc"),
        ("credlab, AWS-LC, no key cache (c)", "verify/c_credlab_aws_lc_uncached"),
        ("pasetors registry (d)", "verify/d_pasetors_registry"),
        ("pasetors signature only (d0)", "verify/d0_pasetors_signature_only"),
        ("credlab, pasetors backend (e)", "verify/e_credlab_pasetors"),
        ("credlab AWS-LC, 2 threads", "scaling_aws_lc/threads/2"),
        ("credlab pasetors, 2 threads", "scaling_pasetors/threads/2"),
    ]:
        b = benches.get(bid)
        if b:
            rows.append((label, fmt_time(b["t"]), f"{1e9 / b['t']:,.0f}"))
    print(table(["verify path", "median time / verify", "verifies/s"], rows))

    runners_section(root, benches)


def load_json(root, name):
    path = root / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def runners_section(root, benches):
    """The provider runner and the reference registry (benches `runner` and `registry`)."""
    print("\n## Runners\n")
    rows = []
    r = load_json(root, "credlab-runner.json")
    if r:
        rows.append((f"provider suite, conformant provider ({r['cases']} cases, {r['jobs']} jobs)",
                     f"{r['conformant_ratio']:.2f}× (paired, median of {r.get('rounds', 5)} rounds)",
                     f"cases × trivial exchange ({r['trivial_exchange_ms']:.1f} ms) ÷ jobs",
                     "≤ 1.5", "yes" if r["conformant_ratio"] <= 1.5 else "NO"))
        t, s = benches.get("runner/trivial_exchange"), benches.get("runner/suite_reference_token_store")
        if t and s:
            q = s["t"] / (r["cases"] * t["t"] / r["jobs"])
            rows.append(("same, from criterion's medians (separate runs, not paired)", f"{q:.2f}×",
                         f"cases × trivial exchange ({t['t'] / 1e6:.1f} ms) ÷ jobs", "≤ 1.5",
                         "yes" if q <= 1.5 else "NO"))
        if "conformant_ratio_without_huge_header" in r:
            q = r["conformant_ratio_without_huge_header"]
            rows.append(("same, without the 16 MiB request case (the provider's own parsing)",
                         f"{q:.2f}×", "(cases − 1) × trivial exchange ÷ jobs", "≤ 1.5", "yes" if q <= 1.5 else "NO"))
        rows.append((f"provider suite, provider hanging on every case ({r['hang_timeout_ms']:.0f} ms timeout)",
                     f"{r['hang_ratio']:.2f}×", "ceil(cases ÷ jobs) × timeout", "≈ 1 (≤ 1.2)",
                     "yes" if r["hang_ratio"] <= 1.2 else "NO"))
        rows.append(("same, against cases × timeout (serial)", f"{r['hang_serial_ratio']:.2f}×",
                     "cases × timeout", "< 1", "yes" if r["hang_serial_ratio"] < 1 else "NO"))
    else:
        rows.append(("provider runner", "missing", "run `cargo bench -p credlab-bench --bench runner`", "", ""))
    g = load_json(root, "credlab-registry.json")
    if g:
        rows.append((f"reference registry, authenticated reads/s ({g['clients']} loopback clients)",
                     f"{g['ratio']:.2f}×",
                     f"single-core verify rate ({g['verify_per_s_one_core']:,.0f}/s)",
                     f"≥ {g['goal_ratio']:.1f} (0.8 × {g['cores']} cores)",
                     "yes" if g["ratio"] >= g["goal_ratio"] else "NO"))
        if "ratio_to_all_core_verify" in g:
            rows.append((f"same, against pure verification on all {g['cores']} cores (the machine's ceiling)",
                         f"{g['ratio_to_all_core_verify']:.2f}×",
                         f"{g['cores']}-thread verify rate ({g['verify_per_s_all_cores']:,.0f}/s)", "—", "—"))
        if "read_cache_http_ratio" in g:
            rows.append((f"same with the read-token cache, over HTTP ({g['read_cache_requests_per_s']:,.0f}/s)",
                         f"{g['read_cache_http_ratio']:.2f}×", "the uncached load above", "—", "—"))
    else:
        rows.append(("reference registry", "missing", "run `cargo bench -p credlab-bench --bench registry`", "", ""))
    rows += read_cache_rows(load_json(root, "credlab-registry-cache.json"))
    print(table(["what", "ratio", "vs baseline", "goal", "met?"], rows))


def read_cache_rows(c):
    """The read-token cache (bench `registry`, benches/read_cache): paired in-process rounds."""
    if not c:
        return [("read-token cache", "missing", "run `cargo bench -p credlab-bench --bench registry`", "", "")]
    rows = []
    reads, publishes = c["reads"], c["publishes"]
    goal = c["goal_reads_ratio"]
    rows.append((f"registry auth path, reads with the read-token cache ({c['commands_per_round']} commands"
                 f" × {c['reads_per_command']} requests, a fresh token each; {reads['cached_us_per_request']:.1f} µs/request)",
                 f"{reads['ratio']:.1f}× ({reads['p25']:.1f}–{reads['p75']:.1f}; paired, {c['rounds']} rounds)",
                 f"without the cache ({reads['uncached_us_per_request']:.0f} µs/request)",
                 f"≥ {goal:g}", "yes" if reads["ratio"] >= goal else "**NO**"))
    lo, hi = c["goal_publishes_ratio"]
    rows.append((f"registry auth path, publish tokens with the read-token cache ({c['publishes_per_round']} per round;"
                 f" {publishes['cached_us_per_request']:.0f} µs/request)",
                 f"{publishes['ratio']:.2f}× ({publishes['p25']:.2f}–{publishes['p75']:.2f}; paired)",
                 f"without the cache ({publishes['uncached_us_per_request']:.0f} µs/request)",
                 f"≈ 1.0 ({lo:g}–{hi:g})", "yes" if lo <= publishes["ratio"] <= hi else "**NO**"))
    return rows


if __name__ == "__main__":
    main()
