//! Coverage-guided fuzzing of the emulator's request path: the first input
//! byte picks an operation (or a garbage target), the rest is the body. Any
//! panic, any 500, or a response that is not a well-formed ECS answer is a
//! finding. One emulator state persists across inputs, so sequences of
//! requests build up clusters, services and tasks to run into.
#![no_main]

use std::sync::{Arc, OnceLock};

use ecs_bridge::emulator::{App, OPERATIONS, handle_target};
use ecs_bridge::emulator::{EmulatorConfig, build_app};
use libfuzzer_sys::fuzz_target;

fn app() -> &'static Arc<App> {
    static APP: OnceLock<Arc<App>> = OnceLock::new();
    APP.get_or_init(|| build_app(&EmulatorConfig::default()).expect("emulator state"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let target = match OPERATIONS.get(usize::from(selector) % (OPERATIONS.len() + 1)) {
        Some((name, _)) => format!("AmazonEC2ContainerServiceV20141113.{name}"),
        None => String::from_utf8_lossy(body.get(..body.len().min(40)).unwrap_or_default()).into_owned(),
    };
    let (status, response) = handle_target(app(), Some(&target), body);
    assert!(status == 200 || status == 400, "status {status}: {response}");
    assert!(response.is_object());
    if status == 400 {
        assert!(response["__type"].as_str().is_some_and(|t| t.ends_with("Exception")));
        assert!(response["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
});
