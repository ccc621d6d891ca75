//! Lambda: functions (configuration, code, state, reserved concurrency,
//! resource-based policy, URL, tags) and the account's concurrency.

use super::{Answer, Fail, Item, World};
use aws_sdk_lambda::operation::{
    create_function::*, delete_function::*, delete_function_concurrency::*,
    delete_function_url_config::*, get_account_settings::*, get_function::*,
    get_function_concurrency::*, get_function_url_config::*, get_policy::*, invoke::*,
    put_function_concurrency::*, remove_permission::*, tag_resource::*, untag_resource::*,
    update_function_code::*, update_function_configuration::*,
};
use aws_sdk_lambda::types::{
    AccountLimit, AccountUsage, Architecture, Concurrency, DeadLetterConfig, EnvironmentResponse,
    FunctionCodeLocation, FunctionConfiguration, FunctionUrlAuthType, InvokeMode, LastUpdateStatus,
    Layer, LogFormat, LogType, LoggingConfig, PackageType, Runtime, State, StateReasonCode,
    TracingConfigResponse, TracingMode,
};
use aws_smithy_types::Blob;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

operations!(aws_sdk_lambda, "lambda":
    CreateFunction: create_function::{CreateFunctionInput, CreateFunctionError} => create_function,
    DeleteFunction: delete_function::{DeleteFunctionInput, DeleteFunctionError} => delete_function,
    DeleteFunctionConcurrency: delete_function_concurrency::{DeleteFunctionConcurrencyInput, DeleteFunctionConcurrencyError} => delete_function_concurrency,
    DeleteFunctionUrlConfig: delete_function_url_config::{DeleteFunctionUrlConfigInput, DeleteFunctionUrlConfigError} => delete_function_url_config,
    GetAccountSettings: get_account_settings::{GetAccountSettingsInput, GetAccountSettingsError} => get_account_settings,
    GetFunction: get_function::{GetFunctionInput, GetFunctionError} => get_function,
    GetFunctionConcurrency: get_function_concurrency::{GetFunctionConcurrencyInput, GetFunctionConcurrencyError} => get_function_concurrency,
    GetFunctionUrlConfig: get_function_url_config::{GetFunctionUrlConfigInput, GetFunctionUrlConfigError} => get_function_url_config,
    GetPolicy: get_policy::{GetPolicyInput, GetPolicyError} => get_policy,
    Invoke: invoke::{InvokeInput, InvokeError} => invoke,
    PutFunctionConcurrency: put_function_concurrency::{PutFunctionConcurrencyInput, PutFunctionConcurrencyError} => put_function_concurrency,
    RemovePermission: remove_permission::{RemovePermissionInput, RemovePermissionError} => remove_permission,
    TagResource: tag_resource::{TagResourceInput, TagResourceError} => tag_resource,
    UntagResource: untag_resource::{UntagResourceInput, UntagResourceError} => untag_resource,
    UpdateFunctionCode: update_function_code::{UpdateFunctionCodeInput, UpdateFunctionCodeError} => update_function_code,
    UpdateFunctionConfiguration: update_function_configuration::{UpdateFunctionConfigurationInput, UpdateFunctionConfigurationError} => update_function_configuration,
);

/// Ticks a new function stays Pending, and an update InProgress.
pub const PENDING_TICKS: u64 = 3;
pub const UPDATE_TICKS: u64 = 2;
/// AWS's usual concurrent-executions quota, and what it keeps unreserved.
pub const DEFAULT_LIMIT: i32 = 1000;
pub const MIN_UNRESERVED: i32 = 100;
/// What Invoke answers unless `Lambda::response` says otherwise.
pub const DEFAULT_RESPONSE: &str = r#"{"statusCode":200}"#;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Function {
    pub name: String,
    pub arn: String,
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub memory_size: i32,
    pub timeout: i32,
    pub architectures: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub kms_key_arn: Option<String>,
    pub tracing_mode: String,
    pub dead_letter_target: Option<String>,
    pub layers: Vec<String>,
    pub log_format: String,
    pub log_group: String,
    /// base64(SHA-256(zip)), as Lambda reports it.
    pub code_sha256: String,
    pub code_size: i64,
    pub tags: BTreeMap<String, String>,
    /// Reserved concurrency (`None`: none; 0 stops all invocations).
    pub reserved: Option<i32>,
    /// Resource-based policy statements as GetPolicy lists them (empty: no
    /// policy).
    pub policy: Vec<Value>,
    pub url: Option<FunctionUrl>,
    pub revision_id: String,
    pub last_modified: String,
    /// Pending until `created_tick + PENDING_TICKS`; the last update is
    /// InProgress until `updated_tick + UPDATE_TICKS`.
    pub created_tick: u64,
    pub updated_tick: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUrl {
    pub url: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    pub created: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lambda {
    /// By function name.
    pub functions: BTreeMap<String, Function>,
    /// The account's concurrent-executions quota (`None`: 1000).
    pub limit: Option<i32>,
    /// The payload Invoke answers (`None`: `DEFAULT_RESPONSE`).
    pub response: Option<String>,
}

impl Lambda {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for f in self.functions.values() {
            out.push(Item {
                kind: "aws:lambda/function",
                id: f.name.clone(),
                tags: f.tags.clone(),
                snapshot: format!("{f:?}"),
            });
        }
    }

    /// An AddPermission (lambda:InvokeFunction for `principal`: a service,
    /// an account id, an ARN or `*`) made outside the engine. Nothing when
    /// the function does not exist; replaces a statement of the same id.
    pub fn add_permission(&mut self, function: &str, sid: &str, principal: &str) {
        let Some(f) = self.functions.get_mut(name_of(function)) else {
            return;
        };
        let principal = match principal {
            "*" => json!("*"),
            p if p.ends_with(".amazonaws.com") => json!({ "Service": p }),
            p if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) => {
                json!({ "AWS": format!("arn:aws:iam::{p}:root") })
            }
            p => json!({ "AWS": p }),
        };
        f.policy.retain(|s| s["Sid"] != sid);
        f.policy.push(
            json!({"Sid": sid, "Effect": "Allow", "Principal": principal,
            "Action": "lambda:InvokeFunction", "Resource": f.arn}),
        );
    }

    fn limit(&self) -> i32 {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }
}

/// The function name in a name, a (partial) ARN or a qualified name.
fn name_of(id: &str) -> &str {
    let id = id.rsplit_once(":function:").map_or(id, |(_, rest)| rest);
    id.split_once(':').map_or(id, |(name, _)| name)
}

fn not_found(message: impl Into<String>) -> Fail {
    Fail::new("ResourceNotFoundException", message).status(404)
}

fn conflict(message: impl Into<String>) -> Fail {
    Fail::new("ResourceConflictException", message).status(409)
}

fn invalid(message: impl Into<String>) -> Fail {
    Fail::new("InvalidParameterValueException", message)
}

const NO_RESOURCE: &str = "The resource you requested does not exist.";
const NOT_NOW: &str = "The operation cannot be performed at this time.";

fn find<'a>(w: &'a World, id: Option<&str>) -> Answer<&'a Function> {
    let name = name_of(id.unwrap_or_default());
    w.lambda.functions.get(name).ok_or_else(|| {
        let arn = w.arn("lambda", &format!("function:{name}"));
        not_found(format!("Function not found: {arn}"))
    })
}

fn find_mut<'a>(w: &'a mut World, id: Option<&str>) -> Answer<&'a mut Function> {
    find(w, id)?;
    Ok(w.lambda
        .functions
        .get_mut(name_of(id.unwrap_or_default()))
        .expect("found"))
}

/// The function's state and last update status, from the clock.
fn status(f: &Function, tick: u64) -> (State, Option<LastUpdateStatus>) {
    if tick < f.created_tick + PENDING_TICKS {
        (State::Pending, None)
    } else if f.updated_tick.is_some_and(|u| tick < u + UPDATE_TICKS) {
        (State::Active, Some(LastUpdateStatus::InProgress))
    } else {
        (State::Active, Some(LastUpdateStatus::Successful))
    }
}

fn pending() -> Fail {
    conflict(format!(
        "{NOT_NOW} The function is currently in the following state: Pending"
    ))
}

/// The function, which must be neither Pending nor being updated.
fn settled<'a>(w: &'a World, id: Option<&str>) -> Answer<&'a Function> {
    let f = find(w, id)?;
    match status(f, w.tick) {
        (State::Pending, _) => Err(pending()),
        (_, Some(LastUpdateStatus::InProgress)) => Err(conflict(format!(
            "{NOT_NOW} An update is in progress for resource: {}",
            f.arn
        ))),
        _ => Ok(f),
    }
}

/// Lambda assumes the role at each change of configuration: it must exist,
/// be visible to Lambda yet, and trust Lambda.
fn check_role(w: &World, role: &str) -> Answer<()> {
    let lambda = "lambda.amazonaws.com";
    match w.iam.role_usable(role, w.tick, w.lag) && w.iam.role_trusts(role, lambda) {
        true => Ok(()),
        false => Err(invalid(
            "The role defined for the function cannot be assumed by Lambda.",
        )),
    }
}

fn code_sha256(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// LastModified, from the clock (deterministic: 2025-01-01 plus a second
/// a tick).
fn stamp(tick: u64) -> String {
    let t = chrono::DateTime::from_timestamp(1_735_689_600 + tick as i64, 0);
    let t = t.unwrap_or_default();
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn map_of(m: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn architectures(given: &[Architecture]) -> Vec<String> {
    match given {
        [] => vec![Architecture::X8664.as_str().into()],
        list => list.iter().map(|a| a.as_str().to_owned()).collect(),
    }
}

/// Sets what a CreateFunction or UpdateFunctionConfiguration input gives.
macro_rules! apply {
    ($f:expr, $i:expr) => {{
        let (f, i) = ($f, $i);
        if let Some(r) = i.runtime() {
            f.runtime = r.as_str().into();
        }
        f.handler = i.handler().map_or(f.handler.clone(), str::to_owned);
        f.role = i.role().map_or(f.role.clone(), str::to_owned);
        f.memory_size = i.memory_size().unwrap_or(f.memory_size);
        f.timeout = i.timeout().unwrap_or(f.timeout);
        if let Some(e) = i.environment() {
            f.environment = map_of(e.variables());
        }
        if let Some(k) = i.kms_key_arn() {
            f.kms_key_arn = non_empty(Some(k));
        }
        if let Some(m) = i.tracing_config().and_then(|t| t.mode()) {
            f.tracing_mode = m.as_str().into();
        }
        if let Some(d) = i.dead_letter_config() {
            f.dead_letter_target = non_empty(d.target_arn());
        }
        if let Some(lc) = i.logging_config() {
            f.log_format = lc.log_format().map_or("Text", |f| f.as_str()).into();
            let default = format!("/aws/lambda/{}", f.name);
            f.log_group = lc.log_group().map_or(default, str::to_owned);
        }
    }};
}

/// A function's configuration, into any of the builders that carry it
/// (FunctionConfiguration, and the outputs of Create / Update*).
macro_rules! configuration {
    ($builder:expr, $f:expr, $tick:expr) => {{
        let f: &Function = $f;
        let (state, update) = status(f, $tick);
        let pending = state == State::Pending;
        let env = EnvironmentResponse::builder()
            .set_variables(Some(f.environment.clone().into_iter().collect()))
            .build();
        let layers = f
            .layers
            .iter()
            .map(|l| Layer::builder().arn(l).code_size(0).build());
        let arch = f
            .architectures
            .iter()
            .map(|a| Architecture::from(a.as_str()));
        let tracing = TracingMode::from(f.tracing_mode.as_str());
        let logging = LoggingConfig::builder()
            .log_format(LogFormat::from(f.log_format.as_str()))
            .log_group(&f.log_group)
            .build();
        $builder
            .function_name(&f.name)
            .function_arn(&f.arn)
            .runtime(Runtime::from(f.runtime.as_str()))
            .role(&f.role)
            .handler(&f.handler)
            .code_size(f.code_size)
            .description("")
            .timeout(f.timeout)
            .memory_size(f.memory_size)
            .last_modified(&f.last_modified)
            .code_sha256(&f.code_sha256)
            .version("$LATEST")
            .set_dead_letter_config(
                f.dead_letter_target
                    .as_ref()
                    .map(|t| DeadLetterConfig::builder().target_arn(t).build()),
            )
            .set_environment((!f.environment.is_empty()).then_some(env))
            .set_kms_key_arn(f.kms_key_arn.clone())
            .tracing_config(TracingConfigResponse::builder().mode(tracing).build())
            .revision_id(&f.revision_id)
            .set_layers((!f.layers.is_empty()).then(|| layers.collect()))
            .state(state)
            .set_state_reason(pending.then(|| "The function is being created.".to_owned()))
            .set_state_reason_code(pending.then_some(StateReasonCode::Creating))
            .set_last_update_status(update)
            .package_type(PackageType::Zip)
            .set_architectures(Some(arch.collect()))
            .logging_config(logging)
            .build()
    }};
}

fn create_function(w: &mut World, i: &CreateFunctionInput) -> Answer<CreateFunctionOutput> {
    let name = i.function_name().unwrap_or_default().to_owned();
    if w.lambda.functions.contains_key(&name) {
        return Err(conflict(format!("Function already exist: {name}")));
    }
    let zip = i.code().and_then(|c| c.zip_file());
    let zip = zip.ok_or_else(|| invalid("Please provide a source for function code."))?;
    let mut f = Function {
        arn: w.arn("lambda", &format!("function:{name}")),
        memory_size: 128,
        timeout: 3,
        architectures: architectures(i.architectures()),
        tracing_mode: "PassThrough".into(),
        layers: i.layers().to_vec(),
        log_format: "Text".into(),
        log_group: format!("/aws/lambda/{name}"),
        code_sha256: code_sha256(zip.as_ref()),
        code_size: zip.as_ref().len() as i64,
        tags: map_of(i.tags()),
        last_modified: stamp(w.tick),
        created_tick: w.tick,
        name: name.clone(),
        ..Function::default()
    };
    apply!(&mut f, i);
    check_role(w, &f.role)?;
    f.revision_id = w.next_id("");
    let out = configuration!(CreateFunctionOutput::builder(), &f, w.tick);
    w.lambda.functions.insert(name, f);
    Ok(out)
}

fn update_function_configuration(
    w: &mut World,
    i: &UpdateFunctionConfigurationInput,
) -> Answer<UpdateFunctionConfigurationOutput> {
    let mut f = settled(w, i.function_name())?.clone();
    apply!(&mut f, i);
    // The new role, or the one it has: Lambda assumes it again.
    check_role(w, &f.role)?;
    if let Some(layers) = &i.layers {
        f.layers = layers.clone();
    }
    (f.revision_id, f.last_modified, f.updated_tick) = (w.next_id(""), stamp(w.tick), Some(w.tick));
    let out = configuration!(UpdateFunctionConfigurationOutput::builder(), &f, w.tick);
    w.lambda.functions.insert(f.name.clone(), f);
    Ok(out)
}

fn update_function_code(
    w: &mut World,
    i: &UpdateFunctionCodeInput,
) -> Answer<UpdateFunctionCodeOutput> {
    let zip = i.zip_file();
    let zip = zip.ok_or_else(|| invalid("Please provide a source for function code."))?;
    let mut f = settled(w, i.function_name())?.clone();
    f.code_sha256 = code_sha256(zip.as_ref());
    f.code_size = zip.as_ref().len() as i64;
    if !i.architectures().is_empty() {
        f.architectures = architectures(i.architectures());
    }
    (f.revision_id, f.last_modified, f.updated_tick) = (w.next_id(""), stamp(w.tick), Some(w.tick));
    let out = configuration!(UpdateFunctionCodeOutput::builder(), &f, w.tick);
    w.lambda.functions.insert(f.name.clone(), f);
    Ok(out)
}

fn get_function(w: &mut World, i: &GetFunctionInput) -> Answer<GetFunctionOutput> {
    let f = find(w, i.function_name())?;
    let code = FunctionCodeLocation::builder().repository_type("S3");
    let reserved = f
        .reserved
        .map(|n| Concurrency::builder().reserved_concurrent_executions(n));
    Ok(GetFunctionOutput::builder()
        .configuration(configuration!(FunctionConfiguration::builder(), f, w.tick))
        .code(code.build())
        .set_tags((!f.tags.is_empty()).then(|| f.tags.clone().into_iter().collect()))
        .set_concurrency(reserved.map(|c| c.build()))
        .build())
}

fn delete_function(w: &mut World, i: &DeleteFunctionInput) -> Answer<DeleteFunctionOutput> {
    let name = find(w, i.function_name())?.name.clone();
    // Its reserved concurrency, policy, URL and tags go with it.
    w.lambda.functions.remove(&name);
    Ok(DeleteFunctionOutput::builder().build())
}

fn get_account_settings(
    w: &mut World,
    _: &GetAccountSettingsInput,
) -> Answer<GetAccountSettingsOutput> {
    let fs = &w.lambda.functions;
    let reserved: i32 = fs.values().filter_map(|f| f.reserved).sum();
    let limit = AccountLimit::builder()
        .total_code_size(80_530_636_800)
        .code_size_unzipped(262_144_000)
        .code_size_zipped(52_428_800)
        .concurrent_executions(w.lambda.limit())
        .unreserved_concurrent_executions(w.lambda.limit() - reserved);
    let usage = AccountUsage::builder()
        .total_code_size(fs.values().map(|f| f.code_size).sum())
        .function_count(fs.len() as i64);
    Ok(GetAccountSettingsOutput::builder()
        .account_limit(limit.build())
        .account_usage(usage.build())
        .build())
}

fn put_function_concurrency(
    w: &mut World,
    i: &PutFunctionConcurrencyInput,
) -> Answer<PutFunctionConcurrencyOutput> {
    let n = i.reserved_concurrent_executions().unwrap_or_default();
    if n < 0 {
        return Err(Fail::new(
            "ValidationException",
            format!("1 validation error detected: Value '{n}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"),
        ));
    }
    let name = settled(w, i.function_name())?.name.clone();
    let fs = w.lambda.functions.values();
    let others: i32 = fs
        .filter(|f| f.name != name)
        .filter_map(|f| f.reserved)
        .sum();
    if w.lambda.limit() - others - n < MIN_UNRESERVED {
        return Err(invalid(format!("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}].")));
    }
    find_mut(w, i.function_name())?.reserved = Some(n);
    Ok(PutFunctionConcurrencyOutput::builder()
        .reserved_concurrent_executions(n)
        .build())
}

fn get_function_concurrency(
    w: &mut World,
    i: &GetFunctionConcurrencyInput,
) -> Answer<GetFunctionConcurrencyOutput> {
    let reserved = find(w, i.function_name())?.reserved;
    Ok(GetFunctionConcurrencyOutput::builder()
        .set_reserved_concurrent_executions(reserved)
        .build())
}

fn delete_function_concurrency(
    w: &mut World,
    i: &DeleteFunctionConcurrencyInput,
) -> Answer<DeleteFunctionConcurrencyOutput> {
    find_mut(w, i.function_name())?.reserved = None;
    Ok(DeleteFunctionConcurrencyOutput::builder().build())
}

fn get_policy(w: &mut World, i: &GetPolicyInput) -> Answer<GetPolicyOutput> {
    let f = find(w, i.function_name())?;
    if f.policy.is_empty() {
        return Err(not_found(NO_RESOURCE));
    }
    let doc = json!({"Version": "2012-10-17", "Id": "default", "Statement": f.policy});
    Ok(GetPolicyOutput::builder()
        .policy(doc.to_string())
        .revision_id(&f.revision_id)
        .build())
}

fn remove_permission(w: &mut World, i: &RemovePermissionInput) -> Answer<RemovePermissionOutput> {
    let f = find_mut(w, i.function_name())?;
    let sid = i.statement_id().unwrap_or_default();
    if f.policy.is_empty() {
        return Err(not_found(
            "No policy is associated with the given resource.",
        ));
    }
    let before = f.policy.len();
    f.policy.retain(|s| s["Sid"] != sid);
    if f.policy.len() == before {
        return Err(not_found(format!(
            "Statement {sid} is not found in resource policy."
        )));
    }
    Ok(RemovePermissionOutput::builder().build())
}

fn get_function_url_config(
    w: &mut World,
    i: &GetFunctionUrlConfigInput,
) -> Answer<GetFunctionUrlConfigOutput> {
    let f = find(w, i.function_name())?;
    let url = f.url.as_ref().ok_or_else(|| not_found(NO_RESOURCE))?;
    Ok(GetFunctionUrlConfigOutput::builder()
        .function_url(&url.url)
        .function_arn(&f.arn)
        .auth_type(FunctionUrlAuthType::from(url.auth_type.as_str()))
        .creation_time(&url.created)
        .last_modified_time(&url.created)
        .invoke_mode(InvokeMode::Buffered)
        .build()
        .expect("required fields set"))
}

fn delete_function_url_config(
    w: &mut World,
    i: &DeleteFunctionUrlConfigInput,
) -> Answer<DeleteFunctionUrlConfigOutput> {
    let f = find_mut(w, i.function_name())?;
    f.url.take().ok_or_else(|| not_found(NO_RESOURCE))?;
    Ok(DeleteFunctionUrlConfigOutput::builder().build())
}

fn tag_resource(w: &mut World, i: &TagResourceInput) -> Answer<TagResourceOutput> {
    find_mut(w, i.resource())?.tags.extend(map_of(i.tags()));
    Ok(TagResourceOutput::builder().build())
}

fn untag_resource(w: &mut World, i: &UntagResourceInput) -> Answer<UntagResourceOutput> {
    let f = find_mut(w, i.resource())?;
    f.tags.retain(|k, _| !i.tag_keys().contains(k));
    Ok(UntagResourceOutput::builder().build())
}

/// Runs nothing: answers `Lambda::response`, with a log tail when asked.
fn invoke(w: &mut World, i: &InvokeInput) -> Answer<InvokeOutput> {
    let f = find(w, i.function_name())?;
    if status(f, w.tick).0 == State::Pending {
        return Err(pending());
    }
    if f.reserved == Some(0) {
        return Err(Fail::new("TooManyRequestsException", "Rate Exceeded.").status(429));
    }
    let memory = f.memory_size;
    let id = w.next_id("");
    let tail = format!(
        "START RequestId: {id} Version: $LATEST\nEND RequestId: {id}\nREPORT RequestId: {id}\t\
         Duration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: {memory} MB\tMax Memory Used: 20 MB\t\n"
    );
    let tail = base64::engine::general_purpose::STANDARD.encode(tail);
    let payload = w.lambda.response.as_deref().unwrap_or(DEFAULT_RESPONSE);
    Ok(InvokeOutput::builder()
        .status_code(200)
        .executed_version("$LATEST")
        .payload(Blob::new(payload.as_bytes()))
        .set_log_result((i.log_type() == Some(&LogType::Tail)).then_some(tail))
        .build())
}
