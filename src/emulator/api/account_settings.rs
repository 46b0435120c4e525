//! Account settings: PutAccountSetting, PutAccountSettingDefault,
//! ListAccountSettings, DeleteAccountSetting.
//!
//! The emulator verifies no identity, so a request without `principalArn`
//! acts as the account's root user: its settings are the account defaults,
//! exactly what PutAccountSettingDefault writes. Settings are account-wide
//! (one region per emulator) and journaled like every other write, so they
//! survive a restart with `--state-dir`. The one a user can see the effect
//! of here is `containerInsights`: a new cluster that names no value gets the
//! root user's effective one, as ECS does.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::emulator::rules::account_settings::{
    SETTINGS, SettingRule, check_principal, check_put, effective, root_principal, setting,
};
use crate::emulator::state::{Change, Store, read, write};
use crate::emulator::wire::codec::{Reply, parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, required};
use crate::emulator::wire::pagination::{PageRequest, list_reply};

/// ECS's `Setting` shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Setting {
    name: &'static str,
    value: String,
    principal_arn: String,
    r#type: &'static str,
}

impl Setting {
    fn new(rule: &SettingRule, value: String, principal_arn: String) -> Self {
        Self { name: rule.name, value, principal_arn, r#type: if rule.aws_managed { "aws_managed" } else { "user" } }
    }
}

/// The principal a request names, checked, or the root user.
fn principal_of(store: &Store, given: Option<String>) -> EcsResult<String> {
    let account = &store.arns.account_id;
    match given {
        Some(arn) => {
            check_principal(&arn, account)?;
            Ok(arn)
        }
        None => Ok(root_principal(account)),
    }
}

/// Sets `name` to `value` for `principal`, durably; answers `{setting}`.
fn put(store: &Store, name: &str, value: &str, principal: String) -> EcsResult<Value> {
    let rule = setting(name)?;
    check_put(rule, value, &principal, &store.arns.account_id)?;
    let mut settings = write(&store.account_settings);
    let mut changes = store.changes();
    changes.push(|| Change::PutAccountSetting {
        principal: principal.clone(),
        name: rule.name.to_owned(),
        value: value.to_owned(),
    });
    store.persist(changes)?;
    settings.put(&principal, rule.name, value);
    Ok(json!({ "setting": to_value(&Setting::new(rule, value.to_owned(), principal))? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutInput {
    name: Option<String>,
    value: Option<String>,
    principal_arn: Option<String>,
}

pub fn put_account_setting(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: PutInput = parse(body)?;
    let name = required(input.name, "name")?;
    let value = required(input.value, "value")?;
    let principal = principal_of(store, input.principal_arn)?;
    put(store, &name, &value, principal)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutDefaultInput {
    name: Option<String>,
    value: Option<String>,
}

/// The default for every principal that set nothing: the root user's value.
pub fn put_account_setting_default(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: PutDefaultInput = parse(body)?;
    let name = required(input.name, "name")?;
    let value = required(input.value, "value")?;
    put(store, &name, &value, root_principal(&store.arns.account_id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    name: Option<String>,
    value: Option<String>,
    principal_arn: Option<String>,
    effective_settings: Option<bool>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

/// The principal's own settings, or with `effectiveSettings` what it gets
/// for every setting; filtered by `name` and `value`, sorted by name, 10 a
/// page by default.
pub fn list_account_settings(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: ListInput = parse(body)?;
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 10, 10)?;
    let only = input.name.as_deref().map(setting).transpose()?;
    let principal = principal_of(store, input.principal_arn)?;
    let account = &store.arns.account_id;
    let settings = read(&store.account_settings);
    let effective_settings = input.effective_settings.unwrap_or(false);
    let listed = SETTINGS.iter().filter(|rule| only.is_none_or(|o| o.name == rule.name)).filter_map(|rule| {
        let value = if effective_settings {
            Some(effective(&settings, rule, &principal, account))
        } else {
            settings.get(&principal, rule.name).map(str::to_owned)
        }?;
        if input.value.as_ref().is_some_and(|v| *v != value) {
            return None;
        }
        Some((rule.name, Setting::new(rule, value, principal.clone())))
    });
    let (items, next) = page.take(listed);
    list_reply("settings", &items, next)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    name: Option<String>,
    principal_arn: Option<String>,
}

/// Drops the principal's own value, so it falls back to the account default
/// (or, for the root user, to AWS's). Answers the value that was deleted;
/// deleting a value never set is not an error and answers the value in
/// effect (ECS documents neither case's answer).
pub fn delete_account_setting(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeleteInput = parse(body)?;
    let name = required(input.name, "name")?;
    let rule = setting(&name)?;
    if rule.aws_managed {
        return Err(EcsError::invalid(format!(
            "The {} account setting is managed by AWS and cannot be modified.",
            rule.name
        )));
    }
    let principal = principal_of(store, input.principal_arn)?;
    let mut settings = write(&store.account_settings);
    let value = match settings.get(&principal, rule.name).map(str::to_owned) {
        Some(value) => {
            let mut changes = store.changes();
            changes.push(|| Change::DeleteAccountSetting { principal: principal.clone(), name: rule.name.to_owned() });
            store.persist(changes)?;
            settings.delete(&principal, rule.name);
            value
        }
        None => effective(&settings, rule, &principal, &store.arns.account_id),
    };
    Ok(json!({ "setting": to_value(&Setting::new(rule, value, principal))? }))
}
