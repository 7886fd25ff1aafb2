//! Which registries credlab may send tokens to: loopback only unless the user says otherwise,
//! and never crates.io (credlab publishes and yanks probe crates).
//!
//! Every URL is parsed once, by the parser ureq sends with (`ureq::http::Uri`, the `http`
//! crate), and the decision is made on that parse: a second, hand-written parser would read
//! some strings differently (`http://10.0.0.1\@127.0.0.1/` was "127.0.0.1" to the old one), and
//! the difference is where a token leaks. [`Url`] carries the parsed `Uri` on to the request, so
//! the object checked is the object sent.

use std::net::{IpAddr, SocketAddr};

use ureq::http::Uri;
use ureq::http::uri::Scheme;

/// Hosts credlab never talks to.
const CRATES_IO: [&str; 4] = [
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "static.rust-lang.org",
];

/// The flag that lifts the loopback rule, named in every refusal.
pub const ALLOW_REMOTE: &str = "--allow-remote";

/// Why credlab will not contact a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Refused whatever the host: `--allow-remote` does not change this.
    #[error(
        "credlab will not send to {url:?}: {why} ({} does not change this)",
        ALLOW_REMOTE
    )]
    Malformed { url: String, why: Malformation },
    /// crates.io, always refused.
    #[error("credlab never sends test tokens or probe crates to crates.io")]
    CratesIo,
    /// Not loopback, and `--allow-remote` was not given.
    #[error(
        "{host} is not a loopback address; credlab publishes and yanks probe crates there, \
         so pass {} if that is what you want",
        ALLOW_REMOTE
    )]
    NotLoopback { host: String },
}

/// What is wrong with a URL credlab refuses whatever the host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformation {
    #[error("it contains a backslash")]
    Backslash,
    /// The http crate's parser refuses it (its message).
    #[error("it does not parse ({0})")]
    Unparsable(String),
    #[error("its scheme is {0}, not http(s)")]
    Scheme(String),
    #[error("it has no scheme")]
    NoScheme,
    #[error("it has no host")]
    NoHost,
    #[error("it carries userinfo (`…@`)")]
    Userinfo,
    #[error("its port is not a port number")]
    Port,
    #[error("its authority does not start with its host")]
    Authority,
}

/// A URL credlab may contact: http(s), a host, no userinfo, parsed by ureq's own parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    uri: Uri,
    /// The host as the resolver will see it, lowercased, IPv6 without brackets.
    host: String,
    /// The port the connection will use (explicit or the scheme's default).
    port: u16,
}

impl Url {
    /// Parses `url` (a leading `sparse+` is dropped). Refuses what credlab will not send to
    /// whatever the host: other schemes, userinfo, backslashes, ports that are not ports.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let bare = url.strip_prefix("sparse+").unwrap_or(url);
        // The http crate refuses `\` too, but naming it says why the URL is refused: browsers
        // and WHATWG parsers read `\` as `/`, so it only appears in host-confusion tricks.
        if bare.contains('\\') {
            return Err(malformed(url, Malformation::Backslash));
        }
        let uri: Uri = bare.parse().map_err(|e: ureq::http::uri::InvalidUri| {
            malformed(url, Malformation::Unparsable(e.to_string()))
        })?;
        let port_default = match uri.scheme() {
            Some(s) if *s == Scheme::HTTP => 80,
            Some(s) if *s == Scheme::HTTPS => 443,
            Some(s) => return Err(malformed(url, Malformation::Scheme(s.to_string()))),
            None => return Err(malformed(url, Malformation::NoScheme)),
        };
        let Some(authority) = uri.authority() else {
            return Err(malformed(url, Malformation::NoHost));
        };
        if authority.as_str().contains('@') {
            // Userinfo is how `http://good@evil/` reads as "good" to a human; Cargo's URLs
            // never carry it, and credlab sends its credentials in a header anyway.
            return Err(malformed(url, Malformation::Userinfo));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(malformed(url, Malformation::NoHost));
        }
        // `Authority::port_u16` is None for `:99999` and ureq would then use the default port:
        // accept only an authority that is exactly `host` or `host:port` with a real port.
        let port = match authority.as_str().strip_prefix(host) {
            Some("") => port_default,
            Some(rest) => rest
                .strip_prefix(':')
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| rest == format!(":{p}"))
                .ok_or_else(|| malformed(url, Malformation::Port))?,
            None => return Err(malformed(url, Malformation::Authority)),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        Ok(Self { uri, host, port })
    }

    /// The parsed URI, for the request builder.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The host, lowercased, IPv6 without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port the connection uses.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the parsed host is loopback without asking any resolver: an IP literal in
    /// 127.0.0.0/8 or ::1 (or ::ffff:127.x, the same address), or the name `localhost`.
    /// Numeric spellings the http crate keeps as names (`2130706433`, `0x7f.1`, `127.1`) are
    /// names: whether a resolver turns them into 127.0.0.1 is not ours to guess.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(is_loopback_ip)
    }

    /// Same scheme, host and port: the origin an `Authorization` header may follow a redirect
    /// to (curl ≥ 7.58, which Cargo uses, drops it otherwise).
    pub fn same_origin(&self, other: &Url) -> bool {
        self.uri.scheme() == other.uri.scheme()
            && self.host == other.host
            && self.port == other.port
    }

    /// Resolves a redirect's `Location` against this URL (RFC 3986 §5.2) and parses the result
    /// like any other URL.
    pub fn join(&self, location: &str) -> Result<Url, UrlError> {
        let location = location.split('#').next().unwrap_or_default();
        if location.contains('\\') {
            return Err(malformed(location, Malformation::Backslash));
        }
        let scheme = self.uri.scheme_str().unwrap_or("http");
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        let absolute = if has_scheme(location) {
            location.to_string()
        } else if location.starts_with("//") {
            format!("{scheme}:{location}")
        } else if location.starts_with('/') {
            format!("{scheme}://{authority}{}", remove_dot_segments(location))
        } else {
            let base_path = self.uri.path();
            let merged = if let Some(query) = location.strip_prefix('?') {
                format!("{base_path}?{query}")
            } else if location.is_empty() {
                self.uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string()
            } else {
                let dir = base_path.rfind('/').map_or("/", |i| &base_path[..=i]);
                remove_dot_segments(&format!("{dir}{location}"))
            };
            format!("{scheme}://{authority}{merged}")
        };
        Url::parse(&absolute)
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.uri, f)
    }
}

/// The loopback rule for addresses: 127.0.0.0/8, ::1, and IPv4-mapped 127.x.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// The resolver's half of the rule: of the addresses a name resolved to, those credlab may
/// connect to. Empty means none.
pub fn allowed_addrs(
    addrs: impl IntoIterator<Item = SocketAddr>,
    allow_remote: bool,
) -> Vec<SocketAddr> {
    addrs
        .into_iter()
        .filter(|a| allow_remote || is_loopback_ip(a.ip()))
        .collect()
}

/// Whether a reference starts with `scheme:` (RFC 3986 §3.1), i.e. is absolute.
fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// RFC 3986 §5.2.4 on a path (with its query, which is left alone).
fn remove_dot_segments(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
        // A trailing `.`/`..` leaves a directory: `/a/b/..` is `/a/`.
        if last && matches!(*segment, "." | "..") {
            out.push("");
        }
    }
    let mut result = format!("/{}", out.join("/"));
    if let Some(q) = query {
        result.push('?');
        result.push_str(q);
    }
    result
}

fn malformed(url: &str, why: Malformation) -> UrlError {
    UrlError::Malformed {
        url: url.to_string(),
        why,
    }
}

/// The host of a URL like `sparse+https://host:port/path`, lowercased, IPv6 without brackets,
/// as ureq's parser reads it (userinfo allowed here: this only names the host).
pub fn host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sparse+").unwrap_or(url);
    let uri: Uri = rest.parse().ok()?;
    let host = uri.host().filter(|h| !h.is_empty())?;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
    )
}

/// Parses `url` and refuses crates.io always, and non-loopback hosts without `allow_remote`.
/// The parsed URL is what the client sends to.
pub fn allowed(url: &str, allow_remote: bool) -> Result<Url, UrlError> {
    permit(Url::parse(url)?, allow_remote)
}

/// The policy half of [`allowed`], for a URL already parsed (a redirect's resolved target).
pub fn permit(parsed: Url, allow_remote: bool) -> Result<Url, UrlError> {
    // `crates.io.` is crates.io too.
    let host = parsed.host().trim_end_matches('.');
    if CRATES_IO
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")))
        || parsed
            .to_string()
            .contains("github.com/rust-lang/crates.io-index")
    {
        return Err(UrlError::CratesIo);
    }
    if !parsed.is_loopback() && !allow_remote {
        return Err(UrlError::NotLoopback {
            host: parsed.host().to_string(),
        });
    }
    Ok(parsed)
}

/// [`allowed`], for callers that only need the verdict.
pub fn check(url: &str, allow_remote: bool) -> Result<(), UrlError> {
    allowed(url, allow_remote).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_policy() {
        assert_eq!(
            host("sparse+http://127.0.0.1:8080/index/").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            host("sparse+http://[::1]:8080/index/").as_deref(),
            Some("::1")
        );
        assert_eq!(
            host("https://user@Reg.Example:443/x").as_deref(),
            Some("reg.example")
        );
        assert!(check("sparse+http://127.0.0.1:1/index/", false).is_ok());
        assert!(check("sparse+http://localhost:1/index/", false).is_ok());
        assert!(check("sparse+http://[::1]:1/index/", false).is_ok());
        assert!(check("sparse+https://reg.example/index/", false).is_err());
        assert!(check("sparse+https://reg.example/index/", true).is_ok());
        assert!(check("sparse+https://index.crates.io/", true).is_err());
        assert!(check("https://github.com/rust-lang/crates.io-index", true).is_err());
        assert!(check("not a url", true).is_err());
    }

    fn refusal(url: &str, allow_remote: bool) -> String {
        check(url, allow_remote).expect_err(url).to_string()
    }

    #[test]
    fn the_backslash_at_trick_is_refused_whatever_the_flag() {
        let url = r"http://10.0.0.1\@127.0.0.1:8080/index/";
        // The old hand parser split on the last `@` and saw 127.0.0.1.
        for allow_remote in [false, true] {
            let m = refusal(url, allow_remote);
            assert!(m.contains("backslash"), "{m}");
            assert!(m.contains(ALLOW_REMOTE), "{m}");
        }
        assert!(check(r"http://127.0.0.1\x/", true).is_err());
    }

    #[test]
    fn userinfo_is_refused_even_on_loopback() {
        for url in [
            "http://u@127.0.0.1:1/",
            "http://u:p@127.0.0.1:1/",
            "http://127.0.0.1@10.0.0.1/",
            "http://@127.0.0.1/",
        ] {
            let m = refusal(url, true);
            assert!(m.contains("userinfo"), "{url}: {m}");
        }
    }

    #[test]
    fn loopback_is_decided_on_the_parsed_host() {
        for url in [
            "http://127.0.0.1:1/",
            "http://127.255.0.9/",
            "http://[::1]:1/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost/",
            "http://LOCALHOST:1/",
            "HTTP://LocalHost/",
            "https://127.0.0.1/",
        ] {
            assert!(check(url, false).is_ok(), "{url}: {:?}", check(url, false));
        }
        // Names, not addresses: refused without the flag, allowed with it.
        for url in [
            "http://127.0.0.1.evil.example/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://127.1/",
            "http://127.0.0.01/",
            "http://localhost./",
            "http://localhost.evil.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://[::1%25lo]/",
        ] {
            let m = refusal(url, false);
            assert!(
                m.contains("not a loopback address") && m.contains(ALLOW_REMOTE),
                "{url}: {m}"
            );
            assert!(check(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn what_is_not_an_http_url_is_refused() {
        for url in [
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "socks5://127.0.0.1:1/",
            "/index/",
            "//127.0.0.1/",
            "http:///x",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:8x/",
            "http://127.0.0.1/a b",
            "http://%31%32%37.0.0.1/",
            "",
        ] {
            assert!(check(url, true).is_err(), "{url}");
        }
        assert!(check("http://crates.io./", true).is_err());
    }

    #[test]
    fn ports_and_origins() {
        let a = Url::parse("http://127.0.0.1/x").expect("parses");
        assert_eq!(a.port(), 80);
        let b = Url::parse("http://127.0.0.1:80/y").expect("parses");
        assert!(a.same_origin(&b));
        assert!(!a.same_origin(&Url::parse("http://127.0.0.1:81/").expect("parses")));
        assert!(!a.same_origin(&Url::parse("https://127.0.0.1:80/").expect("parses")));
        assert!(!a.same_origin(&Url::parse("http://localhost/").expect("parses")));
        assert!(a.same_origin(&Url::parse("HTTP://127.0.0.1/").expect("parses")));
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = Url::parse("http://127.0.0.1:5/dl/a/b?q=1").expect("parses");
        let joined = |l: &str| base.join(l).map(|u| u.to_string());
        assert_eq!(joined("/x").as_deref(), Ok("http://127.0.0.1:5/x"));
        assert_eq!(joined("c").as_deref(), Ok("http://127.0.0.1:5/dl/a/c"));
        assert_eq!(joined("../c?z").as_deref(), Ok("http://127.0.0.1:5/dl/c?z"));
        assert_eq!(joined("./").as_deref(), Ok("http://127.0.0.1:5/dl/a/"));
        assert_eq!(joined("?r").as_deref(), Ok("http://127.0.0.1:5/dl/a/b?r"));
        assert_eq!(joined("").as_deref(), Ok("http://127.0.0.1:5/dl/a/b?q=1"));
        assert_eq!(joined("/a/../../b").as_deref(), Ok("http://127.0.0.1:5/b"));
        assert_eq!(joined("//[::1]:6/y").as_deref(), Ok("http://[::1]:6/y"));
        assert_eq!(
            joined("https://h.example/z#f").as_deref(),
            Ok("https://h.example/z")
        );
        assert!(joined(r"\\10.0.0.1\x").is_err());
        assert!(joined("//u@127.0.0.1/").is_err());
        assert!(joined("ftp://127.0.0.1/").is_err());
        let far = base.join("//10.0.0.1/").expect("parses");
        assert!(!far.is_loopback());
    }

    #[test]
    fn the_resolver_keeps_loopback_addresses_only() {
        let addrs: Vec<SocketAddr> = [
            "127.0.0.1:1",
            "10.0.0.1:1",
            "[::1]:1",
            "[2001:db8::1]:1",
            "[::ffff:127.0.0.2]:1",
            "[::ffff:10.0.0.1]:1",
            "0.0.0.0:1",
            "127.9.9.9:1",
        ]
        .iter()
        .map(|s| s.parse().expect("a socket address"))
        .collect();
        let kept: Vec<String> = allowed_addrs(addrs.clone(), false)
            .iter()
            .map(SocketAddr::to_string)
            .collect();
        assert_eq!(
            kept,
            [
                "127.0.0.1:1",
                "[::1]:1",
                "[::ffff:127.0.0.2]:1",
                "127.9.9.9:1"
            ]
        );
        assert_eq!(allowed_addrs(addrs.clone(), true), addrs);
        assert!(allowed_addrs(["10.0.0.1:1".parse().expect("addr")], false).is_empty());
    }
}
