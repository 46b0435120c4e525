//! The account's ECS settings as principals set them (PutAccountSetting,
//! PutAccountSettingDefault, DeleteAccountSetting). Only explicit values are
//! kept: what a principal gets when it set nothing (the root user's value,
//! else AWS's default) is ECS's rule and lives in
//! `rules::account_settings`, so a default that AWS changes is changed in
//! one place and never frozen into a journal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Explicit settings by principal ARN, then by setting name. The root user's
/// (`arn:aws:iam::<account>:root`) are the account's defaults, which is what
/// PutAccountSettingDefault writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSettings {
    #[serde(default)]
    pub by_principal: BTreeMap<String, BTreeMap<String, String>>,
}

impl AccountSettings {
    /// The value `principal` set for `name`, if it set one.
    pub fn get(&self, principal: &str, name: &str) -> Option<&str> {
        self.by_principal.get(principal).and_then(|s| s.get(name)).map(String::as_str)
    }

    pub fn put(&mut self, principal: &str, name: &str, value: &str) {
        self.by_principal.entry(principal.to_owned()).or_default().insert(name.to_owned(), value.to_owned());
    }

    /// Removes `principal`'s own value for `name`; returns it.
    pub fn delete(&mut self, principal: &str, name: &str) -> Option<String> {
        let settings = self.by_principal.get_mut(principal)?;
        let removed = settings.remove(name);
        if settings.is_empty() {
            self.by_principal.remove(principal);
        }
        removed
    }
}
