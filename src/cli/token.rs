//! `credlab token decode|sign|verify`: debugging tools for Cargo asymmetric tokens.

use std::io::Read;
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use credlab_suite::Backend;
use credlab_suite::keys::{PublicKey, SecretKey};
use credlab_suite::paseto::{self, SignatureForm};
use credlab_suite::token::{self, Claims, Footer, Operation, OperationKind, iat};
use credlab_suite::verify::{HighS, IatSyntax, KeyStore, Policy, Request, Verifier};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::exit::{FAILED, Failure, OK};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Show a token's header, claims, footer and signature, without verifying anything.
    Decode {
        /// The token (`v3.public.…`), or `-` to read it from stdin.
        token: String,
    },
    /// Sign a token exactly as Cargo's `cargo:paseto` would (deterministic).
    Sign(SignArgs),
    /// Verify a token as a registry must; exit 0 and the claims when valid, exit 1 and the
    /// rejection when not.
    Verify(VerifyArgs),
}

/// The request a token is for.
#[derive(Debug, Args)]
struct OperationArgs {
    /// read, publish, yank, unyank or owners.
    #[arg(long, default_value = "read", value_parser = operation_kinds())]
    operation: String,
    /// Crate name (publish, yank, unyank, owners).
    #[arg(long)]
    name: Option<String>,
    /// Version (publish, yank, unyank).
    #[arg(long)]
    vers: Option<String>,
    /// Lowercase hex SHA-256 of the .crate file (publish).
    #[arg(long)]
    cksum: Option<String>,
}

fn operation_kinds() -> PossibleValuesParser {
    PossibleValuesParser::new(OperationKind::all().map(OperationKind::as_str))
}

impl OperationArgs {
    fn operation(&self) -> Result<Operation, Failure> {
        let kind: OperationKind = self.operation.parse().expect("clap checked the value");
        Operation::from_parts(
            kind,
            self.name.as_deref(),
            self.vers.as_deref(),
            self.cksum.as_deref(),
        )
        .map_err(|e| Failure::usage(e.to_string()))
    }
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signing key.
    #[command(flatten)]
    pub secret_key: super::SecretKeyArgs,
    /// The registry's index URL, verbatim (e.g. `sparse+https://reg.example/index/`).
    #[arg(long)]
    url: String,
    #[command(flatten)]
    operation: OperationArgs,
    /// The `sub` claim (Cargo's `secret-key-subject`).
    #[arg(long)]
    sub: Option<String>,
    /// The `iat` claim as RFC 3339 (default: now).
    #[arg(long)]
    iat: Option<String>,
    /// as-cargo (RFC 6979 as Cargo emits it), low-s or high-s.
    #[arg(long, default_value = "as-cargo", value_parser = ["as-cargo", "low-s", "high-s"])]
    signature: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token (`v3.public.…`), or `-` to read it from stdin.
    token: String,
    /// A registered public key, `k3.public.…` (repeat for several).
    #[arg(long = "public-key", required = true)]
    public_keys: Vec<String>,
    /// The subject on file for the keys (RFC 3231 `sub`).
    #[arg(long)]
    subject: Option<String>,
    /// The registry's index URL, verbatim: the footer must carry exactly this string.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    operation: OperationArgs,
    /// The time to judge freshness at, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Freshness window in seconds.
    #[arg(long, default_value_t = Policy::default().max_age.as_secs())]
    max_age: u64,
    /// Allowed future skew of `iat` in seconds.
    #[arg(long, default_value_t = Policy::default().max_future_skew.as_secs())]
    max_future_skew: u64,
    /// Refuse high-S signatures (real Cargo emits them about half the time).
    #[arg(long)]
    reject_high_s: bool,
    /// Accept the time crate's lenient RFC 3339 (lowercase `t`/`z`, space separator).
    #[arg(long)]
    lenient_iat: bool,
    /// Signature backend.
    #[arg(long, default_value_t = Backend::default().name().to_string(), value_parser = backends())]
    backend: String,
}

fn backends() -> PossibleValuesParser {
    PossibleValuesParser::new(Backend::available().iter().map(|b| b.name()))
}

pub fn run(cmd: TokenCommand, secret_from_env: Option<String>) -> Result<u8, Failure> {
    match cmd {
        TokenCommand::Decode { token } => decode(&read_token(&token)?),
        TokenCommand::Sign(mut args) => {
            args.secret_key.from_env = secret_from_env;
            sign(args)
        }
        TokenCommand::Verify(args) => verify(args),
    }
}

/// The token argument, or stdin for `-`, with surrounding whitespace removed.
fn read_token(arg: &str) -> Result<String, Failure> {
    if arg != "-" {
        return Ok(arg.trim().to_string());
    }
    let mut text = String::new();
    std::io::stdin()
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage(format!("reading the token from stdin: {e}")))?;
    Ok(text.trim().to_string())
}

fn parse_time(text: &str, what: &str) -> Result<OffsetDateTime, Failure> {
    iat::parse(text, IatSyntax::Lenient).map_err(|e| Failure::usage(format!("--{what}: {e}")))
}

/// A payload or footer shown as JSON when it is JSON, else as text (or hex if not UTF-8).
fn show_bytes(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())),
        Err(_) => json!({ "hex": hex::encode(bytes) }),
    }
}

fn decode(token: &str) -> Result<u8, Failure> {
    let decoded = match paseto::decode(token) {
        Ok(decoded) => decoded,
        Err(rejection) => {
            super::print_json(&json!({
                "rejection": rejection.kind,
                "message": rejection.message,
            }));
            return Ok(FAILED);
        }
    };
    let signature = decoded.signature();
    let form = match paseto::signature_s(signature) {
        Ok(s) => serde_json::to_value(s).expect("serializes"),
        Err(_) => Value::String("out-of-range".into()),
    };
    super::print_json(&json!({
        "header": paseto::HEADER,
        "claims": show_bytes(decoded.payload()),
        "footer": decoded.footer().map(show_bytes),
        "signature": {
            "r": hex::encode(&signature[..48]),
            "s": hex::encode(&signature[48..]),
            "form": form,
        },
        "verified": false,
    }));
    Ok(OK)
}

fn load_secret(args: &SignArgs) -> Result<SecretKey, Failure> {
    args.secret_key.load()?.ok_or_else(|| {
        Failure::usage(
            "give the signing key with --secret-key-file, CREDLAB_SECRET_KEY or --secret-key",
        )
    })
}

fn sign(args: SignArgs) -> Result<u8, Failure> {
    let key = load_secret(&args)?;
    let operation = args.operation.operation()?;
    let at = match &args.iat {
        Some(text) => parse_time(text, "iat")?,
        None => OffsetDateTime::now_utc(),
    };
    let form = match args.signature.as_str() {
        "low-s" => SignatureForm::LowS,
        "high-s" => SignatureForm::HighS,
        _ => SignatureForm::AsCargo,
    };
    let mut claims = Claims::for_operation(&operation, at, args.sub.as_deref());
    if let Some(text) = &args.iat {
        // Keep the caller's spelling (offsets, fractions) so odd iat values can be tested.
        claims.iat = text.clone();
    }
    let footer = Footer::new(args.url, key.public_key().id());
    crate::out::outln!("{}", token::sign(&key, &claims, &footer, form));
    Ok(OK)
}

fn verify(args: VerifyArgs) -> Result<u8, Failure> {
    let token = read_token(&args.token)?;
    let mut keys = KeyStore::new();
    for text in &args.public_keys {
        let key = PublicKey::from_paserk(text)
            .map_err(|e| Failure::usage(format!("--public-key: {e}")))?;
        keys.insert(key, args.subject.clone());
    }
    let now = match &args.now {
        Some(text) => parse_time(text, "now")?,
        None => OffsetDateTime::now_utc(),
    };
    let policy = Policy {
        max_age: Duration::from_secs(args.max_age),
        max_future_skew: Duration::from_secs(args.max_future_skew),
        high_s: if args.reject_high_s {
            HighS::Reject
        } else {
            HighS::Accept
        },
        iat_syntax: if args.lenient_iat {
            IatSyntax::Lenient
        } else {
            IatSyntax::Strict
        },
        ..Policy::default()
    };
    let backend: Backend = args.backend.parse().expect("clap checked the value");
    let request = Request::new(args.url, args.operation.operation()?);
    let verifier = Verifier::new(keys)
        .with_policy(policy)
        .with_backend(backend);
    match verifier.verify(&token, &request, now) {
        Ok(verified) => {
            let mut out = serde_json::to_value(&verified).expect("serializes");
            out["valid"] = Value::Bool(true);
            super::print_json(&out);
            Ok(OK)
        }
        Err(rejection) => {
            super::print_json(&json!({
                "valid": false,
                "rejection": rejection.kind,
                "message": rejection.message,
            }));
            Ok(FAILED)
        }
    }
}
