//! The page every console view stands in: the heading, where it is, the
//! clock (with its buttons on the manual clock), the inline style and the
//! live-update script. Nothing is fetched from elsewhere: no fonts, no
//! files, one inline script that polls [`super::live`] on this origin.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::emulator::server::App;
use crate::emulator::state::Store;

/// The console's root path.
pub const ROOT: &str = "/_emulator/console";

/// Colours chosen for at least 4.5:1 contrast on their backgrounds (the
/// browser test computes it from the rendered page).
const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; background: #ffffff; }
header.top { background: #1f2937; color: #ffffff; padding: 0.6rem 1.2rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; }
header.top a { color: #ffffff; }
header.top .brand { font-weight: 600; }
main { padding: 0.5rem 1.2rem 2rem; max-width: 1200px; }
nav.crumbs ol { list-style: none; padding: 0; margin: 0.6rem 0 0; display: flex; flex-wrap: wrap; gap: 0.3rem; }
nav.crumbs li + li::before { content: "/"; margin-right: 0.3rem; color: #4b5563; }
a { color: #0b4fb3; }
h1 { font-size: 1.5rem; margin: 0.6rem 0; }
h2 { font-size: 1.2rem; margin: 1.4rem 0 0.5rem; border-bottom: 1px solid #d1d5db; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.4rem; }
table { border-collapse: collapse; margin: 0.3rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #d1d5db; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f4f6; color: #1a1a1a; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #4b5563; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.88rem; }
pre { background: #f9fafb; color: #1a1a1a; border: 1px solid #d1d5db; padding: 0.5rem; overflow-x: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0.3rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.state { padding: 0 0.35rem; border-radius: 0.25rem; background: #e5e7eb; color: #1a1a1a; }
.state-ok { background: #dcfce7; color: #14532d; }
.state-bad { background: #fee2e2; color: #7f1d1d; }
.state-busy { background: #fef3c7; color: #713f12; }
form.clock { display: inline-flex; gap: 0.3rem; align-items: center; margin: 0; }
form.clock button, form.compare button { font: inherit; padding: 0.15rem 0.6rem; border: 1px solid #111827; background: #ffffff; color: #111827; border-radius: 0.25rem; cursor: pointer; }
.clock-now { font-variant-numeric: tabular-nums; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; margin: 0.3rem 0; font-size: 0.9rem; }
.legend svg { vertical-align: middle; }
figure.timeline { margin: 0.3rem 0; overflow-x: auto; }
figure.timeline figcaption { font-size: 0.9rem; color: #4b5563; }
pre.diff ins { background: #dcfce7; color: #14532d; text-decoration: none; display: block; }
pre.diff del { background: #fee2e2; color: #7f1d1d; text-decoration: none; display: block; }
pre.diff span { display: block; }
pre.logs { max-height: 30rem; }
"#;

/// Polls the live endpoint once a second: shows the clock's time, and when
/// the state's stamp moved, fetches this page again and swaps its `main`.
const SCRIPT: &str = r#"
(function () {
  var body = document.body;
  var stamp = body.getAttribute('data-stamp');
  var live = body.getAttribute('data-live');
  function refresh() {
    return fetch(location.href, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text) return;
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var fresh = doc.querySelector('main');
        var old = document.querySelector('main');
        if (fresh && old) old.replaceWith(fresh);
        stamp = doc.body.getAttribute('data-stamp') || stamp;
        body.setAttribute('data-stamp', stamp);
      });
  }
  function poll() {
    fetch(live, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        var now = document.getElementById('clock-now');
        if (now && j.now) now.textContent = j.now;
        if (String(j.stamp) !== stamp) return refresh();
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
"#;

/// The partition a page shows, as the query its links carry: empty for the
/// emulator's own partition.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    query: String,
}

impl Scope {
    /// The scope of `store` (its partition, unless it is the default one).
    pub fn of(store: &Store, default: &crate::emulator::state::partitions::Partition) -> Self {
        let partition = store.partition();
        if &partition == default {
            return Self::default();
        }
        Self { query: format!("region={}&account={}", partition.region, partition.account) }
    }

    /// `path` with the scope's query.
    pub fn link(&self, path: &str) -> String {
        match (self.query.is_empty(), path.contains('?')) {
            (true, _) => path.to_owned(),
            (false, false) => format!("{path}?{}", self.query),
            (false, true) => format!("{path}&{}", self.query),
        }
    }

    /// The scope's query as hidden form fields.
    pub fn fields(&self) -> Markup {
        html! {
            @for (key, value) in form_urlencoded::parse(self.query.as_bytes()) {
                input type="hidden" name=(key) value=(value);
            }
        }
    }
}

/// What the header shows of the clock.
pub struct ClockView {
    pub manual: bool,
    pub now_millis: i64,
}

/// Epoch milliseconds as an RFC 3339 instant.
pub fn instant(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis).map(|t| t.to_string()).unwrap_or_else(|_| millis.to_string())
}

/// A table's header row: each heading a column header (`scope="col"`), so
/// a screen reader ties every cell to its column.
pub fn column_heads(names: &[&str]) -> Markup {
    html! { thead { tr { @for name in names { th scope="col" { (name) } } } } }
}

/// An ECS status word, coloured by what it means.
pub fn state(word: &str) -> Markup {
    let class = match word {
        "RUNNING" | "ACTIVE" | "COMPLETED" | "PRIMARY" | "HEALTHY" | "SUCCESSFUL" => "state state-ok",
        "FAILED" | "STOPPED" | "UNHEALTHY" | "INACTIVE" | "DEREGISTERING" => "state state-bad",
        "IN_PROGRESS" | "PENDING" | "PROVISIONING" | "ACTIVATING" | "DEACTIVATING" | "STOPPING" | "DEPROVISIONING"
        | "DRAINING" => "state state-busy",
        _ => "state",
    };
    html! { span class=(class) { (word) } }
}

/// What every page of one request shares: its partition, the clock, the
/// stamp the live endpoint compares with, and its own address.
pub struct Frame {
    pub scope: Scope,
    pub clock: ClockView,
    pub stamp: u64,
    /// This page's path and query, where the clock buttons come back to.
    pub here: String,
}

impl Frame {
    pub fn new(app: &App, store: &Store, uri: &Uri) -> Self {
        Self {
            scope: Scope::of(store, &app.partitions.default_partition()),
            clock: ClockView { manual: app.store.clock.manual().is_some(), now_millis: app.store.clock.now_millis() },
            stamp: super::stamp::stamp(store),
            here: uri.path_and_query().map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        }
    }

    /// `path` with this page's partition query.
    pub fn link(&self, path: &str) -> String {
        self.scope.link(path)
    }

    /// The page: `crumbs` are the links above the heading (the root first;
    /// the page itself comes last, unlinked).
    pub fn page(&self, title: &str, crumbs: &[(String, String)], body: Markup) -> Response {
        respond(StatusCode::OK, self.render(title, crumbs, body))
    }

    /// A 404 page saying what is not there.
    pub fn missing(&self, what: &str) -> Response {
        let body = html! {
            p { (what) " does not exist (or no longer) in this partition." }
            p { a href=(self.link(&format!("{ROOT}/"))) { "Back to the clusters" } }
        };
        respond(StatusCode::NOT_FOUND, self.render("Not found", &[], body))
    }

    fn render(&self, title: &str, crumbs: &[(String, String)], body: Markup) -> Markup {
        let root = (format!("{ROOT}/"), "Overview".to_owned());
        let is_root = crumbs.is_empty() && title == root.1;
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · ecs-bridge emulator" }
                    style { (PreEscaped(STYLE)) }
                }
                body data-stamp=(self.stamp) data-live=(self.link(&format!("{ROOT}/live"))) {
                    header.top {
                        a.brand href=(self.link(&format!("{ROOT}/"))) { "ecs-bridge emulator console" }
                        (clock_panel(&self.clock, &self.here))
                    }
                    main {
                        nav.crumbs aria-label="Breadcrumb" {
                            ol {
                                @for (href, label) in std::iter::once(&root).filter(|_| !is_root).chain(crumbs) {
                                    li { a href=(self.link(href)) { (label) } }
                                }
                                li aria-current="page" { (title) }
                            }
                        }
                        h1 { (title) }
                        (body)
                    }
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
    }
}

/// The page of cluster `cluster`.
pub fn cluster_href(cluster: &str) -> String {
    format!("{ROOT}/clusters/{cluster}")
}

pub fn service_href(cluster: &str, service: &str) -> String {
    format!("{ROOT}/clusters/{cluster}/services/{service}")
}

pub fn task_href(cluster: &str, task_id: &str) -> String {
    format!("{ROOT}/clusters/{cluster}/tasks/{task_id}")
}

pub fn family_href(family: &str) -> String {
    format!("{ROOT}/task-definitions/{family}")
}

/// `web:3` from a task definition ARN, and the link to its revision.
pub fn task_definition_link(arn: &str) -> (String, String) {
    let short = arn.rsplit('/').next().unwrap_or(arn);
    let (family, revision) = short.rsplit_once(':').unwrap_or((short, ""));
    (short.to_owned(), format!("{}#revision-{revision}", family_href(family)))
}

/// A task's id from its ARN.
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn clock_panel(clock: &ClockView, here: &str) -> Markup {
    html! {
        div.clock role="group" aria-label="Clock" {
            span { (if clock.manual { "Manual clock: " } else { "Clock: " }) }
            time.clock-now id="clock-now" { (instant(clock.now_millis)) }
            @if clock.manual {
                " "
                form.clock method="post" action=(format!("{ROOT}/clock")) {
                    input type="hidden" name="back" value=(here);
                    @for (seconds, label) in [(1, "1 second"), (10, "10 seconds"), (60, "1 minute")] {
                        button type="submit" name="seconds" value=(seconds)
                            aria-label=(format!("Advance the clock {label}")) { "+" (seconds) " s" }
                    }
                }
            }
        }
    }
}

/// An HTML answer: never cached, and a policy that lets the page reach
/// nothing but this origin.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}
