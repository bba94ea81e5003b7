//! `roster state show`: the tenant's stored users, passwords masked.

use std::io::Write;

use serde_json::{Map, Value};

use super::open_workspace;
use std::sync::Arc;

use crate::cli::{Globals, Output, StateLoadArgs, StateOutput, StateShowArgs};
use crate::error::{Error, RefusedKind, Result};
use crate::model::record::{cell, Record};
use crate::model::user::Field;
use crate::model::vendor::Vendor;
use crate::plan::planner::PlanRequest;
use crate::progress::Progress;
use crate::read::{Format, ReadOptions};
use crate::render::table::{self, stdout_error};
use crate::rules::{RefTables, RulePack};
use crate::secret;
use crate::store::applies;
use crate::store::planning;
use crate::store::plans::{self, PlanKind};
use crate::store::state;
use crate::vendor::servicepower;

pub(super) fn show(globals: &Globals, args: &StateShowArgs, out: &mut dyn Write) -> Result<i32> {
    let workspace = super::open_existing(globals)?;
    let conn = &workspace.conn;
    match args.output {
        StateOutput::Json => {
            let mut users = Vec::new();
            state::for_each(conn, &globals.tenant, |_, user| {
                users.push(Value::Object(masked(user.record)));
                Ok(())
            })?;
            serde_json::to_writer_pretty(&mut *out, &users).map_err(|e| stdout_error(e.into()))?;
            writeln!(out).map_err(stdout_error)?;
        }
        StateOutput::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *out);
            let header: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
            writer.write_record(&header).map_err(csv_error)?;
            state::for_each(conn, &globals.tenant, |_, user| {
                let record = masked(user.record);
                let row = Field::ALL.iter().map(|f| csv_cell(record.get(f.name())));
                writer.write_record(row).map_err(csv_error)
            })?;
            writer.flush().map_err(stdout_error)?;
        }
        StateOutput::Table => {
            const SHOWN: &[Field] = &[
                Field::ExternalId,
                Field::Name,
                Field::Email,
                Field::Roles,
                Field::Active,
            ];
            let mut rows = Vec::new();
            state::for_each(conn, &globals.tenant, |_, user| {
                rows.push(
                    SHOWN
                        .iter()
                        .map(|f| user.record.get(f.name()).map(cell).unwrap_or_default())
                        .collect(),
                );
                Ok(())
            })?;
            let count = rows.len();
            let header: Vec<&str> = SHOWN.iter().map(|f| f.name()).collect();
            table::simple(out, &header, rows)?;
            writeln!(out, "{count} users in tenant `{}`.", globals.tenant).map_err(stdout_error)?;
        }
    }
    Ok(0)
}

/// The record with its password hash replaced by the mask.
fn masked(mut record: Record) -> Map<String, Value> {
    if let Some(password) = record.get_mut(Field::Password.name()) {
        *password = Value::String(secret::MASK.into());
    }
    record
}

fn csv_cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

fn csv_error(error: csv::Error) -> crate::Error {
    stdout_error(error.into())
}

/// Refuses a ServicePower load that would re-key stored users (see
/// [`servicepower::rekeyed`]), naming the setting that says where the key is.
fn refuse_rekeying(conn: &rusqlite::Connection, globals: &Globals, plan_id: i64) -> Result<()> {
    let rekeyed = servicepower::rekeyed(conn, &globals.tenant, plan_id)?;
    let Some((login, key)) = rekeyed.first() else {
        return Ok(());
    };
    let more = match rekeyed.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Err(Error::refused(RefusedKind::StateLoad, format!(
        "the ServicePower export names a user by `UserID` `{login}`, the login of stored user `{key}`: loading it would replace `{key}` by a new user `{login}`{more}. ServicePower's User Object does not carry roster's key: set `servicepower_key_field` to the `Extensions` entry that carries it (`servicepower_key_field = \"Extensions.EmployeeID\"` in `{}`), export with it, and load the vendor's export again",
        globals.rules.join(&globals.tenant).join("tenant.toml").display()
    )))
}

/// Replaces the state with a vendor's export: planned with `--sync` semantics and no rules,
/// shown, and applied in the same transaction (or only stored, with `--dry-run`).
pub(super) fn load(globals: &Globals, args: &StateLoadArgs, out: &mut dyn Write) -> Result<i32> {
    let files = super::file_names(&args.files)?;
    let settings = RulePack::load(&globals.rules, &globals.tenant)?
        .settings()
        .clone();
    let pack = RulePack::none();
    let mut workspace = open_workspace(globals)?;
    let tx = workspace.write()?;
    let tables = crate::store::refs::all(&tx, &globals.tenant)?;
    let request = PlanRequest {
        tenant: &globals.tenant,
        inputs: &files,
        read: ReadOptions {
            format: Format::Vendor(args.vendor),
            vendor: Some(std::sync::Arc::new(super::vendor_reading(
                &settings,
                &tables,
                Format::Vendor(args.vendor),
            )?)),
            ..ReadOptions::default()
        },
        sync: true,
        max_delete_percent: args.max_delete_percent,
        progress: Progress::counter("loading", Progress::wanted(globals.quiet)),
        kind: PlanKind::StateLoad,
    };
    let planned = planning::plan(&tx, &pack, Arc::new(RefTables::empty()), &request)?;
    let (plan_id, summary) = (planned.id, planned.summary);
    if args.vendor == Vendor::ServicePower {
        refuse_rekeying(&tx, globals, plan_id)?;
    }
    let applied = match args.dry_run {
        true => None,
        false => {
            let plan = plans::find(&tx, &globals.tenant, &plan_id.to_string())?;
            Some(applies::apply(
                &tx,
                &plan,
                pack.digest(),
                &Progress::hidden(),
            )?)
        }
    };
    tx.commit()?;
    let shown = super::plan::Shown {
        output: Output::Table,
        limit: args.limit,
        saved: true,
        summary: false,
    };
    super::plan::show(&workspace.conn, globals, shown, plan_id, &summary, out)?;
    let said = match applied {
        Some(apply) => format!(
            "Loaded the {} export into the state of tenant `{}` as apply {}: {} created, {} updated, {} deleted.",
            args.vendor, globals.tenant, apply.id, apply.created, apply.updated, apply.deleted
        ),
        None if globals.quiet => "Dry run: nothing applied.".to_string(),
        None => format!(
            "Dry run: nothing applied. Apply the load with {}.",
            super::Hint::new(globals).args(["apply", &plan_id.to_string()])
        ),
    };
    writeln!(out, "{said}").map_err(stdout_error)?;
    Ok(0)
}
