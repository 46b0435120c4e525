//! The console (`/_emulator/console/`) in a real headless Chromium, driven
//! over WebDriver: what it lists, a rolling deployment's lanes against
//! DescribeServices at each step of the manual clock, the circuit breaker
//! on the timeline, the clock buttons, its structure's accessibility and
//! that it reaches nothing off its host. Plus its credentials, over HTTP.

mod webdriver;

use std::process::Command;

use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration};
use ecs_bridge::emulator::{Credentials, EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};
use webdriver::Browser;

use crate::circuit_breaker::create_service;
use crate::support::{advance, register_fargate, register_fargate_env, service, start, start_with};

/// ECS's rollout state reason of a deployment its breaker failed.
const BREAKER_REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// The lanes of the service timeline, as the DOM carries them.
const LANES: &str = r#"
return Array.from(document.querySelectorAll('svg.timeline g.lane')).map(function (g) {
  return { deployment: g.dataset.deployment, status: g.dataset.status, running: +g.dataset.running,
           pending: +g.dataset.pending, desired: +g.dataset.desired, rolloutState: g.dataset.rolloutState };
});"#;

/// The structure check: one h1, no skipped heading level, every control
/// named, every SVG titled or hidden, the language set, and every text's
/// contrast with its background at least 4.5:1, from the computed styles.
const ACCESSIBILITY: &str = r#"
var problems = [];
if (!document.documentElement.lang) problems.push('no lang on <html>');
if (!document.title.trim()) problems.push('no <title>');
var h1 = document.querySelectorAll('h1');
if (h1.length !== 1) problems.push(h1.length + ' h1 elements');
var last = 0;
document.querySelectorAll('h1,h2,h3,h4,h5,h6').forEach(function (h) {
  var level = +h.tagName[1];
  if (level > last + 1) problems.push('heading ' + h.tagName + ' "' + h.textContent.trim() + '" after h' + last);
  last = level;
});
function named(el) {
  if ((el.getAttribute('aria-label') || '').trim()) return true;
  var by = el.getAttribute('aria-labelledby');
  if (by && by.split(/\s+/).some(function (id) { var t = document.getElementById(id); return t && t.textContent.trim(); })) return true;
  if (el.id && document.querySelector('label[for="' + el.id + '"]')) return true;
  if (el.closest('label')) return true;
  return el.tagName === 'BUTTON' && el.textContent.trim() !== '';
}
document.querySelectorAll('input:not([type=hidden]),select,textarea,button').forEach(function (el) {
  if (!named(el)) problems.push('unlabelled ' + el.outerHTML.slice(0, 80));
});
document.querySelectorAll('svg').forEach(function (svg) {
  if (svg.parentElement && svg.parentElement.closest('svg')) return;
  if (svg.getAttribute('aria-hidden') === 'true') return;
  var title = svg.querySelector(':scope > title');
  if (svg.getAttribute('role') !== 'img' || !(named(svg) || (title && title.textContent.trim())))
    problems.push('svg without role=img and a title: ' + svg.outerHTML.slice(0, 80));
});
function rgb(text) {
  var m = text.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  var p = m[1].split(',').map(function (x) { return parseFloat(x); });
  return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
}
function luminance(c) {
  function ch(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
  return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
}
function background(el) {
  for (var e = el; e && e.nodeType === 1; e = e.parentElement) {
    if (e.tagName === 'svg') {
      var rect = e.querySelector(':scope > rect');
      if (rect) return rgb(getComputedStyle(rect).fill);
    }
    var c = rgb(getComputedStyle(e).backgroundColor);
    if (c && c.a > 0) return c;
  }
  return { r: 255, g: 255, b: 255, a: 1 };
}
var checked = 0;
document.querySelectorAll('body *').forEach(function (el) {
  var text = Array.from(el.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (!text || el.tagName === 'SCRIPT' || el.tagName === 'STYLE' || el.tagName === 'title' || el.tagName === 'desc') return;
  if (el.closest('title,desc')) return;
  var style = getComputedStyle(el);
  var fg = rgb(el instanceof SVGElement ? style.fill : style.color);
  var bg = background(el);
  if (!fg || !bg) { problems.push('no colour for ' + el.tagName); return; }
  var l1 = luminance(fg), l2 = luminance(bg);
  var ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  checked++;
  if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ' of "' + el.textContent.trim().slice(0, 40) + '" (' + el.tagName + ')');
});
return { problems: problems, checked: checked };"#;

/// Everything the page loaded, and every address it names, off this host.
const OFF_HOST: &str = r#"
var origin = location.origin;
var loaded = performance.getEntries().map(function (e) { return e.name; })
  .filter(function (n) { return /^[a-z]+:/.test(n) && n.indexOf(origin) !== 0; });
var named = Array.from(document.querySelectorAll('[src],[href],[action]')).map(function (el) {
  return el.getAttribute('src') || el.getAttribute('href') || el.getAttribute('action');
}).filter(function (u) { return /^([a-z]+:)?\/\//i.test(u) && u.indexOf(origin) !== 0; });
return { loaded: loaded, named: named, entries: performance.getEntries().length };"#;

fn aws(endpoint: &str, args: &[&str]) -> Value {
    let found = Command::new("aws").arg("--version").output();
    if !found.as_ref().is_ok_and(|o| o.status.success()) {
        panic!("the AWS CLI (`aws`) is not on PATH: install it (.ci/run puts a venv with it on PATH)");
    }
    let output = Command::new("aws")
        .args(["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "example-secret")
        .env("AWS_PAGER", "")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("aws runs");
    assert!(output.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("aws prints JSON")
}

fn console(emulator: &RunningEmulator, path: &str) -> String {
    format!("{}{path}", emulator.console_url())
}

/// Runs the structure and off-host checks on the page the browser shows.
async fn check_page(browser: &Browser, page: &str) {
    let report = browser.execute(ACCESSIBILITY, json!([])).await;
    assert_eq!(report["problems"], json!([]), "accessibility of {page}: {report}");
    assert!(report["checked"].as_u64().unwrap_or(0) > 5, "contrast checked on {page}: {report}");
    let off = browser.execute(OFF_HOST, json!([])).await;
    assert_eq!((&off["loaded"], &off["named"]), (&json!([]), &json!([])), "{page} reaches off its host: {off}");
    assert!(off["entries"].as_u64().unwrap_or(0) >= 1, "{page}: the navigation itself is an entry: {off}");
}

/// Asserts a PNG: its signature, and an IHDR of a plausible size.
fn assert_png(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 1000, "a PNG of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
    assert!(width >= 600 && height >= 100, "timeline screenshot of {width}×{height}");
    (width, height)
}

/// An emulator on the manual clock with cluster `c` and service `web` of
/// `desired` tasks steady on `web:1`, and a `web:2` whose container has
/// `env` (the next deployment's revision).
async fn web_on_revision_1(
    env: &[(&str, &str)],
    desired: i32,
    config: DeploymentConfiguration,
) -> (RunningEmulator, aws_sdk_ecs::Client) {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.expect("cluster");
    register_fargate(&client, "web").await;
    register_fargate_env(&client, "web", env).await;
    create_service(&client, "web:1", desired, config).await;
    advance(&emulator, 10.0).await;
    (emulator, client)
}

#[tokio::test]
async fn the_console_lists_a_cluster_made_with_the_aws_cli_and_its_pages_pass_the_checks() {
    let (emulator, _client) =
        web_on_revision_1(&[("MODE", "second")], 2, DeploymentConfiguration::builder().build()).await;
    let endpoint = emulator.endpoint();
    let created = tokio::task::spawn_blocking(move || {
        aws(&endpoint, &["ecs", "create-cluster", "--cluster-name", "from-the-cli"])
    })
    .await
    .expect("aws ran");
    assert_eq!(created["cluster"]["clusterName"], "from-the-cli");

    let browser = Browser::start().await;
    browser.goto(&console(&emulator, "")).await;
    let clusters = browser
        .execute(
            "return Array.from(document.querySelectorAll('tr.cluster')).map(function (r) { return r.dataset.cluster; });",
            json!([]),
        )
        .await;
    assert_eq!(clusters, json!(["c", "from-the-cli"]));
    check_page(&browser, "the overview").await;

    // Every page, reached by following the links.
    browser.click("tr.cluster[data-cluster=c] a").await;
    let title = browser.execute("return document.querySelector('h1').textContent;", json!([])).await;
    assert_eq!(title, "Cluster c");
    check_page(&browser, "the cluster page").await;
    browser.click("tr.service[data-service=web] a").await;
    check_page(&browser, "the service page").await;
    let lanes = browser.execute(LANES, json!([])).await;
    assert_eq!(lanes.as_array().map(Vec::len), Some(1), "{lanes}");
    browser.click("tr.task a").await;
    let title = browser.execute("return document.querySelector('h1').textContent;", json!([])).await;
    assert!(title.as_str().is_some_and(|t| t.starts_with("Task ")), "{title}");
    check_page(&browser, "the task page").await;
    browser.goto(&console(&emulator, "task-definitions/web?from=1&to=2")).await;
    let diff = browser
        .execute(
            "return { added: Array.from(document.querySelectorAll('pre.diff ins')).map(function (e) { return e.textContent; }), removed: document.querySelectorAll('pre.diff del').length };",
            json!([]),
        )
        .await;
    let added = diff["added"].as_array().expect("added lines");
    assert!(added.iter().any(|l| l.as_str().is_some_and(|l| l.contains("\"MODE\""))), "{diff}");
    check_page(&browser, "the task definition page").await;
    browser.quit().await;
}

#[tokio::test]
async fn a_rolling_deployment_shows_two_lanes_whose_counts_follow_describe_services() {
    let (emulator, client) =
        web_on_revision_1(&[("VERSION", "2")], 3, DeploymentConfiguration::builder().build()).await;

    let browser = Browser::start().await;
    browser.goto(&console(&emulator, "clusters/c/services/web")).await;
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.expect("update");
    // Each step moves the manual clock; the open page follows by itself
    // (it polls the live endpoint), and each lane's numbers must be
    // DescribeServices' for its deployment, or zero once it left.
    let mut most = 0;
    for step in 0..16 {
        let described = service(&client, "c", "web").await;
        let expected: Vec<Value> = described
            .deployments()
            .iter()
            .map(|d| {
                json!({
                    "deployment": d.id(), "status": d.status(), "running": d.running_count(),
                    "pending": d.pending_count(), "desired": d.desired_count(),
                    "rolloutState": d.rollout_state().map(|r| r.as_str()).unwrap_or(""),
                })
            })
            .collect();
        let check = r#"
var lanes = (function () {"#
            .to_owned()
            + LANES
            + r#"})();
var expected = arguments[0];
function same(l, e) { return Object.keys(e).every(function (k) { return l[k] === e[k]; }); }
var ok = expected.every(function (e) {
  return lanes.some(function (l) { return same(l, e); });
}) && lanes.every(function (l) {
  return expected.some(function (e) { return e.deployment === l.deployment; })
    || (l.status === 'INACTIVE' && l.running === 0 && l.pending === 0 && l.desired === 0);
});
return ok ? lanes : null;"#;
        let lanes = browser
            .wait_for(&format!("step {step}: the lanes to show {expected:?}"), 15, &check, json!([expected]))
            .await;
        most = most.max(lanes.as_array().map_or(0, Vec::len));
        advance(&emulator, 1.0).await;
    }
    let described = service(&client, "c", "web").await;
    assert_eq!(described.deployments().len(), 1, "the rollout finished");
    assert_eq!(described.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert_eq!(most, 2, "two deployment lanes");
    browser.quit().await;
}

#[tokio::test]
async fn a_tripped_circuit_breaker_is_on_the_timeline_with_ecss_reason() {
    let breaker = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
        .build();
    let (emulator, client) = web_on_revision_1(&[("ECS_EMULATOR_EXIT_CODE", "1")], 2, breaker).await;
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.expect("update");
    let failing = service(&client, "c", "web").await.deployments()[0].id().expect("id").to_owned();

    let browser = Browser::start().await;
    browser.goto(&console(&emulator, "clusters/c/services/web")).await;
    // The clock buttons: each press moves the manual clock 10 s.
    let before = emulator.store().clock.now_millis();
    for press in 0..3 {
        // Each press posts the form and loads the page anew (a new time origin).
        let origin = browser.execute("return performance.timeOrigin;", json!([])).await;
        browser.click("form.clock button[value='10']").await;
        browser
            .wait_for(
                &format!("the page after press {press}"),
                15,
                "return performance.timeOrigin !== arguments[0] && document.readyState === 'complete';",
                json!([origin]),
            )
            .await;
    }
    assert_eq!(emulator.store().clock.now_millis() - before, 30_000, "three presses of +10 s");
    let events = crate::support::events(&service(&client, "c", "web").await);
    assert!(
        events.contains(&format!("(service web) (deployment {failing}) deployment failed: tasks failed to start.")),
        "{events:?}"
    );
    let marker = browser
        .wait_for(
            "the circuit breaker's marker",
            15,
            "var m = document.querySelector('svg.timeline g.marker[data-kind=circuit-breaker]');
             return m && { deployment: m.dataset.deployment, reason: m.dataset.reason,
                           title: m.querySelector('title').textContent,
                           row: document.querySelector('table.markers tr.marker[data-kind=circuit-breaker] td.reason').textContent };",
            json!([]),
        )
        .await;
    assert_eq!(marker["deployment"], json!(failing));
    assert_eq!(marker["reason"], BREAKER_REASON);
    assert_eq!(marker["row"], BREAKER_REASON);
    assert!(marker["title"].as_str().is_some_and(|t| t.ends_with(BREAKER_REASON)), "{marker}");
    let rollback = browser
        .execute(
            "var m = document.querySelector('svg.timeline g.marker[data-kind=rollback]'); return m && m.dataset.reason;",
            json!([]),
        )
        .await;
    let completed = service(&client, "c", "web").await.deployments()[0].id().expect("id").to_owned();
    assert_eq!(rollback, json!(format!("ECS deployment circuit breaker: rolling back to deploymentId {completed}.")));
    let lanes = browser.execute(LANES, json!([])).await;
    let failed_lane = lanes.as_array().and_then(|l| l.iter().find(|l| l["deployment"] == json!(failing))).cloned();
    assert_eq!(
        failed_lane.map(|l| (l["status"].clone(), l["rolloutState"].clone())),
        Some((json!("INACTIVE"), json!("FAILED"))),
        "{lanes}"
    );
    check_page(&browser, "the service page after a rollback").await;

    let png = browser.screenshot("figure.timeline").await;
    assert_png(&png);
    if std::env::var("ECS_BRIDGE_WRITE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulator/console/timeline.png");
        std::fs::write(path, &png).expect("screenshot written");
    }
    browser.quit().await;
}

#[tokio::test]
async fn with_credentials_the_console_asks_the_browser_for_them() {
    let credentials = Credentials { access_key_id: "AKIDCONSOLE".into(), secret_access_key: "console-secret".into() };
    let (emulator, _client) =
        start_with(EmulatorConfig { credentials: Some(credentials), ..EmulatorConfig::manual() }).await;
    let http = reqwest::Client::new();
    let url = console(&emulator, "");
    let refused = http.get(&url).send().await.expect("sent");
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"ecs-bridge emulator\""),
        "a browser asks for the key id and secret"
    );
    let wrong = http.get(&url).basic_auth("AKIDCONSOLE", Some("nope")).send().await.expect("sent");
    assert_eq!(wrong.status(), 403);
    let page = http.get(&url).basic_auth("AKIDCONSOLE", Some("console-secret")).send().await.expect("sent");
    assert_eq!(page.status(), 200);
    let policy = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    assert!(page.text().await.expect("HTML").contains("<h1>Overview</h1>"));
    // The clock buttons post a form: not from another site's page.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let press = |origin: String| {
        no_redirects
            .post(console(&emulator, "clock"))
            .basic_auth("AKIDCONSOLE", Some("console-secret"))
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("seconds=5&back=%2F_emulator%2Fconsole%2F")
            .send()
    };
    let before = emulator.store().clock.now_millis();
    assert_eq!(press("https://elsewhere.example".into()).await.expect("sent").status(), 403);
    let moved = press(emulator.endpoint()).await.expect("sent");
    assert_eq!(moved.status(), 303);
    assert_eq!(moved.headers().get("location").and_then(|v| v.to_str().ok()), Some("/_emulator/console/"));
    assert_eq!(emulator.store().clock.now_millis() - before, 5_000);
}
