//! Chaos: EcsServices under random spec changes, scale changes, redeploys and
//! deletes, the controller binary killed with SIGKILL at random instants and
//! restarted, and ECS failing a share of all calls with throttling and server
//! errors. At the end ECS holds exactly what the objects ask for, every object
//! is Ready or gone, no revision is orphaned, and each ECS service event
//! shows as a Kubernetes Event exactly once. Beside the services, EcsTasks (some
//! succeeding, some failing every attempt) run through the same kills and faults:
//! each ends Complete or Failed having run exactly its tasks, `count` per attempt,
//! counted in ECS by the object's `startedBy` (and checked by its `group`).
//!
//! ECS's failures come from the emulator's fault rules (`POST /_emulator/faults`):
//! throttling and server errors on every operation. The short version runs
//! with the suite. The full run:
//!
//!     CHAOS_SERVICES=50 CHAOS_KILLS=100 cargo test --test kube operator_service_chaos -- --nocapture
//!
//! (CHAOS_SEED=<n> replays a run; CHAOS_FAULT_PERCENT sets the failure share, 20;
//! CHAOS_TASKS the number of EcsTasks, 4.)

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ecs_bridge::api::{EcsService, EcsTask, EcsTaskDefinition};
use ecs_bridge::controller::service::events::event_name;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::operator::{ControllerProcess, apply, ecs_client, emulator};
use crate::operator_service::CLUSTER;
use crate::operator_service_rollout::{fargate_service, fargate_task_definition};
use crate::support::{self, poll_until};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Makes the emulator fail `percent`% of all ECS calls, half with
/// throttling, half with server errors (the rules apply in turn).
async fn inject_faults(endpoint: &str, percent: u64) {
    let p = percent as f64 / 100.0;
    let throttle = p / 2.0;
    let server = (p / 2.0) / (1.0 - throttle);
    let http = reqwest::Client::new();
    for (kind, rate) in [("throttle", throttle), ("serverError", server)] {
        let answer = http
            .post(format!("{endpoint}/_emulator/faults"))
            .json(&json!({"kind": kind, "rate": rate}))
            .send()
            .await
            .expect("the fault endpoint answers");
        assert!(answer.status().is_success(), "fault rule {kind}: {:?}", answer.text().await);
    }
}

/// How many of `n` plain calls (no SDK retries) fail: the faults are in force.
async fn failed_calls(ecs: &aws_sdk_ecs::Client, n: usize) -> usize {
    let mut failed = 0;
    for _ in 0..n {
        if ecs.list_clusters().send().await.is_err() {
            failed += 1;
        }
    }
    failed
}

fn start(namespace: &str, endpoint: &str) -> ControllerProcess {
    ControllerProcess::start(
        namespace,
        endpoint,
        &["--leader-elect", "false", "--rollout-poll-seconds", "1", "--resync-seconds", "5"],
        &[],
    )
}

const FAMILIES: [&str; 3] = ["alpha", "beta", "gamma"];

/// What the test asks of each object (absent = deleted).
#[derive(Debug, Clone)]
struct Wanted {
    family: &'static str,
    desired: i32,
    token: u32,
}

fn manifest(name: &str, wanted: &Wanted) -> serde_json::Value {
    fargate_service(
        name,
        json!({
            "taskDefinitionRef": {"name": wanted.family},
            "desiredCount": wanted.desired,
            "forceNewDeploymentToken": wanted.token.to_string(),
        }),
    )
}

/// The family the chaos test's EcsTasks run: its own, so that no revision they
/// resolved is superseded under them.
const BATCH_FAMILY: &str = "batch";

/// What one EcsTask must have run in the end: `count` tasks per attempt, one
/// attempt when it succeeds, `backoff_limit + 1` when every attempt fails.
#[derive(Debug, Clone, Copy)]
struct WantedTask {
    count: i32,
    succeeds: bool,
    backoff_limit: i32,
}

impl WantedTask {
    fn tasks(&self) -> usize {
        let attempts = if self.succeeds { 1 } else { self.backoff_limit + 1 };
        usize::try_from(self.count * attempts).unwrap_or(0)
    }
}

fn task_manifest(name: &str, wanted: &WantedTask) -> serde_json::Value {
    // The emulator's simulated container exits with ECS_EMULATOR_EXIT_CODE, after
    // ECS_EMULATOR_EXIT_AFTER seconds of RUNNING (while starting without it).
    let mut env = vec![json!({"name": "ECS_EMULATOR_EXIT_CODE", "value": if wanted.succeeds { "0" } else { "3" }})];
    if wanted.succeeds {
        env.push(json!({"name": "ECS_EMULATOR_EXIT_AFTER", "value": "1"}));
    }
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsTask", "metadata": {"name": name},
        "spec": {
            "cluster": CLUSTER,
            "taskDefinitionRef": {"name": BATCH_FAMILY},
            "count": wanted.count,
            "group": format!("chaos:{name}"),
            "backoffLimit": wanted.backoff_limit,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0aaaaaaaaaaaaaaa1"]}},
            "overrides": {"containerOverrides": [{"name": "app", "environment": env}]},
        }
    })
}

/// The EcsTasks not yet Complete or Failed.
async fn unfinished_tasks(api: &Api<EcsTask>) -> Vec<String> {
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(e) => return vec![e.to_string()],
    };
    list.items
        .iter()
        .filter(|obj| {
            !obj.status.as_ref().is_some_and(|s| {
                s.conditions.iter().any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
            })
        })
        .map(|obj| format!("{}: {:?}", obj.metadata.name.clone().unwrap_or_default(), obj.status))
        .collect()
}

/// Every task ECS ran for the object of `uid` (found by its `startedBy`), running or
/// stopped, with its group.
async fn tasks_started_for(ecs: &aws_sdk_ecs::Client, uid: &str) -> Vec<aws_sdk_ecs::types::Task> {
    let mut arns = Vec::new();
    for desired in [aws_sdk_ecs::types::DesiredStatus::Running, aws_sdk_ecs::types::DesiredStatus::Stopped] {
        let mut token = None;
        loop {
            let page = ecs
                .list_tasks()
                .cluster(CLUSTER)
                .started_by(format!("ecs-bridge/{uid}"))
                .desired_status(desired.clone())
                .set_next_token(token)
                .send()
                .await
                .expect("ListTasks");
            arns.extend(page.task_arns.unwrap_or_default());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
    }
    let mut tasks = Vec::new();
    for batch in arns.chunks(100) {
        let described =
            ecs.describe_tasks().cluster(CLUSTER).set_tasks(Some(batch.to_vec())).send().await.expect("DescribeTasks");
        tasks.extend(described.tasks.unwrap_or_default());
    }
    tasks
}

/// What keeps the fleet from having converged: objects not Ready for their
/// generation, deleted objects still held by the finalizer.
async fn not_converged(api: &Api<EcsService>, gone: &BTreeSet<String>) -> Vec<String> {
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(e) => return vec![e.to_string()],
    };
    let mut waiting = Vec::new();
    for obj in &list.items {
        let name = obj.metadata.name.clone().unwrap_or_default();
        if gone.contains(&name) {
            waiting.push(format!("{name}: still being deleted"));
            continue;
        }
        let ready = obj.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True" && c.observed_generation == obj.metadata.generation)
        });
        if !ready {
            waiting.push(format!("{name}: {:?}", obj.status.as_ref().map(|s| &s.conditions)));
        }
    }
    waiting
}

#[tokio::test]
async fn chaos_kills_faults_and_changes_converge_exactly() {
    let services = env_or("CHAOS_SERVICES", 12) as usize;
    let task_objects = env_or("CHAOS_TASKS", 4) as usize;
    let kills = env_or("CHAOS_KILLS", 8);
    let percent = env_or("CHAOS_FAULT_PERCENT", 20);
    let max_desired = env_or("CHAOS_MAX_DESIRED", 2) as i32;
    let seed = std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    });
    eprintln!("chaos: seed {seed}, {services} services, {kills} kills, {percent}% faults");
    let mut rng = StdRng::seed_from_u64(seed);

    let ns = support::namespace("svc-chaos").await;
    let emulator = emulator().await;
    let ecs = ecs_client(&emulator.endpoint());
    ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("cluster");
    inject_faults(&emulator.endpoint(), percent).await;
    let faulty_endpoint = emulator.endpoint();
    let failed = failed_calls(&ecs, 100).await;
    assert!(failed > 0, "faults are in force: {failed} of 100 calls failed");
    eprintln!("chaos: {failed} of 100 plain calls fail");

    let tds: Api<EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    let api: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    let mut images: BTreeMap<&str, u32> = FAMILIES.iter().map(|f| (*f, 1)).collect();
    for family in FAMILIES {
        apply(&tds, family, fargate_task_definition(family, &format!("{family}:1"), json!([]))).await;
    }
    apply(&tds, BATCH_FAMILY, fargate_task_definition(BATCH_FAMILY, "batch:1", json!([]))).await;
    let jobs: Api<EcsTask> = Api::namespaced(ns.client.clone(), &ns.name);
    let mut wanted_tasks: BTreeMap<String, WantedTask> = BTreeMap::new();
    for i in 0..task_objects {
        let w = WantedTask { count: rng.random_range(1..=2), succeeds: i % 2 == 0, backoff_limit: 1 };
        let name = format!("job-{i:02}");
        apply(&jobs, &name, task_manifest(&name, &w)).await;
        wanted_tasks.insert(name, w);
    }
    let mut wanted: BTreeMap<String, Option<Wanted>> = BTreeMap::new();
    for i in 0..services {
        let w = Wanted {
            family: FAMILIES[rng.random_range(0..FAMILIES.len())],
            desired: rng.random_range(0..=max_desired),
            token: 0,
        };
        let name = format!("svc-{i:02}");
        apply(&api, &name, manifest(&name, &w)).await;
        wanted.insert(name, Some(w));
    }

    let started = Instant::now();
    for kill in 0..kills {
        let mut controller = start(&ns.name, &faulty_endpoint);
        let lifetime = Duration::from_millis(rng.random_range(300..3000));
        let deadline = Instant::now() + lifetime;
        while Instant::now() < deadline {
            let name = format!("svc-{:02}", rng.random_range(0..services));
            match rng.random_range(0..10) {
                0..=2 => {
                    if let Some(Some(w)) = wanted.get_mut(&name) {
                        w.desired = rng.random_range(0..=max_desired);
                        apply(&api, &name, manifest(&name, w)).await;
                    }
                }
                3 => {
                    if let Some(Some(w)) = wanted.get_mut(&name) {
                        w.token += 1;
                        apply(&api, &name, manifest(&name, w)).await;
                    }
                }
                4 | 5 => {
                    let family = FAMILIES[rng.random_range(0..FAMILIES.len())];
                    let image = images.entry(family).or_default();
                    *image += 1;
                    apply(&tds, family, fargate_task_definition(family, &format!("{family}:{image}"), json!([]))).await;
                }
                6 => {
                    if let Some(Some(w)) = wanted.get_mut(&name) {
                        w.family = FAMILIES[rng.random_range(0..FAMILIES.len())];
                        apply(&api, &name, manifest(&name, w)).await;
                    }
                }
                7 => {
                    if matches!(wanted.get(&name), Some(Some(_))) {
                        let _ = api.delete(&name, &DeleteParams::default()).await;
                        wanted.insert(name, None);
                    }
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
        }
        // SIGKILL, at whatever the controller was doing.
        let _ = controller.child.kill();
        let _ = controller.child.wait();
        eprintln!("chaos: kill {}/{kills} after {lifetime:?}", kill + 1);
    }
    eprintln!("chaos: changes done after {:.0}s", started.elapsed().as_secs_f64());

    // The last controller runs to the end (faults stay on; one that dies at
    // start-up, its ECS check failed by a fault, is started again).
    let mut last = start(&ns.name, &faulty_endpoint);
    let live: BTreeMap<String, Wanted> = wanted.iter().filter_map(|(n, w)| w.clone().map(|w| (n.clone(), w))).collect();
    let gone: BTreeSet<String> = wanted.iter().filter(|(_, w)| w.is_none()).map(|(n, _)| n.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(env_or("CHAOS_CONVERGE_SECS", 300));
    loop {
        if let Ok(Some(exit)) = last.child.try_wait() {
            eprintln!("chaos: the last controller exited ({exit}); starting it again\n{}", last.log());
            last = start(&ns.name, &faulty_endpoint);
        }
        let mut waiting = not_converged(&api, &gone).await;
        waiting.extend(unfinished_tasks(&jobs).await);
        if waiting.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged {:.0}s after the changes:\n{}\ncontroller log:\n{}",
            started.elapsed().as_secs_f64(),
            waiting.join("\n"),
            last.log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("chaos: converged {:.0}s after the start", started.elapsed().as_secs_f64());

    // ECS holds exactly what the objects ask for (faults off for the test's own look).
    reqwest::Client::new()
        .delete(format!("{}/_emulator/faults", emulator.endpoint()))
        .send()
        .await
        .expect("faults cleared");
    let td_status: BTreeMap<String, ecs_bridge::api::EcsTaskDefinitionStatus> = tds
        .list(&ListParams::default())
        .await
        .expect("list task definitions")
        .items
        .into_iter()
        .map(|t| (t.metadata.name.clone().unwrap_or_default(), t.status.unwrap_or_default()))
        .collect();
    let mut active = Vec::new();
    let mut token = None;
    loop {
        let page = ecs.list_services().cluster(CLUSTER).set_next_token(token).send().await.expect("list services");
        active.extend(page.service_arns.unwrap_or_default());
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    let active: BTreeSet<String> = active.iter().map(|a| a.rsplit('/').next().unwrap_or_default().to_owned()).collect();
    assert_eq!(active, live.keys().cloned().collect::<BTreeSet<_>>(), "ACTIVE services = live objects");
    for (name, w) in &live {
        let described = ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(name)
            .send()
            .await
            .expect("describe")
            .services
            .unwrap_or_default();
        let s = described.first().expect("the service");
        assert_eq!(s.desired_count(), w.desired, "{name}: desired count");
        let current = td_status[w.family].task_definition_arn.clone().expect("a current revision");
        assert_eq!(s.task_definition(), Some(current.as_str()), "{name}: on {}'s current revision", w.family);
        assert_eq!(s.deployments().len(), 1, "{name}: settled");
        let obj = api.get(name).await.expect("get");
        assert_eq!(
            obj.status.as_ref().and_then(|st| st.force_new_deployment_token.clone()),
            Some(w.token.to_string()),
            "{name}: the last redeploy token was acted on"
        );

        // Every ECS event still listed is mirrored, under its own name, once. An
        // event ECS logs after the last reconcile (a steady state right after
        // Ready) is mirrored at the next resync: wait for it, never for a duplicate.
        let events: Api<Event> = Api::namespaced(ns.client.clone(), &ns.name);
        poll_until(&format!("{name}: every ECS event is mirrored once"), || async {
            let logged = ecs
                .describe_services()
                .cluster(CLUSTER)
                .services(name)
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?
                .services
                .unwrap_or_default()
                .into_iter()
                .next()
                .map(|s| s.events().to_vec())
                .unwrap_or_default();
            let mirrored: BTreeMap<String, Event> = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?
                .items
                .into_iter()
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str()))
                .filter(|e| e.action.as_deref() == Some("EcsServiceEvent"))
                .map(|e| (e.metadata.name.clone().unwrap_or_default(), e))
                .collect();
            let mut notes: BTreeMap<(String, i64), usize> = BTreeMap::new();
            for e in mirrored.values() {
                let key = (
                    e.note.clone().unwrap_or_default(),
                    e.event_time.as_ref().map(|t| t.0.as_millisecond()).unwrap_or(0),
                );
                *notes.entry(key).or_default() += 1;
            }
            assert!(notes.values().all(|n| *n == 1), "{name}: an ECS event mirrored twice: {notes:#?}");
            for event in &logged {
                let id = event.id().unwrap_or_default();
                let Some(mirrored_event) = mirrored.get(&event_name(name, id)) else {
                    return Err(format!("ECS event {id} ({:?}) is not mirrored", event.message()));
                };
                assert_eq!(mirrored_event.note.as_deref(), event.message());
            }
            Ok(())
        })
        .await;
    }
    for name in &gone {
        assert!(api.get_opt(name).await.expect("get").is_none(), "{name} is gone");
    }

    // Every EcsTask ran exactly its tasks, under its group, and ended as it should.
    for (name, w) in &wanted_tasks {
        let obj = jobs.get(name).await.expect("get the EcsTask");
        let uid = obj.metadata.uid.clone().expect("a uid");
        let status = obj.status.clone().unwrap_or_default();
        let ended = if w.succeeds { "Complete" } else { "Failed" };
        assert!(
            status.conditions.iter().any(|c| c.type_ == ended && c.status == "True"),
            "{name}: {ended}: {status:#?}"
        );
        let ran = tasks_started_for(&ecs, &uid).await;
        eprintln!("chaos: {name} ({w:?}) ran {} task(s) in {} attempt(s)", ran.len(), status.attempts.len());
        assert_eq!(ran.len(), w.tasks(), "{name}: {w:?} ran {} task(s): {status:#?}", ran.len());
        let group = format!("chaos:{name}");
        assert!(ran.iter().all(|t| t.group() == Some(group.as_str())), "{name}: every task in its group");
        assert_eq!(status.attempts.len(), if w.succeeds { 1 } else { 2 }, "{name}: attempts");
    }

    // No orphaned revision: every ACTIVE revision of a family is one its object tracks.
    for family in FAMILIES {
        let listed = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await
            .expect("list revisions")
            .task_definition_arns
            .unwrap_or_default();
        let tracked: BTreeSet<String> =
            td_status[family].revisions.iter().map(|r| r.task_definition_arn.clone()).collect();
        for arn in listed {
            assert!(
                tracked.contains(&arn),
                "{family}: ACTIVE revision {arn} is not tracked by its object: {tracked:?}"
            );
        }
    }
    drop(last);
}
