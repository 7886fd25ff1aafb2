//! The rendered pages in a real browser: the matrix page (`credlab matrix render` of the
//! committed results) and a single run's page (`--format html`) are opened in headless
//! Chromium, which must load them without a console message, an uncaught exception or any
//! request beyond the page itself, and whose DOM after load must show one grid row per
//! result.
//!
//! It needs Debian's `chromium` (`apt-get install --no-install-recommends chromium`, which
//! `.ci/run` installs: about 15 s); without it the test fails saying so. With
//! `CREDLAB_SCREENSHOT_DIR` set, the screenshots are copied there.
//!
//! Chromium reports through its log on stderr (`--enable-logging=stderr`):
//! - console messages, uncaught exceptions included, as `INFO:CONSOLE` lines (every level
//!   logs as INFO for a web page, so any such line counts);
//! - not failed loads: Blink keeps its "Failed to load resource" messages from the log. So
//!   every subresource request the page's renderer starts is logged instead
//!   (`--vmodule=renderer_url_loader_throttle=2`: `WillStartRequest`), and a self-contained
//!   page makes none: any such line counts, whether it failed or not;
//! - the page's own load (`--vmodule=file_url_loader_factory=1`: `FileURLLoader::Start`),
//!   which shows that this logging is on at all.
//!
//! These are log lines, not an interface, so the test first opens a deliberately faulty page
//! and requires each fault to be caught: a Chromium whose log changed fails here rather than
//! passing every page.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one Chromium run may take (it takes about a second).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The viewport, and so the screenshot's size.
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 2000;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn matrix_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("matrix")
}

/// What Chromium made of a page.
struct Browsed {
    /// The DOM after load, serialised (`--dump-dom`).
    dom: String,
    /// Console messages and the page's own requests, from the log.
    problems: Vec<String>,
    /// Whether the log shows the page itself being loaded.
    page_load_logged: bool,
    screenshot: PathBuf,
    /// Chromium's log, for a failure message.
    log: String,
}

/// Opens `page` (a file) in headless Chromium with a fresh profile under `work`.
fn browse(page: &Path, work: &Path) -> Browsed {
    let url = file_url(page);
    let stem = page
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("a page name");
    let home = work.join(format!("{stem}-home"));
    std::fs::create_dir_all(&home).expect("a browser home");
    let screenshot = work.join(format!("{stem}.png"));
    let dom_path = work.join(format!("{stem}.dom.html"));
    let log_path = work.join(format!("{stem}.log"));
    let mut command = Command::new("chromium");
    command
        .args([
            "--headless",
            // Chromium will not run as root (as in a CI container) with its sandbox on.
            "--no-sandbox",
            "--disable-gpu",
            // Debian's launcher means to add this when /dev/shm is small, but its test is broken.
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            // No name resolves: nothing leaves the machine, and an external asset fails at once.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--vmodule=renderer_url_loader_throttle=2,file_url_loader_factory=1",
        ])
        .arg(format!(
            "--user-data-dir={}",
            home.join("profile").display()
        ))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--dump-dom")
        .arg(&url)
        // Its crash database and caches go to the temporary home, not the user's.
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(File::create(&dom_path).expect("the DOM file"))
        .stderr(File::create(&log_path).expect("the log file"));
    let status = run_bounded(command, BROWSER_TIMEOUT);
    let log = std::fs::read_to_string(&log_path).expect("the log");
    let status = status.unwrap_or_else(|| {
        panic!(
            "chromium did not finish {url} in {BROWSER_TIMEOUT:?}; its log:\n{}",
            tail(&log)
        )
    });
    assert!(
        status.success(),
        "chromium failed on {url}: {status}; its log:\n{}",
        tail(&log)
    );
    let dom = std::fs::read_to_string(&dom_path).expect("the DOM is UTF-8");
    Browsed {
        problems: problems(&log),
        page_load_logged: log
            .lines()
            .any(|l| l.contains("FileURLLoader::Start: ") && l.ends_with(url.as_str())),
        dom,
        screenshot,
        log,
    }
}

/// The console messages and the page's requests in Chromium's log.
fn problems(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in log.lines() {
        let message = line.split_once("] ").map_or(line, |(_, m)| m);
        if line.contains(":CONSOLE") {
            out.push(format!("console: {message}"));
        } else if line.contains("WillStartRequest") {
            out.push(format!("request: {message}"));
        }
    }
    out
}

/// The file URL of a path made only of characters a URL path takes as they are.
fn file_url(path: &Path) -> String {
    let path = path.to_str().expect("a UTF-8 path");
    assert!(
        path.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b)),
        "{path} would need percent-encoding"
    );
    format!("file://{path}")
}

/// Runs `command` in its own process group and waits at most `timeout`; on timeout the
/// whole group is killed and `None` returned. The group is killed after a normal exit too,
/// in case Chromium left a helper behind.
fn run_bounded(mut command: Command, timeout: Duration) -> Option<ExitStatus> {
    let mut child = command
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium ({e}): apt-get install chromium"));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let (sent, got) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = sent.send(());
        status
    });
    let finished = got.recv_timeout(timeout).is_ok();
    if !finished {
        kill_group(pid);
    }
    let status = waiter
        .join()
        .expect("the waiting thread")
        .expect("wait for chromium");
    kill_group(pid);
    finished.then_some(status)
}

fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill has no memory effects; a group that is gone gives ESRCH.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// The last lines of a log, enough to see why.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The values of `attribute` on every `<tag …>` start tag of serialised HTML, unescaped.
fn attribute_values(html: &str, tag: &str, attribute: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let needle = format!(" {attribute}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        rest = &rest[at + open.len()..];
        if !rest.starts_with([' ', '>', '\n', '\t']) {
            continue;
        }
        let Some(end) = rest.find('>') else { break };
        let tag_text = &rest[..end];
        if let Some(start) = tag_text.find(&needle) {
            let value = &tag_text[start + needle.len()..];
            let value = &value[..value.find('"').expect("a closed attribute value")];
            out.push(unescape(value));
        }
        rest = &rest[end..];
    }
    out
}

/// The values of `attribute` on any element.
fn any_attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let value = &html[at + needle.len()..];
            unescape(&value[..value.find('"').expect("a closed attribute value")])
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// What every page must pass: no problem in the log, the page's load logged, no script in
/// the DOM, every in-page link going somewhere, and a PNG screenshot of the viewport.
fn assert_clean(name: &str, browsed: &Browsed) {
    assert!(
        browsed.problems.is_empty(),
        "{name}: {:#?}\nChromium's log:\n{}",
        browsed.problems,
        tail(&browsed.log)
    );
    assert!(
        browsed.page_load_logged,
        "{name}: the log does not show the page's load, so it shows nothing; the log:\n{}",
        tail(&browsed.log)
    );
    assert!(browsed.dom.contains("</html>"), "{name}: no DOM was dumped");
    assert!(
        !browsed.dom.contains("<script"),
        "{name}: the page must have no script"
    );
    let ids: BTreeSet<String> = any_attribute_values(&browsed.dom, "id")
        .into_iter()
        .collect();
    for link in any_attribute_values(&browsed.dom, "href") {
        if let Some(id) = link.strip_prefix('#') {
            assert!(ids.contains(id), "{name}: {link} goes nowhere");
        }
    }
    let png = std::fs::read(&browsed.screenshot)
        .unwrap_or_else(|e| panic!("{name}: no screenshot ({e})"));
    assert!(png.starts_with(PNG_SIGNATURE), "{name}: not a PNG");
    // The IHDR chunk comes first: width and height, big-endian, after its length and type.
    let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
    assert!(png.len() > 24, "{name}: a truncated PNG");
    assert_eq!(
        (size(16), size(20)),
        (WIDTH, HEIGHT),
        "{name}: screenshot size"
    );
    if let Some(dir) = std::env::var_os("CREDLAB_SCREENSHOT_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("CREDLAB_SCREENSHOT_DIR");
        std::fs::copy(
            &browsed.screenshot,
            dir.join(format!("{name}-screenshot.png")),
        )
        .expect("copy the screenshot");
    }
}

/// The detector can fail: a script that throws, a missing image and an external stylesheet
/// are each caught.
fn a_faulty_page_is_caught(work: &Path) {
    let page = work.join("faulty.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html>\n<html><head><title>faulty</title>\
         <link rel=\"stylesheet\" href=\"https://example.invalid/credlab.css\"></head>\
         <body><p>faulty</p><img src=\"missing.png\" alt=\"\">\
         <script>throw new Error(\"credlab-deliberate\")</script></body></html>\n",
    )
    .expect("write the faulty page");
    let browsed = browse(&page, work);
    assert!(
        browsed.page_load_logged,
        "the log does not show the page's load; the log:\n{}",
        tail(&browsed.log)
    );
    for (fault, needle) in [
        (
            "the uncaught exception",
            "Uncaught Error: credlab-deliberate",
        ),
        ("the missing image", "missing.png"),
        (
            "the external stylesheet",
            "https://example.invalid/credlab.css",
        ),
    ] {
        assert!(
            browsed.problems.iter().any(|p| p.contains(needle)),
            "the detector missed {fault} ({needle}): it found {:#?}\nChromium's log:\n{}",
            browsed.problems,
            tail(&browsed.log)
        );
    }
}

/// The matrix page of the committed results, rendered here with `credlab matrix render`.
fn the_matrix_page(work: &Path) {
    let out = work.join("matrix");
    std::fs::create_dir_all(&out).expect("the render folder");
    std::fs::copy(matrix_dir().join("targets.toml"), out.join("targets.toml"))
        .expect("copy the manifest");
    assert_cmd::Command::cargo_bin("credlab")
        .expect("the credlab binary")
        .args(["matrix", "render", "--dir"])
        .arg(&out)
        .arg("--results")
        .arg(matrix_dir().join("results"))
        .assert()
        .success();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(matrix_dir().join("results")).expect("matrix/results") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("a result");
            let result: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            names.push(result["name"].as_str().expect("a name").to_string());
        }
    }
    names.sort();
    assert!(!names.is_empty(), "no committed results");

    let browsed = browse(&out.join("index.html"), work);
    assert_clean("matrix", &browsed);
    let mut rows = attribute_values(&browsed.dom, "tr", "data-target");
    rows.sort();
    assert_eq!(rows, names, "one grid row per result, named as the result");
}

/// One run's page (`--format html`) of a mutant that fails cases, so drill-downs exist.
fn a_run_page(work: &Path) {
    let run = |format: &str| {
        let out = assert_cmd::Command::cargo_bin("credlab")
            .expect("the credlab binary")
            .args(["--provider", "builtin:mutant:get-answers-login"])
            .args(["--format", format])
            .output()
            .expect("credlab runs");
        assert_eq!(out.status.code(), Some(1), "the mutant is not conformant");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let report: serde_json::Value = serde_json::from_str(&run("json")).expect("a JSON report");
    let page = work.join("run.html");
    std::fs::write(&page, run("html")).expect("write the run's page");

    let browsed = browse(&page, work);
    assert_clean("run", &browsed);
    let mut rows = attribute_values(&browsed.dom, "tr", "data-case");
    rows.sort();
    let mut cases: Vec<String> = report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_string())
        .collect();
    cases.sort();
    assert_eq!(rows, cases, "one row per case of the report");
    let verdicts = attribute_values(&browsed.dom, "tr", "data-verdict");
    assert!(
        verdicts.iter().any(|v| v == "fail"),
        "the run shows a failure: {verdicts:?}"
    );
    assert!(
        browsed.dom.contains("<details"),
        "a failed case has its drill-down"
    );
}

#[test]
fn the_pages_render_cleanly_in_chromium() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temp dir");
    let work = dir.path().canonicalize().expect("the temp dir");
    a_faulty_page_is_caught(&work);
    the_matrix_page(&work);
    a_run_page(&work);
    eprintln!("browser check: {:.1} s", started.elapsed().as_secs_f64());
}
