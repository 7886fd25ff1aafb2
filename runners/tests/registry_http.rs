//! The registry transport against HTTP doubles (wiremock): how `connect` reads config.json the
//! way Cargo does, and what it refuses. The reference registry is a real server tested
//! elsewhere; these doubles answer what a real registry would rarely do on purpose.

use std::time::Duration;

use credlab_runners::registry_run::{ConnectError, Target, connect, run_auth_case};
use credlab_suite::judge::Outcome;
use credlab_suite::keys::SecretKey;
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn target(server: &MockServer) -> Target {
    Target {
        index_url: format!("sparse+{}/index/", server.uri()),
        key: SecretKey::generate(),
        plain: None,
        subject: None,
        max_age: Duration::from_secs(900),
        max_skew: Duration::from_secs(60),
        allow_remote: false,
        timeout: Duration::from_secs(5),
        secrets: Default::default(),
    }
}

async fn connect_in_thread(
    target: Target,
) -> Result<credlab_runners::registry_run::Session, ConnectError> {
    tokio::task::spawn_blocking(move || connect(target))
        .await
        .expect("no panic")
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_config_with_a_token_after_401_like_cargo() {
    let server = MockServer::start().await;
    let config = serde_json::json!({"dl": format!("{}/dl", server.uri()), "api": server.uri(), "auth-required": true});
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(config)
                .insert_header("date", "Thu, 26 Nov 2026 01:00:00 GMT"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "Cargo login_url=\"https://x/me\""),
        )
        .expect(1)
        .mount(&server)
        .await;
    let session = connect_in_thread(target(&server)).await.expect("connects");
    assert!(session.auth_required);
    assert_eq!(session.client.api.as_deref(), Some(server.uri().as_str()));
    let requests = server.received_requests().await.unwrap();
    let token = requests
        .iter()
        .find_map(|r| r.headers.get("authorization"))
        .expect("the retry carried a token")
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        token.starts_with("v3.public."),
        "raw token, no scheme: {token}"
    );
}

/// A 403 to the anonymous config.json is the target's fault, not the end of the run: credlab
/// retries with its read token (as after a 401) and goes on, keeping the 403 for
/// `registry::auth::config-401-without-token` to judge.
#[tokio::test(flavor = "multi_thread")]
async fn a_403_to_the_anonymous_config_is_retried_with_a_token() {
    let server = MockServer::start().await;
    let config = serde_json::json!({"dl": format!("{}/dl", server.uri()), "api": server.uri(), "auth-required": true});
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(config))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(serde_json::json!({"errors": [{"detail": "forbidden"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let session = connect_in_thread(target(&server))
        .await
        .expect("a 403 does not stop the run");
    assert!(session.auth_required);
    assert_eq!(session.client.api.as_deref(), Some(server.uri().as_str()));
    assert!(
        session
            .facts
            .get("config.json (anonymous)")
            .is_some_and(|f| f.contains("403")),
        "{:?}",
        session.facts
    );
    let outcome = |id: &str| {
        let files = credlab_suite::vectors::embedded::auth_files();
        let case = files
            .iter()
            .flat_map(|f| &f.cases)
            .find(|c| c.id.as_str() == id)
            .expect("an auth case");
        run_auth_case(&session, case).outcome
    };
    assert!(matches!(
        outcome("registry::auth::config-401-without-token"),
        Outcome::Fail { found, .. } if found.contains("403")
    ));
    assert_eq!(
        outcome("registry::auth::read-token-accepted"),
        Outcome::Pass
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_an_api_on_crates_io_and_reports_unreachable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"dl": "x", "api": "https://crates.io"})),
        )
        .mount(&server)
        .await;
    match connect_in_thread(target(&server)).await {
        // The URL came from the target (config.json), not from the user: the target's fault.
        Err(ConnectError::TargetUrl(m)) => assert!(m.contains("crates.io"), "{m}"),
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    let broken = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&broken)
        .await;
    assert!(matches!(
        connect_in_thread(target(&broken)).await,
        Err(ConnectError::Unreachable(_))
    ));
    let not_json = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&not_json)
        .await;
    assert!(
        matches!(connect_in_thread(target(&not_json)).await, Err(ConnectError::Unreachable(m)) if m.contains("not JSON"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_never_answers_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/index/config.json"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let mut t = target(&server);
    t.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    assert!(matches!(
        connect_in_thread(t).await,
        Err(ConnectError::Unreachable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}
