//! The awsvpc network of tasks: which availability zone a subnet is in,
//! which subnet and private address a new task's elastic network interface
//! (ENI) gets, and the ENI attachment ECS shows on the task.
//!
//! The emulator has no VPC to ask, so a subnet's zone follows from its id
//! and needs no setup:
//! - an id ending in `-az-<letter>` (`subnet-web-az-b`) is in zone
//!   `<region><letter>` (`us-east-1b`): a test or demo picks zones by name;
//! - any other id (`subnet-0123456789abcdef0`) is in zone `a`, `b` or `c`
//!   of the region by a stable hash (FNV-1a) of the id, the same on every
//!   run and machine.
//!
//! Each subnet has a /20 block of `10.0.0.0/16` picked by the same hash; a
//! task gets the block's next free address (from `.4`, as AWS reserves the
//! first four; round-robin, see [`Addresses`]), unique among the tasks of
//! its cluster that are not STOPPED (the search moves on through the /16
//! when the block is full).
//!
//! Like ECS, a service's Fargate tasks are balanced over the zones of its
//! subnets: each new task goes to the zone with the fewest running tasks of
//! the same group (the service's, or the RunTask group), then to that zone's
//! subnet with the fewest, a (seeded) random pick settling ties. A task on a
//! container instance (EC2 awsvpc) takes a subnet in the instance's zone.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::state::ids::{random_index, random_u128, uuid};
use super::state::records::TaskEntry;

/// The attachment type of a task's ENI.
pub const ENI: &str = "ElasticNetworkInterface";

/// The zone letters ids without an `-az-<letter>` suffix are hashed onto.
const ZONES: [char; 3] = ['a', 'b', 'c'];

/// FNV-1a, 64 bits: stable across runs, machines and Rust versions (the
/// standard library's hasher is not).
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The availability zone of `subnet` in `region` (see the module doc).
pub fn availability_zone(region: &str, subnet: &str) -> String {
    let named = subnet
        .rsplit_once("-az-")
        .map(|(_, letter)| letter)
        .filter(|l| l.len() == 1 && l.bytes().all(|b| b.is_ascii_lowercase()));
    match named {
        Some(letter) => format!("{region}{letter}"),
        None => format!("{region}{}", ZONES[(stable_hash(subnet) % ZONES.len() as u64) as usize]),
    }
}

/// The first address of `subnet`'s /20 block in `10.0.0.0/16`.
fn block_start(subnet: &str) -> u32 {
    let block = (stable_hash(subnet) >> 32) % 16;
    u32::from(Ipv4Addr::new(10, 0, 0, 0)) + ((block as u32) << 12)
}

/// The subnet's CIDR block, e.g. `10.0.48.0/20`.
pub fn cidr_block(subnet: &str) -> String {
    format!("{}/20", Ipv4Addr::from(block_start(subnet)))
}

/// The private DNS name EC2 gives an address in `region`.
pub fn private_dns_name(region: &str, ip: Ipv4Addr) -> String {
    let host = format!("ip-{}", ip.to_string().replace('.', "-"));
    if region == "us-east-1" { format!("{host}.ec2.internal") } else { format!("{host}.{region}.compute.internal") }
}

/// Where a new task's ENI goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eni {
    pub subnet_id: String,
    pub availability_zone: String,
    /// `None` only when every address of the /16 is taken in the cluster.
    pub private_ip: Option<Ipv4Addr>,
}

/// A detail of an attachment, by name.
pub fn detail<'a>(attachment: &'a Value, name: &str) -> Option<&'a str> {
    attachment
        .get("details")?
        .as_array()?
        .iter()
        .find(|d| d.get("name").and_then(Value::as_str) == Some(name))?
        .get("value")?
        .as_str()
}

/// The task's ENI attachment, if it has one.
pub fn eni_of(entry: &TaskEntry) -> Option<&Value> {
    entry.task.attachments.iter().find(|a| a.get("type").and_then(Value::as_str) == Some(ENI))
}

/// The ENI attachment of a new task (status ATTACHING: the interface exists
/// and is being attached while the task is PROVISIONING), and the
/// `networkInterfaces` entry its containers show.
pub fn attachment(region: &str, eni: &Eni) -> (Value, Option<Value>) {
    let id = uuid();
    let bits = random_u128();
    let interface_id = format!("eni-{:017x}", bits & ((1u128 << 68) - 1));
    // A locally administered unicast MAC, as EC2's `0a:…` / `02:…` ones.
    let mac = {
        let b = (bits >> 68).to_be_bytes();
        format!("0a:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[11], b[12], b[13], b[14], b[15])
    };
    let mut details = vec![
        json!({ "name": "subnetId", "value": eni.subnet_id }),
        json!({ "name": "networkInterfaceId", "value": interface_id }),
        json!({ "name": "macAddress", "value": mac }),
    ];
    let mut interface = None;
    if let Some(ip) = eni.private_ip {
        details.push(json!({ "name": "privateDnsName", "value": private_dns_name(region, ip) }));
        details.push(json!({ "name": "privateIPv4Address", "value": ip.to_string() }));
        interface = Some(json!({ "attachmentId": id, "privateIpv4Address": ip.to_string() }));
    }
    (json!({ "id": id, "type": ENI, "status": "ATTACHING", "details": details }), interface)
}

/// Where a group's running tasks are, by zone and subnet: what a launch
/// balances over. Built per launch from the tasks it is given and updated as
/// tasks are placed.
#[derive(Debug, Default)]
pub struct Spread {
    per_zone: HashMap<String, usize>,
    per_subnet: HashMap<String, usize>,
}

impl Spread {
    /// The spread of the running (desired RUNNING, not STOPPED) tasks of
    /// `group` among `tasks`.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a TaskEntry>, group: &str) -> Self {
        let mut spread = Self::default();
        for t in tasks {
            if t.is_stopped() || t.task.group != group || t.task.desired_status != "RUNNING" {
                continue;
            }
            if let Some(zone) = &t.task.availability_zone {
                *spread.per_zone.entry(zone.clone()).or_default() += 1;
            }
            if let Some(subnet) = eni_of(t).and_then(|a| detail(a, "subnetId")) {
                *spread.per_subnet.entry(subnet.to_owned()).or_default() += 1;
            }
        }
        spread
    }

    /// Picks the subnet for the next task of the group among `subnets` (in
    /// `zone` when the task is on an instance there) and counts it: the zone
    /// with the fewest tasks, then its subnet with the fewest, a random pick
    /// among equals. Returns (subnet, zone); `None` without subnets.
    pub fn place(&mut self, region: &str, subnets: &[String], zone: Option<&str>) -> Option<(String, String)> {
        let mut options = options(region, subnets);
        if let Some(zone) = zone
            && options.iter().any(|(_, z)| z == zone)
        {
            options.retain(|(_, z)| z == zone);
        }
        let load = |(s, z): &(String, String)| {
            (self.per_zone.get(z).copied().unwrap_or(0), self.per_subnet.get(s).copied().unwrap_or(0))
        };
        let best = options.iter().map(load).min()?;
        let fewest: Vec<&(String, String)> = options.iter().filter(|o| load(o) == best).collect();
        let (subnet, zone) = fewest[random_index() % fewest.len()].clone();
        *self.per_zone.entry(zone.clone()).or_default() += 1;
        *self.per_subnet.entry(subnet.clone()).or_default() += 1;
        Some((subnet, zone))
    }
}

/// The distinct subnets with their zones, sorted (so a seeded random pick
/// does not depend on the request's order).
fn options(region: &str, subnets: &[String]) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> =
        subnets.iter().map(|s| (s.clone(), availability_zone(region, s))).collect();
    options.sort();
    options.dedup();
    options
}

/// Whether placing a task in `subnets` is a choice at all (more than one
/// subnet): a launch only needs the group's [`Spread`] then.
pub fn is_choice(subnets: &[String]) -> bool {
    subnets.iter().any(|s| s != &subnets[0])
}

/// The private addresses handed out in one cluster, so a new task's address
/// costs no scan of the cluster's tasks. It lives on the cluster but is not
/// part of its state: not persisted (rebuilt from the tasks when missing)
/// and equal to any other book.
///
/// An address is taken while the task it went to is not STOPPED (its ENI is
/// DELETED then). Tasks stop without telling the book; instead each /20
/// block hands out addresses round-robin from a cursor, and an address whose
/// holder has stopped is given again when the cursor comes back to it.
///
/// A full block spills into the rest of the /16. Finding a block full costs a
/// scan of its 4,096 addresses, so a full block is not scanned again for the
/// next [`SPILL_RUN`] addresses of its subnet: they go straight to the spill
/// cursor, and addresses freed in the block are taken again after that run.
/// This keeps a subnet with more tasks than its block from costing a block
/// scan per task.
#[derive(Clone, Debug, Default)]
pub struct Addresses {
    holders: HashMap<u32, String>,
    /// Next offset to try in each /20 block, by the block's first address.
    cursors: HashMap<u32, u32>,
    /// Blocks found full: where their spill goes on, and how many more
    /// addresses skip the block scan.
    spills: HashMap<u32, Spill>,
}

/// Addresses given from beyond a full block before it is scanned again.
const SPILL_RUN: u32 = 256;

#[derive(Clone, Copy, Debug)]
struct Spill {
    /// Offset from the block's start (0x1000..0x10000) to try next.
    next: u32,
    /// Addresses still to give before the block is scanned again.
    left: u32,
}

impl PartialEq for Addresses {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Addresses {
    /// The addresses held by the tasks of a cluster.
    pub fn of<'a>(tasks: impl IntoIterator<Item = (&'a String, &'a TaskEntry)>) -> Self {
        let mut book = Self::default();
        for (id, t) in tasks {
            if let Some(ip) = held_address(t) {
                book.holders.insert(u32::from(ip), id.clone());
            }
        }
        book
    }

    /// Gives `task_id` an address from `subnet`'s block (from `.4`: AWS
    /// reserves the first four and the last), or beyond it in the /16 when
    /// the block is full; `holds(id)` says whether a task still holds its
    /// address. `None` when all of 10.0.0.0/16 is held.
    pub fn allocate(&mut self, subnet: &str, task_id: &str, holds: impl Fn(&str) -> bool) -> Option<Ipv4Addr> {
        let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
        let block = block_start(subnet);
        let usable = |ip: &u32| (ip & 0xfff) >= 4 && (ip & 0xfff) != 0xfff;
        let free = |holders: &HashMap<u32, String>, ip: &u32| holders.get(ip).is_none_or(|holder| !holds(holder));
        let spill = self.spills.get(&block).copied();
        let in_block = match spill {
            Some(Spill { left, .. }) if left > 0 => None,
            _ => {
                let cursor = self.cursors.get(&block).copied().unwrap_or(0);
                (0..0x1000u32).map(|i| block + ((cursor + i) & 0xfff)).filter(usable).find(|ip| free(&self.holders, ip))
            }
        };
        let ip = match in_block {
            Some(ip) => {
                self.cursors.insert(block, ((ip & 0xfff) + 1) & 0xfff);
                self.spills.remove(&block);
                ip
            }
            None => {
                // Beyond the block, round the rest of the /16 from the spill cursor.
                let start = spill.map_or(0x1000, |s| s.next);
                let at = |offset: u32| base + ((block - base + offset) & 0xffff);
                let offset = (0..0xf000u32)
                    .map(|i| 0x1000 + (start - 0x1000 + i) % 0xf000)
                    .find(|o| usable(&at(*o)) && free(&self.holders, &at(*o)))?;
                let left = match spill {
                    Some(Spill { left, .. }) if left > 0 => left - 1,
                    _ => SPILL_RUN,
                };
                self.spills.insert(block, Spill { next: 0x1000 + (offset + 1 - 0x1000) % 0xf000, left });
                at(offset)
            }
        };
        self.holders.insert(ip, task_id.to_owned());
        Some(Ipv4Addr::from(ip))
    }
}

/// The address a task's ENI holds: until the task is STOPPED.
pub fn held_address(t: &TaskEntry) -> Option<Ipv4Addr> {
    if t.is_stopped() {
        return None;
    }
    detail(eni_of(t)?, "privateIPv4Address")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn zones_come_from_the_id() {
        assert_eq!(availability_zone("us-east-1", "subnet-web-az-b"), "us-east-1b");
        assert_eq!(availability_zone("eu-west-1", "subnet-1-az-f"), "eu-west-1f");
        // Not a one-letter suffix: hashed.
        let zone = availability_zone("us-east-1", "subnet-az-bb");
        assert!(["us-east-1a", "us-east-1b", "us-east-1c"].contains(&zone.as_str()), "{zone}");
        // Stable: the same id is always in the same zone, and ids spread.
        let zones: HashSet<String> =
            (0..30).map(|i| availability_zone("us-east-1", &format!("subnet-{i:017x}"))).collect();
        assert_eq!(zones.len(), 3, "{zones:?}");
        assert_eq!(
            availability_zone("us-east-1", "subnet-0123456789abcdef0"),
            availability_zone("us-east-1", "subnet-0123456789abcdef0")
        );
        // Pinned, so a change of hash is a visible change of behaviour.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn dns_names_follow_ec2() {
        let ip = Ipv4Addr::new(10, 0, 1, 23);
        assert_eq!(private_dns_name("us-east-1", ip), "ip-10-0-1-23.ec2.internal");
        assert_eq!(private_dns_name("eu-west-1", ip), "ip-10-0-1-23.eu-west-1.compute.internal");
    }

    fn subnets(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tasks_balance_over_zones_then_subnets() {
        let mut spread = Spread::default();
        let subnets = subnets(&["subnet-1-az-a", "subnet-2-az-a", "subnet-3-az-b"]);
        let placed: Vec<(String, String)> = (0..8).map(|_| spread.place("r-", &subnets, None).unwrap()).collect();
        let count = |f: &dyn Fn(&(String, String)) -> bool| placed.iter().filter(|p| f(p)).count();
        assert_eq!(count(&|(_, z)| z == "r-a"), 4);
        assert_eq!(count(&|(_, z)| z == "r-b"), 4);
        assert_eq!(count(&|(s, _)| s == "subnet-1-az-a"), 2);
        assert_eq!(count(&|(s, _)| s == "subnet-2-az-a"), 2);
        assert!(is_choice(&subnets));
        assert!(!is_choice(&subnets[..1]));
        assert!(!is_choice(&[]));
    }

    #[test]
    fn a_task_on_an_instance_takes_a_subnet_in_its_zone() {
        let mut spread = Spread::default();
        let subnets = subnets(&["subnet-1-az-a", "subnet-3-az-b"]);
        for _ in 0..3 {
            assert_eq!(spread.place("r-", &subnets, Some("r-b")).unwrap().0, "subnet-3-az-b");
        }
        // A zone none of the subnets is in: any subnet.
        assert!(spread.place("r-", &subnets, Some("r-z")).is_some());
        assert_eq!(spread.place("r-", &[], None), None);
    }

    #[test]
    fn addresses_go_round_the_block_from_four() {
        let mut book = Addresses::default();
        let start = block_start("subnet-x");
        let held = |_: &str| true;
        let ips: Vec<u32> =
            (0..3).map(|i| u32::from(book.allocate("subnet-x", &format!("t{i}"), held).unwrap())).collect();
        assert_eq!(ips, vec![start + 4, start + 5, start + 6]);
        // Another task's address is skipped, whoever holds it.
        book.holders.insert(start + 7, "other".into());
        assert_eq!(u32::from(book.allocate("subnet-x", "t3", held).unwrap()), start + 8);
    }

    #[test]
    fn a_stopped_tasks_address_is_given_again_once_round() {
        let mut book = Addresses::default();
        let start = block_start("subnet-x");
        // t0 holds .4 and stops; the block's other addresses are held.
        book.allocate("subnet-x", "t0", |_| true);
        for o in 5..0xfff {
            book.holders.insert(start + o, "live".into());
        }
        let ip = book.allocate("subnet-x", "t1", |id| id != "t0").unwrap();
        assert_eq!(u32::from(ip), start + 4);
    }

    #[test]
    fn a_full_block_spills_into_the_next() {
        let mut book = Addresses::default();
        let start = block_start("subnet-x");
        for o in 4..0xfff {
            book.holders.insert(start + o, "live".into());
        }
        let ip = u32::from(book.allocate("subnet-x", "t", |_| true).unwrap());
        assert_eq!(ip & 0xfff, 4);
        assert_ne!(ip & !0xfff, start);
        assert_eq!(ip >> 16, u32::from(Ipv4Addr::new(10, 0, 0, 0)) >> 16, "stays in 10.0.0.0/16");
    }

    #[test]
    fn a_full_block_is_scanned_again_only_after_a_run_of_spilled_addresses() {
        let mut book = Addresses::default();
        let start = block_start("subnet-x");
        for o in 4..0xfff {
            book.holders.insert(start + o, "live".into());
        }
        // .4 frees up right after the first spill, but the next addresses keep
        // spilling, one after the other, until the run is over.
        let first = u32::from(book.allocate("subnet-x", "s0", |_| true).unwrap());
        book.holders.insert(start + 4, "gone".into());
        let holds = |id: &str| id != "gone";
        let run: Vec<u32> =
            (1..=SPILL_RUN).map(|i| u32::from(book.allocate("subnet-x", &format!("s{i}"), holds).unwrap())).collect();
        assert!(run.iter().all(|ip| ip & !0xfff != start), "no block scan during the run");
        assert_eq!(run[0], first + 1, "the spill goes on from its cursor");
        assert_eq!(run.iter().collect::<std::collections::HashSet<_>>().len(), run.len(), "distinct");
        // After the run the block is scanned again and its freed address is given.
        assert_eq!(u32::from(book.allocate("subnet-x", "back", holds).unwrap()), start + 4);
    }

    #[test]
    fn attachments_carry_every_detail() {
        let eni = Eni {
            subnet_id: "subnet-1-az-a".into(),
            availability_zone: "us-east-1a".into(),
            private_ip: Some(Ipv4Addr::new(10, 0, 0, 4)),
        };
        let (a, interface) = attachment("us-east-1", &eni);
        assert_eq!(a["type"], ENI);
        assert_eq!(a["status"], "ATTACHING");
        assert_eq!(detail(&a, "subnetId"), Some("subnet-1-az-a"));
        assert_eq!(detail(&a, "privateIPv4Address"), Some("10.0.0.4"));
        assert_eq!(detail(&a, "privateDnsName"), Some("ip-10-0-0-4.ec2.internal"));
        assert!(detail(&a, "networkInterfaceId").unwrap().len() == "eni-".len() + 17);
        let mac = detail(&a, "macAddress").unwrap();
        assert_eq!(mac.len(), 17);
        assert!(mac.starts_with("0a:"));
        let interface = interface.unwrap();
        assert_eq!(interface["attachmentId"], a["id"]);
        assert_eq!(interface["privateIpv4Address"], "10.0.0.4");
    }
}
