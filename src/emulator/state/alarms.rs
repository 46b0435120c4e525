//! The CloudWatch alarm states that stand in for CloudWatch, set through
//! `POST /_emulator/alarms` and read by deployment alarms
//! ([`crate::emulator::sim::alarms`]). In memory only, like failure rules.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::emulator::state::locks::{read, write};

/// A CloudWatch alarm's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// Alarm states by name, as set through `POST /_emulator/alarms`; an alarm
/// never set is not in ALARM.
#[derive(Debug, Default)]
pub struct AlarmStates(RwLock<BTreeMap<String, AlarmState>>);

impl AlarmStates {
    pub fn set(&self, name: &str, state: AlarmState) {
        write(&self.0).insert(name.to_owned(), state);
    }

    pub fn all(&self) -> BTreeMap<String, AlarmState> {
        read(&self.0).clone()
    }

    pub fn clear(&self) {
        write(&self.0).clear();
    }

    /// Those of `names` in ALARM, in the given order.
    pub fn in_alarm(&self, names: &[String]) -> Vec<String> {
        let states = read(&self.0);
        names.iter().filter(|n| states.get(*n) == Some(&AlarmState::Alarm)).cloned().collect()
    }
}
