//! A small WebDriver client over reqwest, enough for the console's tests:
//! starts Debian's `chromedriver` on a free port with headless Chromium,
//! opens pages, runs scripts, clicks, takes screenshots. (A WebDriver crate
//! would bring its own HTTP stack; these few calls are the protocol's
//! plainest part.)

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// Chromium's binary as Debian installs it.
const CHROMIUM: &str = "/usr/bin/chromium";
/// One browser at a time: Chromium is heavy on two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A headless Chromium driven through chromedriver; the driver is killed
/// on drop (call [`Browser::quit`] first to close the browser cleanly).
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    pub async fn start() -> Self {
        if !installed("chromedriver") || !installed(CHROMIUM) {
            panic!(
                "the console's browser tests need Chromium and its WebDriver: `apt-get install -y chromium chromium-driver` \
                 (Debian's packages; .ci/run installs them)"
            );
        }
        let turn = ONE_AT_A_TIME.lock().await;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready
                && let Ok(body) = r.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on port {port} within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // --no-sandbox: the tests run as root.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1100", "--hide-scrollbars", "--force-device-scale-factor=1"],
            },
        } } });
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session sent")
            .json()
            .await
            .expect("new session answers JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver made no session: {created}"))
            .to_owned();
        Self { http, session: format!("{base}/session/{session}"), driver, _turn: turn }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("WebDriver call sent").json().await.expect("WebDriver JSON");
        if let Some(error) = answer["value"].get("error") {
            panic!("WebDriver {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and answers
    /// what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// The first element matching `css`, as a WebDriver element reference.
    async fn find(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// A PNG of the element matching `css`.
    pub async fn screenshot(&self, css: &str) -> Vec<u8> {
        let element = self.find(css).await;
        let data = self.call(reqwest::Method::GET, &format!("/element/{element}/screenshot"), None).await;
        base64::engine::general_purpose::STANDARD.decode(data.as_str().expect("base64 PNG")).expect("PNG decodes")
    }

    /// Runs `script` until it returns something truthy, or fails after
    /// `seconds` with `what` and the last answer.
    pub async fn wait_for(&self, what: &str, seconds: u64, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let answer = self.execute(script, args.clone()).await;
            let truthy =
                !matches!(&answer, Value::Null | Value::Bool(false)) && answer != json!("") && answer != json!(0);
            if truthy {
                return answer;
            }
            assert!(Instant::now() < deadline, "waited {seconds} s for {what}; last answer: {answer}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Closes the browser.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
