//! The private addresses of a cluster's awsvpc tasks, and the parts of a
//! task's ENI attachment the address book reads. Where a subnet's block lies
//! follows from its id ([`block_start`]); which subnet and zone a task gets
//! is a rule ([`crate::emulator::rules::awsvpc`]).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::emulator::state::records::{TaskAttachment, TaskEntry};

/// The attachment type of a task's ENI.
pub const ENI: &str = "ElasticNetworkInterface";

/// FNV-1a, 64 bits: stable across runs, machines and Rust versions (the
/// standard library's hasher is not).
pub fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The first address of `subnet`'s /20 block in `10.0.0.0/16`.
pub fn block_start(subnet: &str) -> u32 {
    let block = (stable_hash(subnet) >> 32) % 16;
    u32::from(Ipv4Addr::new(10, 0, 0, 0)) + ((block as u32) << 12)
}

/// The task's ENI attachment, if it has one.
pub fn eni_of(entry: &TaskEntry) -> Option<&TaskAttachment> {
    entry.task.attachments.iter().find(|a| a.kind == ENI)
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
    pub fn of<'a>(tasks: impl IntoIterator<Item = (&'a str, &'a TaskEntry)>) -> Self {
        let mut book = Self::default();
        for (id, t) in tasks {
            if let Some(ip) = held_address(t) {
                book.holders.insert(u32::from(ip), id.to_owned());
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
    eni_of(t)?.detail("privateIPv4Address")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
