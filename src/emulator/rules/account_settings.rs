//! ECS's account settings: which names exist, which values each takes, what
//! AWS answers when nobody set one, and how a principal's effective value is
//! found (its own, else the root user's, else AWS's default), as the API
//! reference for PutAccountSetting and ListAccountSettings describes.
//!
//! The exact wording of ECS's rejections is not documented; the messages say
//! what is wrong and what is accepted.

use crate::emulator::state::account_settings::AccountSettings;
use crate::emulator::wire::error::{EcsError, EcsResult};

/// One setting ECS knows.
#[derive(Debug)]
pub struct SettingRule {
    pub name: &'static str,
    pub values: &'static [&'static str],
    /// What a principal gets when neither it nor the root user set it.
    pub default: &'static str,
    /// Set by AWS on the account's behalf (`type: aws_managed`), read-only.
    pub aws_managed: bool,
    /// Only the root user may set it (fargateTaskRetirementWaitPeriod).
    pub root_only: bool,
}

const ON_OFF: &[&str] = &["enabled", "disabled"];

const fn rule(name: &'static str, values: &'static [&'static str], default: &'static str) -> SettingRule {
    SettingRule { name, values, default, aws_managed: false, root_only: false }
}

/// Every setting name of the ECS model (`SettingName`), plus `dualStackIPv6`,
/// which PutAccountSetting's documentation lists. Sorted by name, the order
/// ListAccountSettings answers in.
///
/// Defaults: the long ARN formats have been on for every account since
/// 2021; tag authorization on since 2024; Fargate retirement waits 7 days;
/// the log driver mode became `non-blocking` on 25 June 2025; everything
/// else is off until someone turns it on.
pub const SETTINGS: &[SettingRule] = &[
    rule("awsvpcTrunking", ON_OFF, "disabled"),
    rule("containerInsights", &["enabled", "disabled", "enhanced"], "disabled"),
    rule("containerInstanceLongArnFormat", ON_OFF, "enabled"),
    rule("defaultLogDriverMode", &["blocking", "non-blocking"], "non-blocking"),
    rule("dualStackIPv6", ON_OFF, "disabled"),
    rule("fargateEventWindows", ON_OFF, "disabled"),
    rule("fargateFIPSMode", ON_OFF, "disabled"),
    SettingRule { root_only: true, ..rule("fargateTaskRetirementWaitPeriod", &["0", "7", "14"], "7") },
    SettingRule { aws_managed: true, ..rule("guardDutyActivate", &["on", "off"], "off") },
    rule("serviceLongArnFormat", ON_OFF, "enabled"),
    rule("tagResourceAuthorization", &["on", "off"], "on"),
    rule("taskLongArnFormat", ON_OFF, "enabled"),
];

/// The rule of setting `name`, or ECS's InvalidParameterException.
pub fn setting(name: &str) -> EcsResult<&'static SettingRule> {
    SETTINGS.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        EcsError::invalid(format!("Invalid setting name '{name}'. Valid names are: {}.", names.join(", ")))
    })
}

/// The root user's ARN: the principal of unsigned-for-a-user requests (the
/// emulator verifies no identity, so it acts as the account's root user).
pub fn root_principal(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

/// Checks a `principalArn`: an IAM user, role or root user of this account.
pub fn check_principal(arn: &str, account_id: &str) -> EcsResult<()> {
    let prefix = format!("arn:aws:iam::{account_id}:");
    let resource = arn.strip_prefix(&prefix);
    let ok = resource.is_some_and(|r| {
        r == "root"
            || r.strip_prefix("user/")
                .or_else(|| r.strip_prefix("role/"))
                .is_some_and(|n| !n.is_empty() && n.len() <= 512)
    });
    if ok {
        Ok(())
    } else {
        Err(EcsError::invalid(format!(
            "Invalid principalArn '{arn}': specify the ARN of an IAM user, an IAM role or the root user of account {account_id}."
        )))
    }
}

/// Checks that `principal` may set `rule` to `value` (Put and PutDefault).
pub fn check_put(rule: &SettingRule, value: &str, principal: &str, account_id: &str) -> EcsResult<()> {
    if rule.aws_managed {
        return Err(EcsError::invalid(format!(
            "The {} account setting is managed by AWS and cannot be modified.",
            rule.name
        )));
    }
    if !rule.values.contains(&value) {
        return Err(EcsError::invalid(format!(
            "Invalid value '{value}' for setting {}. Valid values are: {}.",
            rule.name,
            rule.values.join(", ")
        )));
    }
    if rule.root_only && principal != root_principal(account_id) {
        return Err(EcsError::invalid(format!("The {} account setting can only be set by the root user.", rule.name)));
    }
    Ok(())
}

/// What `principal` gets for `rule`: its own value, else the root user's
/// (the account default), else AWS's default.
pub fn effective(settings: &AccountSettings, rule: &SettingRule, principal: &str, account_id: &str) -> String {
    settings
        .get(principal, rule.name)
        .or_else(|| settings.get(&root_principal(account_id), rule.name))
        .unwrap_or(rule.default)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn settings_are_sorted_and_defaults_valid() {
        let names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for s in SETTINGS {
            assert!(s.values.contains(&s.default), "{}", s.name);
        }
    }

    #[test]
    fn effective_falls_back_from_principal_to_root_to_default() {
        let user = format!("arn:aws:iam::{ACCOUNT}:user/me");
        let rule = setting("containerInsights").unwrap();
        let mut settings = AccountSettings::default();
        assert_eq!(effective(&settings, rule, &user, ACCOUNT), "disabled");
        settings.put(&root_principal(ACCOUNT), "containerInsights", "enhanced");
        assert_eq!(effective(&settings, rule, &user, ACCOUNT), "enhanced");
        settings.put(&user, "containerInsights", "enabled");
        assert_eq!(effective(&settings, rule, &user, ACCOUNT), "enabled");
    }

    #[test]
    fn puts_are_checked() {
        let root = root_principal(ACCOUNT);
        let user = format!("arn:aws:iam::{ACCOUNT}:role/r");
        assert!(setting("nope").is_err());
        assert!(check_put(setting("containerInsights").unwrap(), "on", &root, ACCOUNT).is_err());
        assert!(check_put(setting("guardDutyActivate").unwrap(), "on", &root, ACCOUNT).is_err());
        let retirement = setting("fargateTaskRetirementWaitPeriod").unwrap();
        assert!(check_put(retirement, "14", &root, ACCOUNT).is_ok());
        assert!(check_put(retirement, "14", &user, ACCOUNT).is_err());
        assert!(check_principal(&user, ACCOUNT).is_ok());
        assert!(check_principal("arn:aws:iam::999999999999:root", ACCOUNT).is_err());
        assert!(check_principal("arn:aws:iam::123456789012:group/g", ACCOUNT).is_err());
    }
}
