//! The provider cases, by group.

use super::build::*;
use super::cite::*;
use crate::cases::Level::{Info, Must, Should};
use crate::cases::flags::Flag;
use crate::cases::provider::{Answer::*, Check, Feature};
use crate::provider::CloseStdin;

/// Every answer a well-formed provider can give.
const REFUSALS: [crate::cases::provider::Answer; 5] = crate::cases::provider::Answer::REFUSALS;

const ANY: [crate::cases::provider::Answer; 7] = [
    OkGet,
    OkLogin,
    OkLogout,
    ErrUrlNotSupported,
    ErrNotFound,
    ErrOperationNotSupported,
    ErrOther,
];

pub fn handshake_group() -> Group {
    let mut g = Group::new(
        "provider::handshake",
        "The hello: Cargo reads one line before it writes anything.",
    );
    g.case("hello", Must, "the first stdout line, sent before any input, is a hello whose `v` lists protocol version 1")
        .spec(&[PROTO_HELLO, LIB_HELLO, PROTO_ARGV])
        .flags(&[Flag::Handshake])
        .run(vec![hello_only()], answers(&[]).any_exit());
    g.case(
        "eof-after-hello",
        Should,
        "stdin closed right after the hello: the provider exits 0 without writing anything more",
    )
    .spec(&[LIB_LOOP])
    .flags(&[Flag::Handshake, Flag::Lifecycle])
    .run(vec![hello_only()], answers(&[]));
    g.case(
        "hello-exact",
        Info,
        "the hello is byte for byte `{\"v\":[1]}` (Cargo also accepts extra versions and fields)",
    )
    .spec(&[LIB_HELLO])
    .flags(&[Flag::Handshake])
    .run(
        vec![hello_only()],
        answers(&[]).checks(&[Check::HelloExact]).any_exit(),
    );
    g
}

fn hello_only() -> crate::cases::provider::Step {
    crate::cases::provider::Step {
        send: crate::cases::provider::Send::Nothing,
        close_stdin: CloseStdin::AfterHello,
        read_response: false,
    }
}

pub fn get_group() -> Group {
    let mut g = Group::new(
        "provider::get",
        "`get` for every operation, with the credential stored by the run's login.",
    );
    for op in ["read", "publish", "yank", "unyank", "owners"] {
        g.case(op, Must, &format!("get for `{op}` answers one `Ok` get line Cargo parses (token, cache, operation_independent)"))
            .spec(&[PROTO_REQUEST, LIB_REQUEST, LIB_RESPONSE, AUTH_KIND])
            .flags(&[Flag::Get])
            .requires(&[Feature::Login])
            .setup(logged_in())
            .run(vec![line(get(op))], answers(&[OkGet]).unimplemented(&[ErrOperationNotSupported]));
    }
    let headers = r#"["WWW-Authenticate: Cargo login_url=\"https://registry.credlab.test/me\"","X-Test: yes"]"#;
    g.case("read-with-headers", Must, "get/read carrying `registry.headers` from a 401, as Cargo sends after an authentication challenge")
        .spec(&[HEADERS, LIB_REQUEST])
        .flags(&[Flag::Get])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(vec![line(get_with(&registry("${index_url}", true, Some(headers)), "read", ""))], answers(&[OkGet]));
    g.case(
        "read-without-registry-name",
        Must,
        "get/read without `registry.name` (Cargo omits it for registries known only by URL)",
    )
    .spec(&[LIB_REQUEST])
    .flags(&[Flag::Get])
    .requires(&[Feature::Login])
    .setup(logged_in())
    .run(
        vec![line(get_with(
            &registry("${index_url}", false, None),
            "read",
            "",
        ))],
        answers(&[OkGet, ErrNotFound, ErrUrlNotSupported]),
    );
    g.case(
        "unknown-operation",
        Should,
        "get with an operation Cargo may add later: a token, or operation-not-supported",
    )
    .spec(&[LIB_REQUEST, LIB_ERRORS])
    .flags(&[Flag::Get, Flag::ForwardCompat])
    .requires(&[Feature::Login])
    .setup(logged_in())
    .run(
        vec![line(get_with(
            &registry("${index_url}", true, None),
            "frobnicate",
            ",\"x\":1",
        ))],
        answers(&[OkGet, ErrOperationNotSupported]),
    );
    g.case(
        "token-is-header-value",
        Should,
        "the token is non-empty visible ASCII: Cargo sends it verbatim as the Authorization header",
    )
    .spec(&[TOKEN_HEADER])
    .flags(&[Flag::Get])
    .requires(&[Feature::Login])
    .setup(logged_in())
    .run(
        vec![line(get("read"))],
        answers(&[OkGet]).checks(&[Check::TokenHeaderSafe]),
    );
    g
}

pub fn errors_group() -> Group {
    let mut g = Group::new(
        "provider::errors",
        "The error kinds Cargo acts on: url-not-supported and not-found fall through to the next provider, anything else is fatal.",
    );
    g.case("url-not-supported", Should, "get/read for an index URL the provider does not serve answers url-not-supported, so Cargo tries the next provider")
        .spec(&[LIB_ERRORS, PROTO_ERRORS, AUTH_FALLBACK])
        .flags(&[Flag::Errors])
        .requires(&[Feature::UnsupportedUrl])
        .run(vec![line(get_with(&registry("${unsupported_url}", true, None), "read", ""))], answers(&[ErrUrlNotSupported]));
    g.case(
        "not-found",
        Should,
        &format!("get/read with nothing stored answers not-found (Cargo then suggests `cargo login`){UNNAMED_REGISTRY}"),
    )
    .spec(&[LIB_ERRORS, PROTO_ERRORS])
    .flags(&[Flag::Errors])
    .requires(&[Feature::Login, Feature::EmptyRegistry])
    .run(vec![line(get("read"))], answers(&[ErrNotFound]));
    g.case(
        "logout-nothing-stored",
        Should,
        &format!("logout with nothing stored answers not-found (Cargo reports 'not currently logged in'){UNNAMED_REGISTRY}"),
    )
    .spec(&[PROTO_ERRORS])
    .flags(&[Flag::Errors, Flag::Logout])
    .requires(&[Feature::Login, Feature::EmptyRegistry])
    .run(
        vec![line(logout())],
        answers(&[ErrNotFound]).unimplemented(&[ErrOperationNotSupported]),
    );
    g
}

/// Where the "nothing stored" cases run when the user's registry always holds a token.
const UNNAMED_REGISTRY: &str = ". With --stored-token the user's registry is never empty: the case then runs at the isolation cases' other registry, which no stored token names, and url-not-supported is accepted there too (the provider need not serve that URL; Cargo moves on after either)";

pub fn login_group() -> Group {
    let mut g = Group::new(
        "provider::login",
        "login and logout: storing and erasing the credential.",
    );
    g.case("with-token", Must, "login with a token answers `Ok` login; a provider that cannot store tokens answers operation-not-supported (reported as unimplemented: Cargo moves on to the next provider), never `other`, which makes Cargo fail `cargo login` with that error")
        .spec(&[PROTO_LOGIN, LIB_REQUEST, AUTH_KIND])
        .flags(&[Flag::Login])
        .run(
            vec![line(login(Some("${login_token}"), None))],
            answers(&[OkLogin]).unimplemented(&[ErrOperationNotSupported]),
        );
    g.case(
        "with-token-and-login-url",
        Must,
        "login with a token and the registry's login-url",
    )
    .spec(&[PROTO_LOGIN, LIB_REQUEST])
    .flags(&[Flag::Login])
    .run(
        vec![line(login(
            Some("${login_token}"),
            Some("https://registry.credlab.test/me"),
        ))],
        answers(&[OkLogin]).unimplemented(&[ErrOperationNotSupported]),
    );
    g.case("without-token", Must, "login with no token and stdin still open: the provider answers (never reads the token from the protocol pipe or blocks on a terminal)")
        .spec(&[LIB_STDIO, PROTO_EXIT])
        .flags(&[Flag::Login, Flag::NoTty])
        .run(vec![line(login(None, Some("https://registry.credlab.test/me")))], answers(&ANY));
    g.case(
        "token-is-stored",
        Should,
        "after login, a get in a new process returns exactly the token given",
    )
    .spec(&[PROTO_LOGIN])
    .flags(&[Flag::Login, Flag::Get])
    .requires(&[Feature::StoresTokens])
    .setup(logged_in())
    .run(
        vec![line(get("read"))],
        answers(&[OkGet]).checks(&[Check::TokenIsLoginToken]),
    );
    g.case("escaped-token", Should, "login with a token Cargo writes with JSON escapes (`a\\\"b\\\\c é`), then get: it returns the token decoded (cargo-credential 0.4.11 itself fails this)")
        .spec(&[ISSUE_13615, PROTO_LOGIN])
        .flags(&[Flag::Login, Flag::Escapes])
        .requires(&[Feature::StoresTokens])
        .run(
            vec![line(login(Some("a\\\"b\\\\c é"), None)), line(get("read"))],
            answers(&[OkGet])
                .step(1, &[OkLogin])
                .unimplemented(&[ErrOperationNotSupported])
                .checks(&[Check::TokenIsLoginToken]),
        );
    g.case(
        "logout-after-login",
        Must,
        "logout after a login answers `Ok` logout",
    )
    .spec(&[LIB_REQUEST, AUTH_KIND])
    .flags(&[Flag::Logout])
    .requires(&[Feature::Login])
    .setup(logged_in())
    .run(
        vec![line(logout())],
        answers(&[OkLogout]).unimplemented(&[ErrOperationNotSupported]),
    );
    g.case(
        "get-after-logout",
        Should,
        "after login then logout, get answers not-found",
    )
    .spec(&[PROTO_ERRORS])
    .flags(&[Flag::Logout, Flag::Get])
    .requires(&[Feature::Login])
    .setup(vec![
        line(login(Some("${login_token}"), None)),
        line(logout()),
    ])
    .run(vec![line(get("read"))], answers(&[ErrNotFound]));
    g.case("logout-unknown-argument", Must, "logout with an argument the provider does not know: a well-formed answer, never a crash or garbage")
        .spec(&[PROTO_REQUEST])
        .flags(&[Flag::Logout, Flag::Args])
        .run(vec![line(format!("{{\"v\":1,{},\"kind\":\"logout\",\"args\":[\"--definitely-unknown\"]}}", registry("${index_url}", true, None)))], answers(&ANY));
    g
}

pub fn cache_group() -> Group {
    let mut g = Group::new("provider::cache", "Cache control in get answers.");
    g.case("known-value", Must, "`cache` is never, session or expires: Cargo parses anything else as Unknown and silently never caches")
        .spec(&[LIB_RESPONSE, AUTH_CACHE])
        .flags(&[Flag::Cache])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(vec![line(get("read"))], answers(&[OkGet]).checks(&[Check::CacheKnown]));
    g.case("expiration-ahead", Should, "an `expires` answer expires more than a minute from now (Cargo discards entries within a minute of expiry)")
        .spec(&[AUTH_CACHE])
        .flags(&[Flag::Cache])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(vec![line(get("publish"))], answers(&[OkGet]).checks(&[Check::ExpirationAhead]).unimplemented(&[ErrOperationNotSupported]));
    g
}

pub fn framing_group() -> Group {
    let mut g = Group::new(
        "provider::framing",
        "Lines, stdout hygiene and process lifecycle, and request encodings Cargo may send.",
    );
    let logged = || logged_in();
    g.case("response-newline", Must, "the response ends with a newline, flushed while stdin is still open (else Cargo waits forever)")
        .spec(&[PROTO_LINES, PROTO_REQUEST])
        .flags(&[Flag::Framing])
        .run(vec![line(logout())], answers(&ANY).checks(&[Check::ResponseNewline]));
    g.case(
        "exit-after-eof",
        Must,
        "after the response, closing stdin makes the provider exit (Cargo's wait has no timeout)",
    )
    .spec(&[PROTO_EXIT])
    .flags(&[Flag::Framing, Flag::Lifecycle])
    .run(vec![line(logout())], answers(&ANY));
    g.case(
        "exit-zero-after-error",
        Must,
        "the exit status is 0 after an Err answer too (a non-zero status makes Cargo discard it)",
    )
    .spec(&[PROTO_EXIT])
    .flags(&[Flag::Framing, Flag::Lifecycle])
    .run(
        vec![line(get_with(
            &registry("${index_url}", true, None),
            "read",
            "",
        ))],
        answers(&ANY),
    );
    g.case("stdout-only-protocol", Must, "stdout carries the hello and one response line and nothing else (diagnostics go to stderr)")
        .spec(&[PROTO_LINES])
        .flags(&[Flag::Framing])
        .requires(&[Feature::Login])
        .setup(logged())
        .run(vec![line(get("publish"))], answers(&[OkGet]).unimplemented(&[ErrOperationNotSupported]));
    let url_name = registry("${index_url}", true, None);
    for (slug, level, description, request) in [
        (
            "keys-reordered",
            Must,
            "the request's keys in another order (`kind` first, `registry` last)",
            format!(
                "{{\"kind\":\"get\",\"operation\":\"read\",\"v\":1,{url_name}${{args_field}}}}"
            ),
        ),
        (
            "unknown-fields",
            Must,
            "unknown fields at the top level and inside `registry` (Cargo added `headers` after release)",
            "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\",\"x-future\":{\"a\":[1]}},\"kind\":\"get\",\"operation\":\"read\",\"extra\":true${args_field}}".to_string(),
        ),
        (
            "empty-args",
            Must,
            "`\"args\":[]` written out (Cargo omits an empty list)",
            format!("{{\"v\":1,{url_name},\"kind\":\"get\",\"operation\":\"read\",\"args\":[]}}"),
        ),
        (
            "non-ascii-url",
            Must,
            "an index URL with raw non-ASCII UTF-8 (serde_json does not escape it)",
            get_with(&registry("${index_url}é/", true, None), "read", ""),
        ),
    ] {
        let expected = if slug == "non-ascii-url" {
            answers(&[OkGet, ErrNotFound, ErrUrlNotSupported])
        } else {
            answers(&[OkGet])
        };
        // `"args":[]` replaces the config arguments: only for a provider that needs none.
        let requires: &[Feature] = if slug == "empty-args" {
            &[Feature::Login, Feature::NoConfigArgs]
        } else {
            &[Feature::Login]
        };
        g.case(
            slug,
            level,
            &format!("get/read with {description}: the same answer"),
        )
        .spec(&[LIB_REQUEST])
        .flags(&[Flag::Framing, Flag::Encoding])
        .requires(requires)
        .setup(logged())
        .run(vec![line(request)], expected);
    }
    g.case("escaped-slashes", Should, "the index URL written with `\\/` escapes, valid JSON some encoders produce (cargo-credential 0.4.11 itself fails this)")
        .spec(&[ISSUE_13615])
        .flags(&[Flag::Framing, Flag::Escapes])
        .requires(&[Feature::Login])
        .setup(logged())
        .run(vec![line(get_with(&registry("${index_url_escaped_slashes}", true, None), "read", ""))], answers(&[OkGet]));
    g.case(
        "crlf",
        Should,
        "the request ends in `\\r\\n` (JSON whitespace)",
    )
    .spec(&[PROTO_LINES])
    .flags(&[Flag::Framing])
    .requires(&[Feature::Login])
    .setup(logged())
    .run(
        vec![crate::cases::provider::Step {
            send: crate::cases::provider::Send::Line {
                line: get("read"),
                terminator: "\r\n".into(),
            },
            close_stdin: CloseStdin::AfterResponse,
            read_response: true,
        }],
        answers(&[OkGet]),
    );
    g.case(
        "no-newline-then-eof",
        Should,
        "the request without a trailing newline, then EOF: the provider still answers, then exits",
    )
    .spec(&[LIB_LOOP])
    .flags(&[Flag::Framing, Flag::Lifecycle])
    .requires(&[Feature::Login])
    .setup(logged())
    .run(
        vec![crate::cases::provider::Step {
            send: crate::cases::provider::Send::Line {
                line: get("read"),
                terminator: String::new(),
            },
            close_stdin: CloseStdin::AfterRequest,
            read_response: true,
        }],
        answers(&[OkGet]),
    );
    g
}

pub fn malformed_group() -> Group {
    let mut g = Group::new(
        "provider::malformed",
        "Input Cargo never sends: the provider must fail closed — an Err line or a silent exit, never a hang, never non-JSON output, never Ok.",
    );
    let reg = registry("${index_url}", true, None);
    let cases: Vec<(&str, &str, String)> = vec![
        ("not-json", "`hello world`", "hello world\n".into()),
        (
            "protocol-version-2",
            "a request with `\"v\":2` (must not be served as version 1)",
            format!("{{\"v\":2,{reg},\"kind\":\"get\",\"operation\":\"read\"}}\n"),
        ),
        (
            "missing-registry",
            "a request without `registry`",
            "{\"v\":1,\"kind\":\"get\",\"operation\":\"read\"}\n".into(),
        ),
        (
            "missing-kind",
            "a request without `kind`",
            format!("{{\"v\":1,{reg},\"operation\":\"read\"}}\n"),
        ),
        (
            "missing-v",
            "a request without `v`",
            format!("{{{reg},\"kind\":\"get\",\"operation\":\"read\"}}\n"),
        ),
        (
            "missing-operation",
            "a get without `operation`",
            format!("{{\"v\":1,{reg},\"kind\":\"get\"}}\n"),
        ),
        (
            "publish-without-cksum",
            "a publish get without `cksum`",
            format!(
                "{{\"v\":1,{reg},\"kind\":\"get\",\"operation\":\"publish\",\"name\":\"{CRATE}\",\"vers\":\"{VERS}\"}}\n"
            ),
        ),
        (
            "v-as-string",
            "`\"v\":\"1\"`",
            format!("{{\"v\":\"1\",{reg},\"kind\":\"get\",\"operation\":\"read\"}}\n"),
        ),
        (
            "args-not-strings",
            "`\"args\":[1]`",
            format!("{{\"v\":1,{reg},\"kind\":\"get\",\"operation\":\"read\",\"args\":[1]}}\n"),
        ),
        (
            "registry-not-object",
            "`\"registry\":\"x\"`",
            "{\"v\":1,\"registry\":\"x\",\"kind\":\"get\",\"operation\":\"read\"}\n".into(),
        ),
        ("blank-line", "an empty line", "\n".into()),
        (
            "pretty-printed",
            "a request spread over several lines",
            format!(
                "{{\n  \"v\": 1,\n  {reg},\n  \"kind\": \"get\",\n  \"operation\": \"read\"\n}}\n"
            ),
        ),
        ("json-array", "a JSON array", "[1,2,3]\n".into()),
    ];
    for (slug, description, input) in cases {
        // A provider that ignores `v` answers a request for a registry it has nothing for with
        // not-found, which is allowed: these cases store a token first, so serving the request
        // as version 1 shows up as an Ok.
        let about_v = matches!(slug, "protocol-version-2" | "missing-v" | "v-as-string");
        // A blank line is followed by EOF: a JSON-lines reader may skip blank lines and wait
        // for the next request, and Cargo never writes one (it writes one serialized request
        // per process), so what matters is that the provider fails closed, not that it
        // answers a line Cargo does not send. Waiting with stdin open would only time it out.
        let blank = slug == "blank-line";
        let described = if blank {
            format!(
                "{description}, then stdin closed: an Err line, or nothing and exit 0 at EOF; no hang, no crash, no garbage, no Ok. Cargo never writes a blank line (one serialized request per process, then it closes stdin after the response); cargo-credential answers it Err other and exits 0 (docs/observed.md §1); a reader that skips blank lines, as JSON-lines readers do, meets EOF and exits"
            )
        } else {
            format!(
                "{description}{}: an Err line or a silent exit; no hang, no garbage, no Ok",
                if about_v {
                    ", with a token stored for the registry"
                } else {
                    ""
                }
            )
        };
        let case = g
            .case(slug, Must, &described)
            .spec(&[PROTO_REQUEST, LIB_LOOP, DIGEST_OBSERVED])
            .flags(&[Flag::Malformed]);
        let case = if about_v {
            case.requires(&[Feature::Login]).setup(logged_in())
        } else {
            case
        };
        let mut step = text(input);
        if blank {
            step.close_stdin = CloseStdin::AfterRequest;
            case.flags(&[Flag::Lifecycle])
                .run(vec![step], answers(&REFUSALS));
        } else {
            case.run(vec![step], answers(&REFUSALS));
        }
    }
    g.case(
        "truncated-then-eof",
        Must,
        "half a request, then EOF: an Err line or a silent exit, no hang",
    )
    .spec(&[LIB_LOOP])
    .flags(&[Flag::Malformed, Flag::Lifecycle])
    .run(
        vec![crate::cases::provider::Step {
            send: crate::cases::provider::Send::Text {
                text: format!("{{\"v\":1,{}", &reg[..25]),
            },
            close_stdin: CloseStdin::AfterRequest,
            read_response: true,
        }],
        answers(&REFUSALS),
    );
    g.case("invalid-utf8", Must, "bytes that are not UTF-8 inside a string: an Err line or a silent exit")
        .spec(&[LIB_LOOP, DIGEST_OBSERVED])
        .flags(&[Flag::Malformed, Flag::Encoding])
        .run(vec![crate::cases::provider::Step {
            send: crate::cases::provider::Send::Bytes { base64: crate::b64::encode(b"{\"v\":1,\"registry\":{\"index-url\":\"\xff\xfe\"},\"kind\":\"get\",\"operation\":\"read\"}\n") },
            close_stdin: CloseStdin::AfterResponse,
            read_response: true,
        }], answers(&REFUSALS));
    for (slug, kind) in [("unknown-kind", "refresh"), ("uppercase-kind", "GET")] {
        g.case(slug, Should, &format!("a request of kind `{kind}` (kinds are case-sensitive; unknown kinds are for future Cargo): operation-not-supported"))
            .spec(&[LIB_REQUEST, LIB_ERRORS])
            .flags(&[Flag::Malformed, Flag::ForwardCompat])
            .run(vec![line(format!("{{\"v\":1,{reg},\"kind\":\"{kind}\"${{args_field}}}}"))], answers(&[ErrOperationNotSupported]));
    }
    g
}

pub fn robustness_group() -> Group {
    let mut g = Group::new(
        "provider::robustness",
        "Inputs at the edge of what Cargo sends.",
    );
    g.case("huge-header", Should, "get/read with a 16 MiB `registry.headers` entry (Cargo sets no size limit): a normal answer")
        .spec(&[HEADERS, PROTO_REQUEST])
        .flags(&[Flag::Robustness])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(vec![line(get_with(&registry("${index_url}", true, Some("[\"${huge_header}\"]")), "read", ""))], answers(&[OkGet]));
    g.case("stdin-closed-after-request", Should, "stdin closed right after the request, before the answer: the provider still answers, then exits")
        .spec(&[LIB_LOOP])
        .flags(&[Flag::Robustness, Flag::Lifecycle])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(vec![crate::cases::provider::Step {
            send: crate::cases::provider::Send::Line { line: get("read"), terminator: "\n".into() },
            close_stdin: CloseStdin::AfterRequest,
            read_response: true,
        }], answers(&[OkGet]));
    g.case(
        "no-processes-left",
        Should,
        "no exchange of the run leaves a process running once the provider exited (a double-forked or setsid daemon): Cargo waits for the provider alone, so the daemon lives on in the user's session or CI job. Should: Cargo works, but a credential helper left running holds memory and, often, secrets.",
    )
    .spec(&[PROTO_EXIT, PROTO_ARGV])
    .flags(&[Flag::Lifecycle, Flag::RunWide])
    .run(
        vec![line(login(Some("${login_token}"), None)), line(get("read")), line(logout())],
        answers(&EVERY).checks(&[Check::NoProcessesLeft]).any_exit(),
    );
    g
}

/// An index URL Cargo keeps byte for byte although a normaliser would change it.
const ODD_URL: &str = "sparse+https://Registry.Credlab.TEST:443/Index/";

pub fn token_group() -> Group {
    let mut g = Group::new(
        "provider::token",
        "Providers that answer with PASETO v3.public tokens (asymmetric tokens): every token must verify for exactly its request.",
    );
    for op in ["read", "publish", "yank", "unyank", "owners"] {
        g.case(&format!("{op}-binding"), Must, &format!("the {op} token verifies under the login key for exactly this request: footer url = index-url verbatim, kip, mutation, name, vers, cksum, fresh iat"))
            .spec(&[PASETO_PROVIDER, RFC_3231])
            .flags(&[Flag::Token, Flag::Binding])
            .requires(&[Feature::GeneratesPaseto])
            .setup(logged_in())
            .run(vec![line(get(op))], answers(&[OkGet]).checks(&[Check::TokenVerifies]));
    }
    g.case("url-verbatim", Must, "an index URL with upper-case host and explicit default port: the footer carries it byte for byte, as Cargo does")
        .spec(&[PASETO_PROVIDER, RFC_3231])
        .flags(&[Flag::Token, Flag::Binding, Flag::Url])
        .requires(&[Feature::GeneratesPaseto])
        .setup(vec![line(login_at(ODD_URL, Some("${login_token}"), None))])
        .run(vec![line(get_with(&registry(ODD_URL, true, None), "yank", &fields("yank")))], answers(&[OkGet]).checks(&[Check::TokenVerifies]));
    for op in ["publish", "yank", "owners"] {
        g.case(&format!("{op}-not-cacheable"), Must, &format!("a {op} token is scoped to one operation: `cache` never and `operation_independent` false, so Cargo asks again for the next mutation"))
            .spec(&[PASETO_PROVIDER, AUTH_CACHE, PROTO_CACHE])
            .flags(&[Flag::Token, Flag::Cache])
            .requires(&[Feature::GeneratesPaseto])
            .setup(logged_in())
            .run(vec![line(get(op))], answers(&[OkGet]).checks(&[Check::MutationNotCached]));
    }
    g.case(
        "fresh-per-mutation",
        Must,
        "two publish requests get two different tokens: a mutation token is never handed out twice",
    )
    .spec(&[PASETO_PROVIDER, RFC_3231])
    .flags(&[Flag::Token, Flag::Replay])
    .requires(&[Feature::GeneratesPaseto])
    .setup(logged_in())
    .run(
        vec![line(get("publish")), line(get("publish"))],
        answers(&[OkGet]).checks(&[Check::TokensDiffer, Check::TokenVerifies]),
    );
    g
}

/// Every answer and none: the run-wide cases judge only where secrets and processes go.
const EVERY: [crate::cases::provider::Answer; 8] = crate::cases::provider::Answer::ALL;

/// The exchanges every secrets case makes: a login with the run's secret, gets that return
/// tokens, an unknown operation and a login Cargo would never send (paths where providers
/// print errors), logouts, and a get with nothing stored.
fn secret_exchanges() -> Vec<crate::cases::provider::Step> {
    vec![
        line(login(Some("${login_token}"), None)),
        line(get("read")),
        line(get("publish")),
        line(get_with(
            &registry("${index_url}", true, None),
            "frobnicate",
            "",
        )),
        line(
            "{\"v\":1,\"registry\":{\"index-url\":\"${index_url}\",\"name\":\"${registry_name}\"},\"kind\":\"login\",\"token\":\"${login_token}\",\"args\":{\"not\":\"an array\"}}",
        ),
        line(logout()),
        line(logout()),
        line(get("read")),
    ]
}

pub fn isolation_group() -> Group {
    let mut g = Group::new(
        "provider::isolation",
        "Registries kept apart: a credential is returned only for the registry it was stored for, and only removed for it. Cargo sends whatever a provider returns to the registry it asked for, so A's token handed to B is a token sent to another server. (Two registries with the same index URL and different names are not tested apart: Cargo's own keyring providers key by index URL alone, and the token would reach the same server.)",
    );
    let b_other = registry("${other_index_url}", true, None)
        .replace("${registry_name}", "${other_registry_name}");
    let b_same_name = registry("${other_index_url}", true, None);
    let refusals = [ErrNotFound, ErrUrlNotSupported];
    // Same name, other URL: should, not must, because Cargo's own `cargo:token` fails it.
    let same_name_why = " (a provider keyed by name alone hands a token to whatever server the name now points at: a project's `.cargo/config.toml` can point a registry name the user logged in to at another server). Should, not must: Cargo's own `cargo:token` keys tokens by registry name and behaves exactly so (cargo 1.95.0 sent the token stored for a name to the server a project config re-pointed that name at, and `cargo logout` there removed it: docs/observed.md §3)";
    for (slug, level, b, what, why, spec) in [
        (
            "other-registry",
            Must,
            &b_other,
            "another index URL (on another host) and another name",
            "",
            &[AUTH_KEYED, PROTO_REQUEST][..],
        ),
        (
            "same-name-other-url",
            Should,
            &b_same_name,
            "the same name but another index URL (on another host)",
            same_name_why,
            &[
                AUTH_KEYED,
                PROTO_REQUEST,
                TOKEN_BY_NAME,
                TOKEN_BY_NAME_OBSERVED,
            ][..],
        ),
    ] {
        g.case(
            &format!("get-{slug}"),
            level,
            &format!("after a login for registry A, get for registry B with {what} answers not-found or url-not-supported, never A's token{why}"),
        )
        .spec(spec)
        .flags(&[Flag::Isolation])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(vec![line(get_with(b, "read", ""))], answers(&refusals));
        g.case(
            &format!("logout-{slug}"),
            level,
            &format!("after a login for registry A, a logout for registry B with {what} leaves A's credential: get for A still answers it{why}"),
        )
        .spec(spec)
        .flags(&[Flag::Isolation, Flag::Logout])
        .requires(&[Feature::Login])
        .setup(logged_in())
        .run(
            vec![
                line(format!("{{\"v\":1,{b},\"kind\":\"logout\"${{args_field}}}}")),
                line(get("read")),
            ],
            answers(&[OkGet])
                .step(1, &[ErrNotFound, ErrUrlNotSupported, ErrOperationNotSupported, OkLogout])
                .checks(&[Check::TokenIsThisRegistrys]),
        );
    }
    g
}

pub fn secrets_group() -> Group {
    let mut g = Group::new(
        "provider::secrets",
        "Secrets stay out of logs: the leak asymmetric tokens were made to prevent. Each check covers this case's own exchanges and, in a full run, every exchange of the run (the probe, every setup, every case).",
    );
    let cases: [(&str, _, &str, &[&str], Check); 4] = [
        (
            "login-token-not-logged",
            Must,
            "the login token (for a PASETO provider, its secret key; also a key given in the provider's environment) is never written whole on stderr, in any exchange of the run. Must: Cargo passes a provider's stderr to the terminal and the CI log, and a logged secret is exactly the compromise RFC 3231 was written against.",
            &[RFC_3231_MOTIVATION, PROTO_STDERR],
            Check::LoginTokenNotLogged,
        ),
        (
            "returned-token-not-logged",
            Must,
            "no token a get returned is ever written whole on stderr, in any exchange of the run. Must: a read token stays valid for the whole freshness window and Cargo reuses it, so a logged one is a usable credential.",
            &[RFC_3231_MOTIVATION, PROTO_STDERR],
            Check::ReturnedTokensNotLogged,
        ),
        (
            "only-in-token-field",
            Must,
            "on stdout a secret appears only as the `token` of a get answer: never in the hello, an Err message or caused-by (Cargo prints those to the user), or after the response, in any exchange of the run. Must: an error message is a log line.",
            &[RFC_3231_MOTIVATION, AUTH_ERRORS_SHOWN, LIB_ERRORS],
            Check::SecretsOnlyInTokenField,
        ),
        (
            "no-fragments",
            Should,
            "no part of a secret (16 or more of its characters, e.g. a \"k3.secret.fNYVuMvBgOlljt9T…\" preview) on stderr or outside the token field, in any exchange of the run. Should, not must: a fragment is not the credential, but 16 base64 characters are 96 bits of it.",
            &[RFC_3231_MOTIVATION, PROTO_STDERR],
            Check::NoSecretFragments,
        ),
    ];
    for (slug, level, description, spec, check) in cases {
        g.case(slug, level, description)
            .spec(spec)
            .flags(&[Flag::Secrets, Flag::RunWide])
            .run(
                secret_exchanges(),
                answers(&EVERY).checks(&[check]).any_exit(),
            );
    }
    g
}
