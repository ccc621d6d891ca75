//! A simulated AWS, in memory, that the real SDK clients and the real
//! provider code run against.
//!
//! The seam: an interceptor on every SDK client plus an HTTP client that
//! never leaves the process. The interceptor takes each operation's typed
//! input before it is serialised, runs it against [`World`], and hands the
//! SDK the typed output or the operation's own error type, as AWS's answer
//! would have been deserialised; the HTTP client answers each attempt with
//! the status (and `x-amzn-errortype`) that answer carries. So everything
//! above the wire is the code that runs against AWS: the providers, our
//! retry catalogue and pacing, the SDK's retries, timeouts, waiters and
//! paginators. Only the bytes on the wire are skipped: the integration
//! tests cover those against the emulator, and skipping them makes a call
//! cheap enough to search tens of thousands of histories.

use aws_smithy_runtime_api::client::interceptors::context::{Error as OpError, Input, Output};
use aws_smithy_types::error::ErrorMetadata;
use std::collections::BTreeMap;

/// Declares a service's operations: each typed input, its handler
/// (`fn(&mut World, &Input) -> Answer<Output>`) and its error type. The
/// optional last part converts a [`Fail`] into a modeled error variant
/// where the code under test matches on the variant, not on the code.
macro_rules! operations {
    ($krate:ident, $service:literal: $(
        $op:ident: $module:ident::{$input:ident, $error:ident} => $handler:ident $(| $conv:path)?
    ),* $(,)?) => {
        pub fn decode(input: &aws_smithy_runtime_api::client::interceptors::context::Input)
            -> Option<$crate::sim::aws::Call>
        {
            $(
            if let Some(i) = input.downcast_ref::<$krate::operation::$module::$input>() {
                let i = i.clone();
                return Some($crate::sim::aws::Call::new(
                    $service,
                    stringify!($op),
                    $crate::sim::aws::printed_hash(&i),
                    move |w| $handler(w, &i).map(aws_smithy_runtime_api::client::interceptors::context::Output::erase),
                    |f| aws_smithy_runtime_api::client::interceptors::context::Error::erase(
                        operations!(@error f, $krate::operation::$module::$error $(, $conv)?)
                    ),
                ));
            }
            )*
            None
        }
    };
    (@error $f:ident, $error:path) => { <$error>::generic($f.metadata()) };
    (@error $f:ident, $error:path, $conv:path) => { $conv($f) };
}

pub mod cloudwatch;
pub mod dynamodb;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod s3;
mod seam;
pub mod sqs;
pub mod sts;

pub use seam::{hash, mix, plug, plugged, serve, FaultRates, Sim};

/// What AWS answered instead of a result: its error code, message and HTTP
/// status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub code: String,
    pub message: String,
    pub status: u16,
}

impl Fail {
    pub fn new(code: &str, message: impl Into<String>) -> Fail {
        Fail {
            code: code.into(),
            message: message.into(),
            status: 400,
        }
    }

    pub fn status(self, status: u16) -> Fail {
        Fail { status, ..self }
    }

    pub fn metadata(&self) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(&self.code)
            .message(&self.message)
            .build()
    }
}

pub type Answer<T> = Result<T, Fail>;

/// One resource as the invariants see it, whatever its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `aws:...` kind, as the engine names it.
    pub kind: &'static str,
    /// What the engine records as its id (a key id, a name, an ARN).
    pub id: String,
    pub tags: BTreeMap<String, String>,
    /// Everything about it, to tell whether a command changed it.
    pub snapshot: String,
}

/// Everything the simulated account holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct World {
    pub account: String,
    pub region: String,
    /// Calls served so far: the clock of the consistency windows and of
    /// the functions' state changes.
    pub tick: u64,
    /// How many calls a new role or key stays invisible to the services
    /// that use it (0 to 3, by seed).
    pub lag: u64,
    /// Monotonic counter for ids (key ids, revision ids, request ids).
    pub serial: u64,
    pub kms: kms::Kms,
    pub iam: iam::Iam,
    pub lambda: lambda::Lambda,
    pub dynamodb: dynamodb::DynamoDb,
    pub logs: logs::Logs,
    pub cloudwatch: cloudwatch::CloudWatch,
    pub sqs: sqs::Sqs,
    pub s3: s3::S3,
}

impl World {
    pub fn new(lag: u64) -> World {
        World {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            lag,
            ..World::default()
        }
    }

    /// A fresh id: `prefix` and a counter, deterministic for a history.
    pub fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!(
            "{prefix}{:08x}-sim0-4000-8000-{:012x}",
            self.serial, self.serial
        )
    }

    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }

    /// Every resource of every service.
    pub fn inventory(&self) -> Vec<Item> {
        let mut out = Vec::new();
        self.kms.inventory(&mut out);
        self.iam.inventory(&mut out);
        self.lambda.inventory(&mut out);
        self.dynamodb.inventory(&mut out);
        self.logs.inventory(&mut out);
        self.cloudwatch.inventory(&mut out);
        self.sqs.inventory(&mut out);
        self.s3.inventory(&mut out);
        out
    }

    /// The same resources, ignoring the clock, the id counter and S3
    /// (where the states and their locks live, not resources).
    pub fn same_resources(&self, other: &World) -> bool {
        let strip = |w: &World| World {
            tick: 0,
            serial: 0,
            s3: s3::S3::default(),
            ..w.clone()
        };
        strip(self) == strip(other)
    }
}

/// What serves one call: the decoded input, run against the world.
type Handler = Box<dyn Fn(&mut World) -> Answer<Output> + Send + Sync>;

/// One operation call, decoded from its typed input.
pub struct Call {
    pub service: &'static str,
    pub op: &'static str,
    /// What tells two calls of one operation apart: a hash of the input
    /// as printed, its bytes taken in sorted order (the printed input of a
    /// map, such as tags or attributes, lists the entries in an order that
    /// changes from run to run).
    pub input: u64,
    run: Handler,
    error: fn(&Fail) -> OpError,
}

/// FNV-1a over the bytes of `value` printed with `{:?}`, in sorted order.
/// Counted as they are printed: nothing is allocated or sorted.
pub fn printed_hash(value: &impl std::fmt::Debug) -> u64 {
    let mut counts = ByteCounts([0; 256]);
    std::fmt::write(&mut counts, format_args!("{value:?}")).expect("printing to counts");
    counts.hash()
}

/// FNV-1a over the bytes of `text`, in sorted order.
pub fn text_hash(text: &str) -> u64 {
    let mut counts = ByteCounts([0; 256]);
    std::fmt::Write::write_str(&mut counts, text).expect("counting");
    counts.hash()
}

/// How many times each byte value occurs.
struct ByteCounts([u64; 256]);

impl std::fmt::Write for ByteCounts {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for b in s.bytes() {
            self.0[b as usize] += 1;
        }
        Ok(())
    }
}

impl ByteCounts {
    /// FNV-1a over the bytes in sorted order.
    fn hash(&self) -> u64 {
        let mut h: u64 = 0xcbf29ce484222325;
        for (b, n) in self.0.iter().enumerate() {
            for _ in 0..*n {
                h = (h ^ b as u64).wrapping_mul(0x100000001b3);
            }
        }
        h
    }
}

impl Call {
    pub fn new(
        service: &'static str,
        op: &'static str,
        input: u64,
        run: impl Fn(&mut World) -> Answer<Output> + Send + Sync + 'static,
        error: fn(&Fail) -> OpError,
    ) -> Call {
        Call {
            service,
            op,
            input,
            run: Box::new(run),
            error,
        }
    }

    pub fn is_read(&self) -> bool {
        ["Get", "List", "Describe", "Head", "Filter"]
            .iter()
            .any(|p| self.op.starts_with(p))
    }
}

fn decode(input: &Input) -> Option<Call> {
    kms::decode(input)
        .or_else(|| sts::decode(input))
        .or_else(|| iam::decode(input))
        .or_else(|| lambda::decode(input))
        .or_else(|| dynamodb::decode(input))
        .or_else(|| logs::decode(input))
        .or_else(|| cloudwatch::decode(input))
        .or_else(|| sqs::decode(input))
        .or_else(|| s3::decode(input))
}
