//! Account settings: PutAccountSetting, PutAccountSettingDefault,
//! ListAccountSettings (own and effective, filters, pages),
//! DeleteAccountSetting, their rules, their one visible effect (a new
//! cluster's containerInsights) and their persistence.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName, SettingName, SettingType};
use ecs_bridge::emulator::{EmulatorConfig, spawn};

use crate::cli::aws_ecs;
use crate::support::{ACCOUNT, assert_error, client, start};

fn root() -> String {
    format!("arn:aws:iam::{ACCOUNT}:root")
}

fn user(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// Every (name, value, principal) a ListAccountSettings call lists, over
/// all its pages; checks pages hold at most `max` items.
async fn list_all(
    client: &Client,
    effective: bool,
    principal: Option<&str>,
    max: usize,
) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_account_settings()
            .effective_settings(effective)
            .set_principal_arn(principal.map(str::to_owned))
            .set_next_token(token.clone())
            .send()
            .await
            .expect("list account settings");
        assert!(out.settings().len() <= max, "a page holds at most {max}");
        for s in out.settings() {
            all.push((
                s.name().expect("name").as_str().to_owned(),
                s.value().expect("value").to_owned(),
                s.principal_arn().expect("principalArn").to_owned(),
            ));
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

/// A new cluster's containerInsights value, as DescribeClusters shows it.
async fn insights_of_new_cluster(client: &Client, name: &str) -> String {
    client.create_cluster().cluster_name(name).send().await.expect("create cluster");
    let out = client.describe_clusters().clusters(name).include(ClusterField::Settings).send().await.unwrap();
    let settings = out.clusters()[0].settings();
    let insights = settings.iter().find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights));
    insights.and_then(|s| s.value()).expect("containerInsights is set").to_owned()
}

#[tokio::test]
async fn effective_settings_are_aws_defaults_until_someone_sets_one() {
    let (_emulator, client) = start().await;
    // Nothing set: no own settings, and every setting has AWS's default.
    assert!(list_all(&client, false, None, 10).await.is_empty());
    let effective = list_all(&client, true, None, 10).await;
    let names: Vec<&str> = effective.iter().map(|(n, _, _)| n.as_str()).collect();
    assert!(names.len() > 10, "more settings than one default page: {names:?}");
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");
    let value = |name: &str| effective.iter().find(|(n, _, _)| n == name).map(|(_, v, _)| v.clone());
    assert_eq!(value("containerInsights").as_deref(), Some("disabled"));
    assert_eq!(value("serviceLongArnFormat").as_deref(), Some("enabled"));
    assert_eq!(value("fargateTaskRetirementWaitPeriod").as_deref(), Some("7"));
    assert_eq!(value("defaultLogDriverMode").as_deref(), Some("non-blocking"));
    assert!(effective.iter().all(|(_, _, p)| *p == root()), "the root user's: {effective:?}");

    // guardDutyActivate is AWS's to manage.
    let guard = client.list_account_settings().effective_settings(true).name(SettingName::GuardDutyActivate).send();
    let guard = guard.await.unwrap();
    assert_eq!(guard.settings().len(), 1);
    assert_eq!(guard.settings()[0].r#type(), Some(&SettingType::AwsManaged));
    let insights = client.list_account_settings().effective_settings(true).name(SettingName::ContainerInsights);
    assert_eq!(insights.send().await.unwrap().settings()[0].r#type(), Some(&SettingType::User));
    assert_error(client.list_account_settings().max_results(11).send().await, "InvalidParameterException", None);
}

#[tokio::test]
async fn a_principal_falls_back_to_the_account_default_then_to_aws() {
    let (_emulator, client) = start().await;
    let alice = user("alice");
    // PutAccountSettingDefault writes the root user's setting.
    let out = client
        .put_account_setting_default()
        .name(SettingName::ContainerInsights)
        .value("enhanced")
        .send()
        .await
        .unwrap();
    let setting = out.setting().unwrap();
    assert_eq!(setting.value(), Some("enhanced"));
    assert_eq!(setting.principal_arn(), Some(root().as_str()));
    // Alice's own setting, for one name only.
    let out = client
        .put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .principal_arn(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(out.setting().unwrap().principal_arn(), Some(alice.as_str()));
    client
        .put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .principal_arn(&alice)
        .send()
        .await
        .unwrap();

    let own = list_all(&client, false, Some(&alice), 10).await;
    assert_eq!(
        own,
        vec![
            ("awsvpcTrunking".to_owned(), "enabled".to_owned(), alice.clone()),
            ("containerInsights".to_owned(), "enabled".to_owned(), alice.clone()),
        ]
    );
    let root_own = list_all(&client, false, None, 10).await;
    assert_eq!(root_own, vec![("containerInsights".to_owned(), "enhanced".to_owned(), root())]);
    // Bob set nothing: he gets the account default.
    let bob = client
        .list_account_settings()
        .principal_arn(user("bob"))
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(bob.settings().len(), 1);
    assert_eq!(bob.settings()[0].value(), Some("enhanced"));
    assert_eq!(bob.settings()[0].principal_arn(), Some(user("bob").as_str()));
    // Filters by value; a page of one.
    let enabled = client
        .list_account_settings()
        .principal_arn(&alice)
        .effective_settings(true)
        .value("enabled")
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.settings().len(), 1);
    assert!(enabled.next_token().is_some(), "more settings are enabled for alice");

    // Deleting Alice's own value answers it and falls back to the default.
    let deleted = client
        .delete_account_setting()
        .name(SettingName::ContainerInsights)
        .principal_arn(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.setting().unwrap().value(), Some("enabled"));
    let after = client
        .list_account_settings()
        .principal_arn(&alice)
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(after.settings()[0].value(), Some("enhanced"));
    // And the root user's: back to AWS's default.
    client.delete_account_setting().name(SettingName::ContainerInsights).send().await.unwrap();
    let after = client
        .list_account_settings()
        .principal_arn(&alice)
        .effective_settings(true)
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(after.settings()[0].value(), Some("disabled"));
}

#[tokio::test]
async fn new_clusters_take_the_account_container_insights_setting() {
    let (_emulator, client) = start().await;
    assert_eq!(insights_of_new_cluster(&client, "before").await, "disabled");
    client.put_account_setting().name(SettingName::ContainerInsights).value("enhanced").send().await.unwrap();
    assert_eq!(insights_of_new_cluster(&client, "after").await, "enhanced");
    // A value the cluster names wins.
    client
        .create_cluster()
        .cluster_name("own")
        .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("disabled").build())
        .send()
        .await
        .unwrap();
    let own = client.describe_clusters().clusters("own").include(ClusterField::Settings).send().await.unwrap();
    assert_eq!(own.clusters()[0].settings()[0].value(), Some("disabled"));
    // Existing clusters keep theirs.
    let before = client.describe_clusters().clusters("before").include(ClusterField::Settings).send().await.unwrap();
    assert_eq!(before.clusters()[0].settings()[0].value(), Some("disabled"));
}

#[tokio::test]
async fn invalid_settings_are_refused() {
    let (_emulator, client) = start().await;
    let put = |name: SettingName, value: &str| client.put_account_setting().name(name).value(value);
    assert_error(put(SettingName::from("noSuchSetting"), "enabled").send().await, "InvalidParameterException", None);
    assert_error(put(SettingName::ContainerInsights, "on").send().await, "InvalidParameterException", None);
    assert_error(put(SettingName::TagResourceAuthorization, "enabled").send().await, "InvalidParameterException", None);
    assert_error(put(SettingName::GuardDutyActivate, "on").send().await, "InvalidParameterException", None);
    assert_error(
        put(SettingName::FargateTaskRetirementWaitPeriod, "14").principal_arn(user("alice")).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        put(SettingName::ContainerInsights, "enabled").principal_arn("arn:aws:iam::999999999999:user/x").send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.delete_account_setting().name(SettingName::GuardDutyActivate).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.list_account_settings().name(SettingName::from("noSuchSetting")).send().await,
        "InvalidParameterException",
        None,
    );
    // Valid ones pass, and nothing refused was stored.
    put(SettingName::FargateTaskRetirementWaitPeriod, "14").send().await.unwrap();
    put(SettingName::TagResourceAuthorization, "off").send().await.unwrap();
    let own = list_all(&client, false, None, 10).await;
    let names: Vec<&str> = own.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["fargateTaskRetirementWaitPeriod", "tagResourceAuthorization"]);
}

#[tokio::test]
async fn settings_survive_a_restart_with_a_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let emulator = spawn(config.clone()).await.unwrap();
    let c = client(&emulator.endpoint());
    c.put_account_setting_default().name(SettingName::ContainerInsights).value("enabled").send().await.unwrap();
    c.put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .principal_arn(user("alice"))
        .send()
        .await
        .unwrap();
    c.put_account_setting().name(SettingName::FargateFipsMode).value("enabled").send().await.unwrap();
    c.delete_account_setting().name(SettingName::FargateFipsMode).send().await.unwrap();
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let c = client(&emulator.endpoint());
    assert_eq!(list_all(&c, false, None, 10).await, vec![("containerInsights".into(), "enabled".into(), root())]);
    assert_eq!(
        list_all(&c, false, Some(&user("alice")), 10).await,
        vec![("awsvpcTrunking".into(), "enabled".into(), user("alice"))]
    );
    assert_eq!(insights_of_new_cluster(&c, "later").await, "enabled");
}

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_settings_with_the_aws_cli() {
    let (emulator, _client) = start().await;
    let endpoint = emulator.endpoint();
    let out =
        aws_ecs(&endpoint, &["put-account-setting-default", "--name", "containerInsights", "--value", "enhanced"])
            .expect("put-account-setting-default");
    assert_eq!(out["setting"]["value"], "enhanced");
    assert_eq!(out["setting"]["principalArn"], root());
    let out = aws_ecs(&endpoint, &["list-account-settings", "--effective-settings", "--name", "containerInsights"])
        .expect("list-account-settings");
    assert_eq!(out["settings"][0]["value"], "enhanced");
    assert_eq!(out["settings"].as_array().map(Vec::len), Some(1));
    // The CLI follows nextToken itself: every setting comes back.
    let out = aws_ecs(&endpoint, &["list-account-settings", "--effective-settings"]).expect("list all");
    assert!(out["settings"].as_array().is_some_and(|s| s.len() > 10), "{out}");
    let err = aws_ecs(&endpoint, &["put-account-setting", "--name", "containerInsights", "--value", "maybe"])
        .expect_err("an invalid value is refused");
    assert!(err.contains("InvalidParameterException"), "{err}");
    let out = aws_ecs(&endpoint, &["delete-account-setting", "--name", "containerInsights"]).expect("delete");
    assert_eq!(out["setting"]["value"], "enhanced");
}
