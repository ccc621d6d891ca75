//! DynamoDB: tables (status by ticks, key schema, billing, SSE, deletion
//! protection, point-in-time recovery, tags) and the items a test puts in.

use super::kms::Key;
use super::{Answer, Fail, Item, World};
use aws_sdk_dynamodb::operation::{
    create_table::*, delete_table::*, describe_continuous_backups::*, describe_table::*,
    get_item::*, list_tags_of_resource::*, tag_resource::*, untag_resource::*,
    update_continuous_backups::*, update_table::*,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, BillingModeSummary,
    ContinuousBackupsDescription, ContinuousBackupsStatus, KeySchemaElement, KeyType,
    PointInTimeRecoveryDescription, PointInTimeRecoveryStatus, ProvisionedThroughput,
    ProvisionedThroughputDescription, SseDescription, SseSpecification, SseStatus, SseType,
    TableDescription, TableStatus, Tag,
};
use aws_sdk_kms::types::KeyState;
use aws_smithy_types::DateTime;
use std::collections::BTreeMap;

operations!(aws_sdk_dynamodb, "dynamodb":
    CreateTable: create_table::{CreateTableInput, CreateTableError} => create_table,
    DeleteTable: delete_table::{DeleteTableInput, DeleteTableError} => delete_table,
    DescribeContinuousBackups: describe_continuous_backups::{DescribeContinuousBackupsInput, DescribeContinuousBackupsError} => describe_continuous_backups,
    DescribeTable: describe_table::{DescribeTableInput, DescribeTableError} => describe_table,
    GetItem: get_item::{GetItemInput, GetItemError} => get_item,
    ListTagsOfResource: list_tags_of_resource::{ListTagsOfResourceInput, ListTagsOfResourceError} => list_tags_of_resource,
    TagResource: tag_resource::{TagResourceInput, TagResourceError} => tag_resource,
    UntagResource: untag_resource::{UntagResourceInput, UntagResourceError} => untag_resource,
    UpdateContinuousBackups: update_continuous_backups::{UpdateContinuousBackupsInput, UpdateContinuousBackupsError} => update_continuous_backups,
    UpdateTable: update_table::{UpdateTableInput, UpdateTableError} => update_table,
);

/// Ticks an UpdateTable keeps the table UPDATING, and a DeleteTable keeps
/// it DELETING before it is gone. CREATING lasts `lag + 2`.
const BUSY_TICKS: u64 = 2;

/// The alias of the AWS-managed key that SSE uses when no key is named.
pub const MANAGED_KEY_ALIAS: &str = "alias/aws/dynamodb";

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub attributes: Vec<AttributeDefinition>,
    pub billing_mode: BillingMode,
    /// Read and write capacity units, when provisioned.
    pub capacity: Option<(i64, i64)>,
    /// The KMS key ARN when SSE uses KMS; `None`: the AWS-owned key (AWS
    /// then returns no SSEDescription).
    pub sse_key: Option<String>,
    pub deletion_protection: bool,
    pub pitr: bool,
    pub tags: BTreeMap<String, String>,
    /// What GetItem finds: each item whole, its key attributes included.
    pub items: Vec<BTreeMap<String, AttributeValue>>,
    /// CreateTable's tick: CREATING until `created_tick + lag + 2`, and
    /// backups unavailable for `lag` more.
    pub created_tick: u64,
    /// The last UpdateTable that changed billing or SSE: UPDATING for 2.
    pub updated_tick: Option<u64>,
    /// DeleteTable's tick: DELETING for 2, then gone (out of inventory at
    /// once: a deletion cannot be undone).
    pub deleted_tick: Option<u64>,
    /// Seconds since the epoch, on the real clock (as KMS keys).
    pub created: i64,
}

impl Table {
    /// Its status at `tick`; `None` once a deletion is over.
    pub fn status(&self, tick: u64, lag: u64) -> Option<TableStatus> {
        if let Some(d) = self.deleted_tick {
            return (tick < d + BUSY_TICKS).then_some(TableStatus::Deleting);
        }
        Some(if tick < self.active_tick(lag) {
            TableStatus::Creating
        } else if self.updated_tick.is_some_and(|u| tick < u + BUSY_TICKS) {
            TableStatus::Updating
        } else {
            TableStatus::Active
        })
    }

    fn active_tick(&self, lag: u64) -> u64 {
        self.created_tick + lag + 2
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamoDb {
    pub tables: BTreeMap<String, Table>,
}

impl DynamoDb {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for t in self.tables.values().filter(|t| t.deleted_tick.is_none()) {
            out.push(Item {
                kind: "aws:dynamodb/table",
                id: t.name.clone(),
                tags: t.tags.clone(),
                snapshot: format!("{t:?}"),
            });
        }
    }
}

fn not_found(name: &str) -> Fail {
    Fail::new(
        "ResourceNotFoundException",
        format!("Requested resource not found: Table: {name} not found"),
    )
}

fn table_not_found(name: &str) -> Fail {
    Fail::new("TableNotFoundException", format!("Table not found: {name}"))
}

fn invalid(what: &str) -> Fail {
    Fail::new(
        "ValidationException",
        format!("One or more parameter values were invalid: {what}"),
    )
}

/// The table and its status, unless it does not exist (or is gone).
fn find<'a>(w: &'a mut World, name: Option<&str>) -> Answer<(&'a mut Table, TableStatus)> {
    let name = name.unwrap_or_default();
    let (tick, lag) = (w.tick, w.lag);
    let t = w
        .dynamodb
        .tables
        .get_mut(name)
        .ok_or_else(|| not_found(name))?;
    match t.status(tick, lag) {
        Some(s) => Ok((t, s)),
        None => Err(not_found(name)),
    }
}

/// A table by ARN, while DescribeTable still shows it (DELETING too).
fn by_arn<'a>(w: &'a mut World, arn: Option<&str>) -> Answer<&'a mut Table> {
    let arn = arn.unwrap_or_default();
    let (tick, lag) = (w.tick, w.lag);
    w.dynamodb
        .tables
        .values_mut()
        .find(|t| t.arn == arn && t.status(tick, lag).is_some())
        .ok_or_else(|| {
            Fail::new(
                "ResourceNotFoundException",
                format!("Requested resource not found: ResourcArn: {arn} not found"),
            )
        })
}

fn busy(t: &Table, status: &TableStatus) -> Fail {
    let doing = match status {
        TableStatus::Creating => "created",
        TableStatus::Deleting => "deleted",
        _ => "updated",
    };
    let message = "Attempt to change a resource which is still in use: Table is being";
    Fail::new(
        "ResourceInUseException",
        format!("{message} {doing}: {}", t.name),
    )
}

fn describe(w: &World, t: &Table) -> TableDescription {
    let status = t.status(w.tick, w.lag).unwrap_or(TableStatus::Deleting);
    let (read, write) = t.capacity.unwrap_or((0, 0));
    let sse = t.sse_key.as_ref().map(|arn| {
        let status = match status {
            TableStatus::Updating => SseStatus::Updating,
            _ => SseStatus::Enabled,
        };
        SseDescription::builder()
            .status(status)
            .sse_type(SseType::Kms)
            .kms_master_key_arn(arn)
            .build()
    });
    TableDescription::builder()
        .table_name(&t.name)
        .table_arn(&t.arn)
        .table_id(&t.id)
        .table_status(status)
        .set_attribute_definitions(Some(t.attributes.clone()))
        .set_key_schema(Some(t.key_schema.clone()))
        .creation_date_time(DateTime::from_secs(t.created))
        .provisioned_throughput(
            ProvisionedThroughputDescription::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .number_of_decreases_today(0)
                .build(),
        )
        .billing_mode_summary(
            BillingModeSummary::builder()
                .billing_mode(t.billing_mode.clone())
                .build(),
        )
        .table_size_bytes(0)
        .item_count(t.items.len() as i64)
        .set_sse_description(sse)
        .deletion_protection_enabled(t.deletion_protection)
        .build()
}

/// Billing mode and capacity, as CreateTable and UpdateTable check them.
fn billing(
    mode: &BillingMode,
    capacity: Option<&ProvisionedThroughput>,
) -> Answer<Option<(i64, i64)>> {
    match (mode, capacity) {
        (BillingMode::PayPerRequest, None) => Ok(None),
        (BillingMode::PayPerRequest, Some(_)) => Err(invalid(
            "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        )),
        (BillingMode::Provisioned, Some(c)) if c.read_capacity_units() > 0 && c.write_capacity_units() > 0 => {
            Ok(Some((c.read_capacity_units(), c.write_capacity_units())))
        }
        (BillingMode::Provisioned, _) => Err(invalid(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
        (other, _) => Err(invalid(&format!("Unknown BillingMode {}", other.as_str()))),
    }
}

/// The KMS key an SSE specification asks for: `None` for the AWS-owned key.
fn sse_key(w: &mut World, spec: &SseSpecification) -> Answer<Option<String>> {
    if spec.enabled() != Some(true) {
        if spec.kms_master_key_id().is_some() {
            return Err(invalid(
                "KMSMasterKeyId can only be specified when SSE is enabled",
            ));
        }
        return Ok(None);
    }
    if spec.sse_type().is_some_and(|t| *t != SseType::Kms) {
        return Err(invalid(
            "Unsupported SSEType; the only supported value is KMS",
        ));
    }
    let Some(id) = spec.kms_master_key_id() else {
        return Ok(Some(managed_key(w)));
    };
    match w.kms.key_mut(id) {
        Ok(k) if k.state == KeyState::Enabled => Ok(Some(k.arn.clone())),
        Ok(k) => Err(invalid(&format!(
            "KMSMasterKeyId {} is {}",
            k.arn,
            k.state.as_str()
        ))),
        Err(_) => Err(invalid(&format!("KMSMasterKeyId {id} does not exist"))),
    }
}

/// The AWS-managed key `aws/dynamodb`: made in KMS the first time a table
/// asks for it, as AWS does.
pub fn managed_key(w: &mut World) -> String {
    if let Some(k) = w
        .kms
        .aliases
        .get(MANAGED_KEY_ALIAS)
        .and_then(|a| w.kms.keys.get(&a.target))
    {
        return k.arn.clone();
    }
    let id = w.next_id("");
    let arn = w.arn("kms", &format!("key/{id}"));
    let via = format!("dynamodb.{}.amazonaws.com", w.region);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Id":"auto-dynamodb-1","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"kms:*","Resource":"*","Condition":{{"StringEquals":{{"kms:ViaService":"{via}"}}}}}}]}}"#
    );
    let key = Key {
        id: id.clone(),
        arn: arn.clone(),
        description:
            "Default master key that protects my DynamoDB tables when no other key is defined"
                .into(),
        key_usage: "ENCRYPT_DECRYPT".into(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        policy,
        tags: BTreeMap::new(),
        state: KeyState::Enabled,
        rotation: true,
        created_tick: w.tick,
        created: crate::ambient::now().timestamp(),
        deletion_window: None,
    };
    w.kms.keys.insert(id.clone(), key);
    w.kms.aliases.insert(
        MANAGED_KEY_ALIAS.into(),
        super::kms::Alias {
            name: MANAGED_KEY_ALIAS.into(),
            target: id,
        },
    );
    arn
}

fn tags_of(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

/// One HASH key first, an optional RANGE key, each attribute defined and
/// no attribute defined that no key uses (no indexes are modelled).
fn check_keys(keys: &[KeySchemaElement], attrs: &[AttributeDefinition]) -> Answer<()> {
    let types: Vec<&KeyType> = keys.iter().map(|k| k.key_type()).collect();
    if !matches!(types[..], [KeyType::Hash] | [KeyType::Hash, KeyType::Range]) {
        return Err(invalid(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    let mut names: Vec<&str> = keys.iter().map(|k| k.attribute_name()).collect();
    let mut defined: Vec<&str> = attrs.iter().map(|a| a.attribute_name()).collect();
    names.sort();
    defined.sort();
    if names != defined {
        return Err(invalid("Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"));
    }
    Ok(())
}

fn create_table(w: &mut World, i: &CreateTableInput) -> Answer<CreateTableOutput> {
    let name = i.table_name().unwrap_or_default().to_owned();
    if w.dynamodb
        .tables
        .get(&name)
        .is_some_and(|t| t.status(w.tick, w.lag).is_some())
    {
        return Err(Fail::new(
            "ResourceInUseException",
            format!("Table already exists: {name}"),
        ));
    }
    check_keys(i.key_schema(), i.attribute_definitions())?;
    let mode = i
        .billing_mode()
        .cloned()
        .unwrap_or(BillingMode::Provisioned);
    let capacity = billing(&mode, i.provisioned_throughput())?;
    let sse_key = match i.sse_specification() {
        Some(spec) => sse_key(w, spec)?,
        None => None,
    };
    let id = w.next_id("");
    let table = Table {
        arn: w.arn("dynamodb", &format!("table/{name}")),
        name: name.clone(),
        id,
        key_schema: i.key_schema().to_vec(),
        attributes: i.attribute_definitions().to_vec(),
        billing_mode: mode,
        capacity,
        sse_key,
        deletion_protection: i.deletion_protection_enabled().unwrap_or(false),
        pitr: false,
        tags: tags_of(i.tags()),
        items: Vec::new(),
        created_tick: w.tick,
        updated_tick: None,
        deleted_tick: None,
        created: crate::ambient::now().timestamp(),
    };
    let out = describe(w, &table);
    w.dynamodb.tables.insert(name, table);
    Ok(CreateTableOutput::builder().table_description(out).build())
}

fn describe_table(w: &mut World, i: &DescribeTableInput) -> Answer<DescribeTableOutput> {
    let t = find(w, i.table_name())?.0.clone();
    Ok(DescribeTableOutput::builder()
        .table(describe(w, &t))
        .build())
}

fn delete_table(w: &mut World, i: &DeleteTableInput) -> Answer<DeleteTableOutput> {
    let tick = w.tick;
    let (t, status) = find(w, i.table_name())?;
    match status {
        // Already being deleted: no error, as AWS documents.
        TableStatus::Deleting => {}
        TableStatus::Active if t.deletion_protection => {
            return Err(Fail::new(
                "ValidationException",
                "Resource cannot be deleted as it is currently protected against manual deletion. Please disable deletion protection first.",
            ))
        }
        TableStatus::Active => t.deleted_tick = Some(tick),
        _ => return Err(busy(t, &status)),
    }
    let t = t.clone();
    Ok(DeleteTableOutput::builder()
        .table_description(describe(w, &t))
        .build())
}

fn update_table(w: &mut World, i: &UpdateTableInput) -> Answer<UpdateTableOutput> {
    let name = i.table_name().unwrap_or_default().to_owned();
    let (t, status) = find(w, Some(&name))?;
    if status != TableStatus::Active {
        return Err(busy(t, &status));
    }
    let (old_mode, old_capacity, old_sse) = (t.billing_mode.clone(), t.capacity, t.sse_key.clone());
    if i.billing_mode().is_none()
        && i.provisioned_throughput().is_none()
        && i.sse_specification().is_none()
        && i.deletion_protection_enabled().is_none()
    {
        return Err(Fail::new(
            "ValidationException",
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    let mode = i.billing_mode().cloned().unwrap_or(old_mode.clone());
    let capacity = match (i.billing_mode(), i.provisioned_throughput()) {
        (None, None) => old_capacity,
        _ => billing(&mode, i.provisioned_throughput())?,
    };
    let sse = match i.sse_specification() {
        Some(spec) => sse_key(w, spec)?,
        None => old_sse.clone(),
    };
    let tick = w.tick;
    let t = w.dynamodb.tables.get_mut(&name).expect("found above");
    if mode != old_mode || capacity != old_capacity || sse != old_sse {
        t.updated_tick = Some(tick);
    }
    t.billing_mode = mode;
    t.capacity = capacity;
    t.sse_key = sse;
    if let Some(p) = i.deletion_protection_enabled() {
        t.deletion_protection = p;
    }
    let t = t.clone();
    Ok(UpdateTableOutput::builder()
        .table_description(describe(w, &t))
        .build())
}

fn backups(t: &Table) -> ContinuousBackupsDescription {
    let status = if t.pitr {
        PointInTimeRecoveryStatus::Enabled
    } else {
        PointInTimeRecoveryStatus::Disabled
    };
    let pitr = PointInTimeRecoveryDescription::builder()
        .point_in_time_recovery_status(status)
        .set_recovery_period_in_days(t.pitr.then_some(35));
    ContinuousBackupsDescription::builder()
        .continuous_backups_status(ContinuousBackupsStatus::Enabled)
        .point_in_time_recovery_description(pitr.build())
        .build()
        .expect("status set")
}

fn describe_continuous_backups(
    w: &mut World,
    i: &DescribeContinuousBackupsInput,
) -> Answer<DescribeContinuousBackupsOutput> {
    let name = i.table_name().unwrap_or_default();
    let (t, _) = find(w, Some(name)).map_err(|_| table_not_found(name))?;
    Ok(DescribeContinuousBackupsOutput::builder()
        .continuous_backups_description(backups(t))
        .build())
}

fn update_continuous_backups(
    w: &mut World,
    i: &UpdateContinuousBackupsInput,
) -> Answer<UpdateContinuousBackupsOutput> {
    let name = i.table_name().unwrap_or_default();
    let (tick, lag) = (w.tick, w.lag);
    let (t, status) = find(w, Some(name)).map_err(|_| table_not_found(name))?;
    if status == TableStatus::Deleting {
        return Err(table_not_found(name));
    }
    // Backups come up a while after the table is ACTIVE.
    if tick < t.active_tick(lag) + lag {
        return Err(Fail::new(
            "ContinuousBackupsUnavailableException",
            format!("Backups are being enabled for the table: {name}. Please retry later"),
        ));
    }
    let spec = i
        .point_in_time_recovery_specification()
        .ok_or_else(|| invalid("PointInTimeRecoverySpecification is required"))?;
    t.pitr = spec.point_in_time_recovery_enabled();
    Ok(UpdateContinuousBackupsOutput::builder()
        .continuous_backups_description(backups(t))
        .build())
}

fn get_item(w: &mut World, i: &GetItemInput) -> Answer<GetItemOutput> {
    let name = i.table_name().unwrap_or_default();
    let gone = || Fail::new("ResourceNotFoundException", "Requested resource not found");
    let (t, status) = find(w, Some(name)).map_err(|_| gone())?;
    if matches!(status, TableStatus::Creating | TableStatus::Deleting) {
        return Err(gone());
    }
    let key = i.key().cloned().unwrap_or_default();
    let schema: Vec<&str> = t.key_schema.iter().map(|k| k.attribute_name()).collect();
    if key.len() != schema.len() || schema.iter().any(|s| !key.contains_key(*s)) {
        return Err(Fail::new(
            "ValidationException",
            "The provided key element does not match the schema",
        ));
    }
    let item = t
        .items
        .iter()
        .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))
        .map(|item| item.clone().into_iter().collect());
    Ok(GetItemOutput::builder().set_item(item).build())
}

fn list_tags_of_resource(
    w: &mut World,
    i: &ListTagsOfResourceInput,
) -> Answer<ListTagsOfResourceOutput> {
    let t = by_arn(w, i.resource_arn())?;
    let tags = t
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().expect("set"))
        .collect();
    Ok(ListTagsOfResourceOutput::builder()
        .set_tags(Some(tags))
        .build())
}

fn tag_resource(w: &mut World, i: &TagResourceInput) -> Answer<TagResourceOutput> {
    by_arn(w, i.resource_arn())?.tags.extend(tags_of(i.tags()));
    Ok(TagResourceOutput::builder().build())
}

fn untag_resource(w: &mut World, i: &UntagResourceInput) -> Answer<UntagResourceOutput> {
    let t = by_arn(w, i.resource_arn())?;
    for k in i.tag_keys() {
        t.tags.remove(k);
    }
    Ok(UntagResourceOutput::builder().build())
}
