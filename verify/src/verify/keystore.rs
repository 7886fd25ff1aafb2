//! Registered keys, looked up by their PASERK id (the footer's `kip`).

use std::collections::HashMap;

use crate::keys::{KeyError, PublicKey};

/// A key on file and the subject registered with it (RFC 3231 `sub`).
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub key: PublicKey,
    pub subject: Option<String>,
}

/// Keys keyed by `k3.pid`. Each key is parsed and validated once, when it is added.
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    by_id: HashMap<String, KeyRecord>,
}

impl KeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `key` (replacing any key with the same id).
    pub fn insert(&mut self, key: PublicKey, subject: Option<String>) -> &mut Self {
        self.by_id
            .insert(key.id().as_str().to_string(), KeyRecord { key, subject });
        self
    }

    /// Parses, validates and registers a `k3.public.` PASERK.
    pub fn insert_paserk(
        &mut self,
        paserk: &str,
        subject: Option<String>,
    ) -> Result<&mut Self, KeyError> {
        let key = PublicKey::from_paserk(paserk)?;
        Ok(self.insert(key, subject))
    }

    pub fn get(&self, kip: &str) -> Option<&KeyRecord> {
        self.by_id.get(kip)
    }

    pub fn remove(&mut self, kip: &str) -> Option<KeyRecord> {
        self.by_id.remove(kip)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &KeyRecord> {
        self.by_id.values()
    }
}
