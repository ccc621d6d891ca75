//! The seam: how the simulated account sits under the real SDK clients.
//! An interceptor on every client decodes each operation's typed input
//! and answers it from the world (or with an injected fault); an HTTP
//! client that never leaves the process answers each attempt with the
//! status that answer carries. See `mod.rs` for why this seam.

use super::{decode, Answer, Call, Fail, World};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextMut, Input, Output,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A fault injected into one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    /// The call takes effect, then its answer is lost (a dropped
    /// connection): the SDK retries it.
    LostAnswer,
    AccessDenied,
    /// The run dies here, before the call reaches AWS.
    KillBefore,
    /// The run dies here, after the call took effect.
    KillAfter,
}

/// How often each fault strikes, per attempt, in 1/1000.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultRates {
    pub throttle: u32,
    pub server_error: u32,
    pub lost_answer: u32,
    pub access_denied: u32,
}

/// What the world recorded of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub service: &'static str,
    pub op: &'static str,
    pub write: bool,
    pub fault: Option<Fault>,
    /// The call reached the world (it took effect if it was a write).
    pub effective: bool,
}

/// What the interceptors and the HTTP client share.
pub struct Shared {
    pub world: World,
    pub seed: u64,
    pub step: u64,
    pub rates: FaultRates,
    /// Kill the run at this attempt of the current step (counted from 0).
    pub kill_at: Option<(u64, bool)>,
    pub attempts: u64,
    pub served: Vec<Served>,
    pub killed: bool,
    /// Calls of the step by (operation, input): what decides a fault.
    seen: HashMap<(&'static str, u64), u64>,
    calls: HashMap<u64, Arc<Call>>,
    answers: HashMap<u64, Answer<Output>>,
    next_call: u64,
}

/// The simulation as the SDK sees it: plugged into each client.
#[derive(Clone)]
pub struct Sim {
    pub shared: Arc<Mutex<Shared>>,
    pub kill: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sim")
    }
}

impl Sim {
    pub fn new(world: World, seed: u64) -> Sim {
        Sim {
            shared: Arc::new(Mutex::new(Shared {
                world,
                seed,
                step: 0,
                rates: FaultRates::default(),
                kill_at: None,
                attempts: 0,
                served: Vec::new(),
                killed: false,
                seen: HashMap::new(),
                calls: HashMap::new(),
                answers: HashMap::new(),
                next_call: 0,
            })),
            kill: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("simulation")
    }

    /// Starts a step: its faults, and where (if anywhere) its run dies.
    pub fn begin_step(&self, step: u64, rates: FaultRates, kill_at: Option<(u64, bool)>) {
        let mut s = self.lock();
        s.step = step;
        s.rates = rates;
        s.kill_at = kill_at;
        s.attempts = 0;
        s.served.clear();
        s.killed = false;
        s.seen.clear();
        s.calls.clear();
        s.answers.clear();
    }
}

impl Shared {
    /// The fault of this attempt, from the seed, the step and which call of
    /// the step it is: the same history injects the same faults whatever
    /// order concurrent calls happen to go in.
    fn fault(&mut self, call: &Call) -> Option<Fault> {
        let attempt = self.attempts;
        self.attempts += 1;
        if let Some((at, after)) = self.kill_at {
            if attempt == at {
                return Some(if after {
                    Fault::KillAfter
                } else {
                    Fault::KillBefore
                });
            }
        }
        let input = call.input;
        let n = self.seen.entry((call.op, input)).or_default();
        *n += 1;
        let roll = mix(&[self.seed, self.step, hash(call.op.as_bytes()), input, *n]) % 1000;
        let r = self.rates;
        let mut edge = 0;
        for (rate, fault) in [
            (r.throttle, Fault::Throttle),
            (r.server_error, Fault::ServerError),
            (r.lost_answer, Fault::LostAnswer),
            (r.access_denied, Fault::AccessDenied),
        ] {
            edge += rate as u64;
            if roll < edge {
                // A lost answer only matters for a write.
                if fault == Fault::LostAnswer && call.is_read() {
                    return None;
                }
                return Some(fault);
            }
        }
        None
    }
}

/// FNV-1a.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

/// SplitMix64 over several words.
pub fn mix(words: &[u64]) -> u64 {
    let mut z = 0x9e3779b97f4a7c15u64;
    for w in words {
        z = z.wrapping_add(*w).wrapping_add(0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^= z >> 31;
    }
    z
}

#[derive(Debug, Clone)]
struct CallId(u64);
impl Storable for CallId {
    type Storer = StoreReplace<Self>;
}

/// What the HTTP client does with one attempt.
#[derive(Debug, Clone)]
enum Transmit {
    Respond {
        status: u16,
        code: Option<String>,
    },
    /// The connection drops before the answer arrives.
    Drop,
    /// The run is killed: the call never returns.
    Hang,
}

impl Intercept for Sim {
    fn name(&self) -> &'static str {
        "SimulatedAws"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.inner().input().expect("input set");
        let Some(call) = decode(input) else {
            panic!("the simulated AWS does not serve {input:?}");
        };
        let mut s = self.lock();
        let id = s.next_call;
        s.next_call += 1;
        s.calls.insert(id, Arc::new(call));
        cfg.interceptor_state().store_put(CallId(id));
        Ok(())
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let id = cfg.load::<CallId>().expect("call id").0;
        let mut s = self.lock();
        let call = s.calls.get(&id).expect("call").clone();
        let fault = if s.killed {
            Some(Fault::KillBefore)
        } else {
            s.fault(&call)
        };
        let run = |s: &mut Shared| {
            s.world.tick += 1;
            (call.run)(&mut s.world)
        };
        let (transmit, answer, effective) = match fault {
            None => {
                let answer = run(&mut s);
                let transmit = Transmit::Respond {
                    status: answer.as_ref().err().map_or(200, |f| f.status),
                    code: answer.as_ref().err().map(|f| f.code.clone()),
                };
                (transmit, Some(answer), true)
            }
            Some(Fault::Throttle) => refuse(Fail::new("ThrottlingException", "Rate exceeded")),
            Some(Fault::ServerError) => refuse(
                Fail::new("InternalFailure", "The request processing has failed").status(500),
            ),
            Some(Fault::AccessDenied) => refuse(Fail::new(
                "AccessDeniedException",
                format!(
                    "User: arn:aws:iam::{}:user/sim is not authorized to perform: {}:{}",
                    s.world.account, call.service, call.op
                ),
            )),
            Some(Fault::LostAnswer) => {
                let _ = run(&mut s);
                (Transmit::Drop, None, true)
            }
            Some(Fault::KillBefore) => (Transmit::Hang, None, false),
            Some(Fault::KillAfter) => {
                let _ = run(&mut s);
                (Transmit::Hang, None, true)
            }
        };
        if matches!(fault, Some(Fault::KillBefore | Fault::KillAfter)) && !s.killed {
            s.killed = true;
            self.kill.notify_one();
        }
        s.served.push(Served {
            service: call.service,
            op: call.op,
            write: !call.is_read(),
            fault,
            effective,
        });
        if let Some(answer) = answer {
            s.answers.insert(id, answer);
        }
        context.request_mut().add_extension(transmit);
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(id) = cfg.load::<CallId>() else {
            return Ok(());
        };
        let mut s = self.lock();
        let Some(answer) = s.answers.remove(&id.0) else {
            return Ok(());
        };
        let call = s.calls.get(&id.0).expect("call").clone();
        drop(s);
        context.inner_mut().set_output_or_error(match answer {
            Ok(out) => Ok(out),
            Err(fail) => Err(OrchestratorError::operation((call.error)(&fail))),
        });
        Ok(())
    }
}

fn refuse(fail: Fail) -> (Transmit, Option<Answer<Output>>, bool) {
    (
        Transmit::Respond {
            status: fail.status,
            code: Some(fail.code.clone()),
        },
        Some(Err(fail)),
        false,
    )
}

impl HttpConnector for Sim {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match request.extension::<Transmit>().cloned() {
            Some(Transmit::Respond { status, code }) => {
                let mut response =
                    HttpResponse::new(status.try_into().expect("status"), SdkBody::from("{}"));
                if let Some(code) = code {
                    response.headers_mut().insert("x-amzn-errortype", code);
                }
                HttpConnectorFuture::ready(Ok(response))
            }
            Some(Transmit::Drop) => HttpConnectorFuture::ready(Err(ConnectorError::io(
                "connection reset by peer (simulated: the answer was lost)".into(),
            ))),
            Some(Transmit::Hang) => HttpConnectorFuture::new(std::future::pending()),
            None => panic!("an attempt reached the simulated network without a decision"),
        }
    }
}

impl HttpClient for Sim {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl Sim {
    pub fn http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }
}

thread_local! {
    /// The simulation the commands of this thread connect to.
    static PLUGGED: std::cell::RefCell<Option<Sim>> = const { std::cell::RefCell::new(None) };
}

/// Makes every `Aws::connect` of this thread connect to `sim`.
pub fn plug(sim: &Sim) {
    PLUGGED.with(|p| *p.borrow_mut() = Some(sim.clone()));
}

pub fn plugged() -> Option<Sim> {
    PLUGGED.with(|p| p.borrow().clone())
}

/// Serves one call straight into the world, as the console or another
/// tool would make it: no fault, no SDK.
pub fn serve<T: std::fmt::Debug + Send + Sync + 'static>(
    world: &mut World,
    input: T,
) -> Answer<Output> {
    let input = Input::erase(input);
    let call = decode(&input).expect("an operation the simulation serves");
    world.tick += 1;
    (call.run)(world)
}
