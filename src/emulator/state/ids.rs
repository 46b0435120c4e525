//! Identifiers in ECS's formats (32-hex task and instance ids, UUIDs, deployment
//! ids) and the long-format ARNs of every resource, plus parsing of the
//! name-or-ARN / id-or-ARN references that requests carry.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng, rngs::StdRng};

thread_local! {
    /// Ids need uniqueness, not secrecy: a per-thread generator seeded from the
    /// process's hash randomness avoids a shared lock on the request path.
    static RNG: RefCell<StdRng> = RefCell::new(StdRng::seed_from_u64(seed()));
    /// The emulator's own generator while one of its requests or ticks runs
    /// on this thread, when it was started with `--seed`.
    static SCOPED: RefCell<Option<SharedRng>> = const { RefCell::new(None) };
}

/// A generator shared by one emulator started with `--seed`: every id and
/// random choice it makes comes from it, so a run's sequence of requests
/// and clock advances always gives the same ids, placements and faults.
pub type SharedRng = Arc<Mutex<StdRng>>;

pub fn seeded(seed: u64) -> SharedRng {
    Arc::new(Mutex::new(StdRng::seed_from_u64(seed)))
}

/// Runs `f` with `rng` (when given) as the source of every id and random
/// choice made on this thread. Emulators without a seed pass `None` and
/// keep the lock-free per-thread generator.
pub fn with_rng<R>(rng: Option<&SharedRng>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<SharedRng>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SCOPED.with(|s| *s.borrow_mut() = previous);
        }
    }
    let Some(rng) = rng else { return f() };
    let _restore = Restore(SCOPED.with(|s| s.borrow_mut().replace(rng.clone())));
    f()
}

fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
    );
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}

/// 128 random bits, from the scoped (seeded) generator when there is one.
pub fn random_u128() -> u128 {
    let scoped = SCOPED.with(|s| s.borrow().clone());
    if let Some(shared) = scoped {
        let mut rng = shared.lock().unwrap_or_else(|e| e.into_inner());
        return (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    }
    RNG.with(|rng| {
        let mut rng = rng.borrow_mut();
        (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
    })
}

/// A uniform number in `[0, 1)`, for fault rates.
pub fn random_unit() -> f64 {
    (random_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// A random index, for random placement.
pub fn random_index() -> usize {
    (random_u128() % (usize::MAX as u128)) as usize
}

/// A task or container-instance id: 32 lowercase hex digits.
pub fn hex32() -> String {
    format!("{:032x}", random_u128())
}

/// A version-4 UUID, for request, event, container and attachment ids.
pub fn uuid() -> String {
    let v = (random_u128() & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A deployment id: `ecs-svc/` and 19 digits.
pub fn deployment_id() -> String {
    let digits = random_u128() % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    format!("ecs-svc/{digits}")
}

/// An EC2 instance id, for container instances registered without one.
pub fn ec2_instance_id() -> String {
    format!("i-{:017x}", random_u128() & ((1u128 << 68) - 1))
}

/// Builds the long-format ARNs for one region and account.
#[derive(Clone, Debug)]
pub struct Arns {
    prefix: String,
    pub region: String,
    pub account_id: String,
}

impl Arns {
    pub fn new(region: &str, account_id: &str) -> Self {
        Self {
            prefix: format!("arn:aws:ecs:{region}:{account_id}:"),
            region: region.to_owned(),
            account_id: account_id.to_owned(),
        }
    }

    pub fn cluster(&self, name: &str) -> String {
        format!("{}cluster/{name}", self.prefix)
    }
    pub fn service(&self, cluster: &str, name: &str) -> String {
        format!("{}service/{cluster}/{name}", self.prefix)
    }
    pub fn task(&self, cluster: &str, id: &str) -> String {
        format!("{}task/{cluster}/{id}", self.prefix)
    }
    pub fn container_instance(&self, cluster: &str, id: &str) -> String {
        format!("{}container-instance/{cluster}/{id}", self.prefix)
    }
    pub fn container(&self, cluster: &str, task_id: &str, id: &str) -> String {
        format!("{}container/{cluster}/{task_id}/{id}", self.prefix)
    }
    pub fn task_definition(&self, family: &str, revision: u32) -> String {
        format!("{}task-definition/{family}:{revision}", self.prefix)
    }
    /// The ARN of any other ECS resource: `path` is what follows the
    /// account (`daemon/cluster/name`, `gateway/name`, ...).
    pub fn resource(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
    pub fn capacity_provider(&self, name: &str) -> String {
        format!("{}capacity-provider/{name}", self.prefix)
    }
    /// Who registered things: the account's root principal.
    pub fn registered_by(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account_id)
    }

    /// The resource part of an ECS ARN (`cluster/x`, `task/c/id`, ...), or
    /// `None` when `arn` is not an ECS ARN at all.
    pub fn resource_of(arn: &str) -> Option<&str> {
        let rest = arn.strip_prefix("arn:")?;
        let mut parts = rest.splitn(5, ':');
        let _partition = parts.next()?;
        if parts.next()? != "ecs" {
            return None;
        }
        let _region = parts.next()?;
        let _account = parts.next()?;
        parts.next()
    }
}

/// The name in a cluster reference: a bare name or a cluster ARN.
pub fn cluster_name_of(reference: &str) -> &str {
    match Arns::resource_of(reference).and_then(|r| r.strip_prefix("cluster/")) {
        Some(name) => name,
        None => reference,
    }
}

/// The service name in a service reference (name, `service/name` legacy ARN or
/// `service/cluster/name` long ARN).
pub fn service_name_of(reference: &str) -> &str {
    match Arns::resource_of(reference).and_then(|r| r.strip_prefix("service/")) {
        Some(rest) => rest.rsplit('/').next().unwrap_or(rest),
        None => reference,
    }
}

/// The id in a task or container-instance reference (bare id or ARN, long or
/// old short format).
pub fn id_of(reference: &str) -> &str {
    if Arns::resource_of(reference).is_some() { reference.rsplit('/').next().unwrap_or(reference) } else { reference }
}

/// A task-definition reference: `family`, `family:revision` or an ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskDefinitionRef {
    Family(String),
    Revision(String, u32),
}

impl TaskDefinitionRef {
    /// Parses a reference; `None` when a revision part is present but not a
    /// positive number.
    pub fn parse(reference: &str) -> Option<Self> {
        let body = match Arns::resource_of(reference) {
            Some(resource) => resource.strip_prefix("task-definition/")?,
            None => reference,
        };
        match body.rsplit_once(':') {
            Some((family, rev)) => {
                let revision: u32 = rev.parse().ok().filter(|r| *r > 0)?;
                Some(Self::Revision(family.to_owned(), revision))
            }
            None => Some(Self::Family(body.to_owned())),
        }
    }

    pub fn family(&self) -> &str {
        match self {
            Self::Family(f) | Self::Revision(f, _) => f,
        }
    }
}

/// `[A-Za-z0-9_-]{1,255}`: cluster, service, family and container names.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_ecs_formats() {
        let id = hex32();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(hex32(), hex32());
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let d = deployment_id();
        assert_eq!(d.len(), "ecs-svc/".len() + 19, "{d}");
    }

    #[test]
    fn references_resolve() {
        let arns = Arns::new("eu-west-1", "111122223333");
        assert_eq!(cluster_name_of(&arns.cluster("web")), "web");
        assert_eq!(cluster_name_of("web"), "web");
        assert_eq!(service_name_of(&arns.service("c", "s")), "s");
        assert_eq!(id_of(&arns.task("c", "abc")), "abc");
        assert_eq!(
            TaskDefinitionRef::parse(&arns.task_definition("nginx", 3)),
            Some(TaskDefinitionRef::Revision("nginx".into(), 3))
        );
        assert_eq!(TaskDefinitionRef::parse("nginx"), Some(TaskDefinitionRef::Family("nginx".into())));
        assert_eq!(TaskDefinitionRef::parse("nginx:x"), None);
        assert_eq!(TaskDefinitionRef::parse("nginx:0"), None);
    }
}
