//! Building token cases: a [`Draft`] token edited by one mutation, and a [`Group`] that
//! collects cases with their metadata.

use std::rc::Rc;

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::fixture::{Fixture, key_pair};
use crate::cases::flags::Flag;
use crate::cases::token::{
    PolicyKnob, RegistryInput, TokenCase, TokenExpect, TokenFile, TokenInput,
};
use crate::cases::{Case, CaseId, FORMAT, Level};
use crate::keys::SecretKey;
use crate::paseto::{self, SignatureForm};
use crate::rejection::RejectionKind;
use crate::token::{Claims, Footer, Operation, iat};

/// A token under construction, plus the request and registry it will be judged with.
#[derive(Clone)]
pub struct Draft<'f> {
    pub clock: OffsetDateTime,
    pub claims: Claims,
    /// Raw payload bytes replacing `claims`.
    pub payload: Option<Vec<u8>>,
    pub footer: Footer,
    /// Raw footer bytes replacing `footer` (empty: no footer segment).
    pub footer_raw: Option<Vec<u8>>,
    pub signer: &'f SecretKey,
    pub form: SignatureForm,
    pub implicit: Vec<u8>,
    /// A textual edit of the signed token (for encoding-level mutations).
    pub edit: Option<Rc<dyn Fn(String) -> String + 'f>>,
    pub request: Operation,
    pub registry: RegistryInput,
    pub accepted_before: Vec<String>,
    pub issued_challenge: Option<String>,
}

impl<'f> Draft<'f> {
    /// The token Cargo sends for `operation`, issued 5 s before the fixture's clock, signed
    /// low-S (so only explicitly high-S cases are high-S), for that same request.
    pub fn new(fx: &'f Fixture, operation: Operation) -> Self {
        let jitter = fx
            .distinct_iat
            .as_ref()
            .map_or(0, |n| n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let claims = Claims::for_operation(
            &operation,
            fx.clock - Duration::seconds(5) - Duration::milliseconds(i64::from(jitter)),
            fx.signer_subject.as_deref(),
        );
        Self {
            clock: fx.clock,
            claims,
            payload: None,
            footer: Footer::new(fx.index_url.clone(), fx.signer.public_key().id()),
            footer_raw: None,
            signer: &fx.signer,
            form: SignatureForm::LowS,
            implicit: Vec::new(),
            edit: None,
            request: operation,
            registry: RegistryInput {
                index_url: fx.index_url.clone(),
                keys: fx.registered(),
                published: Vec::new(),
            },
            accepted_before: Vec::new(),
            issued_challenge: None,
        }
    }

    pub fn with(mut self, edit: impl FnOnce(&mut Self)) -> Self {
        edit(&mut self);
        self
    }

    /// Sets `iat` to the clock plus `offset` (negative: the past), formatted as Cargo does.
    pub fn iat_at(mut self, offset: Duration) -> Self {
        self.claims.iat = iat::format(self.clock + offset);
        self
    }

    /// Replaces the payload by the claims as a JSON object edited by `edit` (keys kept in
    /// Cargo's order, then any others), for claims the typed model cannot express.
    pub fn edit_json(mut self, edit: impl FnOnce(&mut Map<String, Value>)) -> Self {
        let Value::Object(mut claims) =
            serde_json::to_value(&self.claims).expect("claims serialize")
        else {
            unreachable!("claims serialize to an object")
        };
        edit(&mut claims);
        self.payload = Some(cargo_order(&claims).into_bytes());
        self
    }

    /// Replaces the footer by `{"url", "kip"}` edited by `edit` (keys kept in Cargo's order).
    pub fn edit_footer(mut self, edit: impl FnOnce(&mut Map<String, Value>)) -> Self {
        let Value::Object(mut footer) =
            serde_json::to_value(&self.footer).expect("footer serializes")
        else {
            unreachable!("the footer serializes to an object")
        };
        edit(&mut footer);
        self.footer_raw = Some(cargo_order(&footer).into_bytes());
        self
    }

    /// Edits the signed token's text (encoding-level mutations).
    pub fn edit_token(mut self, edit: impl Fn(String) -> String + 'f) -> Self {
        self.edit = Some(Rc::new(edit));
        self
    }

    /// Signs with `key` and names it in `kip`.
    pub fn signed_by(mut self, key: &'f SecretKey) -> Self {
        self.footer.kip = key.public_key().id().to_string();
        self.signer = key;
        self
    }

    pub fn payload_bytes(&self) -> Vec<u8> {
        self.payload
            .clone()
            .unwrap_or_else(|| self.claims.to_json().into_bytes())
    }

    pub fn footer_bytes(&self) -> Vec<u8> {
        self.footer_raw
            .clone()
            .unwrap_or_else(|| self.footer.to_json().into_bytes())
    }

    pub fn token(&self) -> String {
        let token = paseto::sign(
            self.signer,
            &self.payload_bytes(),
            &self.footer_bytes(),
            &self.implicit,
            self.form,
        );
        match &self.edit {
            Some(edit) => edit(token),
            None => token,
        }
    }

    pub fn input(&self) -> TokenInput {
        TokenInput {
            registry: self.registry.clone(),
            signer: Some(key_pair(self.signer)),
            request: self.request.clone(),
            issued_challenge: self.issued_challenge.clone(),
            accepted_before: self.accepted_before.clone(),
            token: self.token(),
        }
    }
}

/// Serializes an object with Cargo's claim and footer keys first, in Cargo's order.
pub fn cargo_order(map: &Map<String, Value>) -> String {
    const ORDER: [&str; 10] = [
        "iat",
        "sub",
        "mutation",
        "name",
        "vers",
        "cksum",
        "challenge",
        "v",
        "url",
        "kip",
    ];
    let entry = |k: &str, v: &Value| format!("{}:{v}", Value::from(k));
    let mut parts: Vec<String> = ORDER
        .iter()
        .filter_map(|k| map.get(*k).map(|v| entry(k, v)))
        .collect();
    parts.extend(
        map.iter()
            .filter(|(k, _)| !ORDER.contains(&k.as_str()))
            .map(|(k, v)| entry(k, v)),
    );
    format!("{{{}}}", parts.join(","))
}

pub fn valid() -> TokenExpect {
    TokenExpect::Valid
}

pub fn invalid(rejection: RejectionKind) -> TokenExpect {
    TokenExpect::Invalid { rejection }
}

pub fn acceptable(rejection: RejectionKind, policy: PolicyKnob) -> TokenExpect {
    TokenExpect::Acceptable { rejection, policy }
}

/// The cases of one namespace, e.g. `token::valid`.
pub struct Group {
    pub namespace: &'static str,
    pub description: &'static str,
    pub cases: Vec<TokenCase>,
}

impl Group {
    pub fn new(namespace: &'static str, description: &'static str) -> Self {
        Self {
            namespace,
            description,
            cases: Vec::new(),
        }
    }

    /// Starts a case `<namespace>::<slug>`.
    pub fn case(&mut self, slug: &str, level: Level, description: &str) -> CaseBuilder<'_> {
        let id: CaseId = format!("{}::{slug}", self.namespace)
            .parse()
            .expect("generator ids are well-formed");
        CaseBuilder {
            group: self,
            id,
            level,
            description: description.to_string(),
            spec: Vec::new(),
            flags: Vec::new(),
            base: None,
            mutation: None,
        }
    }

    pub fn into_file(self) -> TokenFile {
        TokenFile {
            format: FORMAT.to_string(),
            group: self.namespace.to_string(),
            description: self.description.to_string(),
            cases: self.cases,
        }
    }
}

/// Metadata of a case being added to a [`Group`].
pub struct CaseBuilder<'g> {
    group: &'g mut Group,
    id: CaseId,
    level: Level,
    description: String,
    spec: Vec<String>,
    flags: Vec<Flag>,
    base: Option<CaseId>,
    mutation: Option<String>,
}

impl CaseBuilder<'_> {
    pub fn spec(mut self, spec: &[&str]) -> Self {
        self.spec.extend(spec.iter().map(|s| s.to_string()));
        self
    }

    pub fn flags(mut self, flags: &[Flag]) -> Self {
        self.flags.extend_from_slice(flags);
        self
    }

    /// Declares the valid case this one mutates, and the single mutation.
    pub fn from(mut self, base: &str, mutation: &str) -> Self {
        self.base = Some(base.parse().expect("generator ids are well-formed"));
        self.mutation = Some(mutation.to_string());
        self
    }

    pub fn token(self, draft: Draft<'_>, expect: TokenExpect) {
        let case = Case {
            id: self.id,
            aliases: Vec::new(),
            description: self.description,
            spec: self.spec,
            level: self.level,
            flags: self.flags,
            base: self.base,
            mutation: self.mutation,
            clock: Some(iat::format(draft.clock)),
            input: draft.input(),
            expect,
        };
        self.group.cases.push(case);
    }
}
