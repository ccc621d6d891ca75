//! Histories: what users, other runs and AWS itself do to a stack, as plain
//! data that a seed generates and a JSON text replays.

use super::aws::FaultRates;
use serde::{Deserialize, Serialize};

/// A stack setting given on the command line (`--FLAG=VALUE`).
pub type Flag = (String, String);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Plan {
        flags: Vec<Flag>,
    },
    Apply {
        flags: Vec<Flag>,
        replace: Option<String>,
        code: u8,
    },
    /// `plan --out F`, then `apply F`.
    SavedPlan {
        flags: Vec<Flag>,
    },
    Destroy,
    Import,
    Drift,
    Refresh {
        settings: bool,
    },
    Outputs,
    ConfigSet {
        key: String,
        value: String,
    },
    ConfigUnset {
        key: String,
    },
    /// Removes a lock a killed run left (on S3, with the id it names).
    ForceUnlock,
}

impl Command {
    /// Commands that must leave the stack's resources untouched (some write
    /// the state or remove a lock).
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Command::Plan { .. } | Command::Drift | Command::Outputs | Command::Refresh { .. }
        ) || matches!(
            self,
            Command::ConfigSet { .. } | Command::ConfigUnset { .. } | Command::ForceUnlock
        )
    }
}

/// Something done to the account behind the stack's back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutOfBand {
    /// Delete the stack's resource of this logical name.
    Delete(String),
    /// Change one property of it (which one depends on its type).
    Modify(String),
    AddTag(String),
    /// Grant another account the right to invoke the function.
    AddPermission,
    /// Create an untagged resource under the stack's name for this logical
    /// name, where none exists: someone else's.
    CreateForeign(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Run(Command),
    /// Two runs at once (they race for the lock).
    Race(Command, Command),
    /// A command of a second state of the same suffix (another checkout,
    /// another backend).
    Other(Command),
    OutOfBand(OutOfBand),
}

/// Where a run dies: at which attempt of its AWS calls, and whether the
/// call took effect first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub at: u64,
    pub after: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub action: Action,
    /// Faults per attempt, in 1/1000: throttle, 5xx, lost answer, denied.
    pub faults: [u32; 4],
    pub kill: Option<Kill>,
}

impl Step {
    pub fn rates(&self) -> FaultRates {
        let [throttle, server_error, lost_answer, access_denied] = self.faults;
        FaultRates {
            throttle,
            server_error,
            lost_answer,
            access_denied,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub seed: u64,
    /// Ticks a new role or key stays unusable.
    pub lag: u64,
    /// The stack's state is on S3 (else in a local directory).
    #[serde(default)]
    pub s3: bool,
    pub steps: Vec<Step>,
}

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        super::aws::mix(&[self.0])
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The settings a history plays with, and their values.
const SETTINGS: &[(&str, &[&str])] = &[
    ("memory-size", &["128", "256", "512"]),
    ("timeout", &["10", "30"]),
    ("reserved-concurrency", &["none", "5", "10", "0"]),
    ("log-retention-days", &["7", "14", "30"]),
    ("log-level", &["info", "debug"]),
    ("alarms", &["true", "false"]),
    ("dead-letter-queue", &["true", "false"]),
    ("deletion-protection", &["true", "false"]),
];

/// Logical names a history touches out of band or replaces.
const RESOURCES: &[&str] = &[
    "kms_key",
    "kms_alias",
    "log_group",
    "table",
    "role",
    "function",
    "alarm_error_rate",
    "dead_letter_queue",
];

fn flags(rng: &mut Rng) -> Vec<Flag> {
    let mut out = Vec::new();
    for (flag, values) in SETTINGS {
        if rng.chance(25) {
            out.push((flag.to_string(), rng.pick(values).to_string()));
        }
    }
    out
}

fn command(rng: &mut Rng) -> Command {
    match rng.below(100) {
        0..=34 => Command::Apply {
            flags: flags(rng),
            replace: rng.chance(10).then(|| {
                rng.pick(&["table", "kms_key", "role", "function", "log_group"])
                    .to_string()
            }),
            code: rng.below(2) as u8,
        },
        35..=44 => Command::Plan { flags: flags(rng) },
        45..=51 => Command::SavedPlan { flags: flags(rng) },
        52..=59 => Command::Destroy,
        60..=64 => Command::Import,
        65..=74 => Command::Drift,
        75..=79 => Command::Refresh {
            settings: rng.chance(50),
        },
        80..=84 => Command::Outputs,
        85..=92 => {
            let (flag, values) = rng.pick(SETTINGS);
            Command::ConfigSet {
                key: flag.replace('-', "_"),
                value: rng.pick(values).to_string(),
            }
        }
        93..=96 => Command::ConfigUnset {
            key: rng.pick(SETTINGS).0.replace('-', "_"),
        },
        _ => Command::ForceUnlock,
    }
}

fn out_of_band(rng: &mut Rng) -> OutOfBand {
    let r = rng.pick(RESOURCES).to_string();
    match rng.below(5) {
        0 => OutOfBand::Delete(r),
        1 => OutOfBand::Modify(r),
        2 => OutOfBand::AddTag(r),
        3 => OutOfBand::AddPermission,
        _ => OutOfBand::CreateForeign(r),
    }
}

/// A random history of at most `max_steps` steps.
pub fn generate(seed: u64, max_steps: usize) -> History {
    let mut rng = Rng::new(seed);
    let lag = rng.below(4);
    let len = 1 + rng.below(max_steps as u64) as usize;
    let mut steps = Vec::with_capacity(len);
    for i in 0..len {
        let action = match rng.below(100) {
            // Most histories start by deploying.
            _ if i == 0 && rng.chance(80) => Action::Run(Command::Apply {
                flags: flags(&mut rng),
                replace: None,
                code: 0,
            }),
            0..=69 => Action::Run(command(&mut rng)),
            70..=74 => Action::Race(
                Command::Apply {
                    flags: flags(&mut rng),
                    replace: None,
                    code: rng.below(2) as u8,
                },
                command(&mut rng),
            ),
            75..=79 => Action::Other(command(&mut rng)),
            _ => Action::OutOfBand(out_of_band(&mut rng)),
        };
        let faults = if matches!(action, Action::OutOfBand(_)) || !rng.chance(25) {
            [0; 4]
        } else {
            [
                rng.below(80) as u32,
                rng.below(40) as u32,
                rng.below(40) as u32,
                if rng.chance(30) {
                    rng.below(15) as u32
                } else {
                    0
                },
            ]
        };
        let kill = (!matches!(action, Action::OutOfBand(_)) && rng.chance(15)).then(|| Kill {
            at: rng.below(60),
            after: rng.chance(50),
        });
        steps.push(Step {
            action,
            faults,
            kill,
        });
    }
    let s3 = rng.chance(40);
    History {
        seed,
        lag,
        s3,
        steps,
    }
}
