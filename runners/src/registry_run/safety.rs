//! Which registries credlab may send tokens to: loopback only unless the user says otherwise,
//! and never crates.io (credlab publishes and yanks probe crates).

/// Hosts credlab never talks to.
const CRATES_IO: [&str; 4] = [
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "static.rust-lang.org",
];

/// The host of a URL like `sparse+https://host:port/path`.
pub fn host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sparse+").unwrap_or(url);
    let (_, after) = rest.split_once("://")?;
    let authority = after.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?.to_string()
    } else {
        host_port.split(':').next()?.to_string()
    };
    Some(host.to_ascii_lowercase())
}

/// Refuses crates.io always, and non-loopback hosts without `allow_remote`.
pub fn check(url: &str, allow_remote: bool) -> Result<(), String> {
    let Some(host) = host(url) else {
        return Err(format!("{url:?} is not a URL with a host"));
    };
    if CRATES_IO
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")))
        || url.contains("github.com/rust-lang/crates.io-index")
    {
        return Err("credlab never sends test tokens or probe crates to crates.io".into());
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback && !allow_remote {
        return Err(format!(
            "{host} is not a loopback address; credlab publishes and yanks probe crates there, \
             so pass --allow-remote if that is what you want"
        ));
    }
    Ok(())
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
}
