//! `roster state show`: the tenant's stored users, passwords masked.

use std::io::Write;

use serde_json::{Map, Value};

use super::open_workspace;
use crate::cli::{Cli, StateOutput, StateShowArgs};
use crate::error::Result;
use crate::render::{
    cell,
    table::{self, stdout_error},
};
use crate::secret;
use crate::store::state::{self, Record};
use crate::user::Field;

pub fn show(cli: &Cli, args: &StateShowArgs, out: &mut dyn Write) -> Result<i32> {
    let workspace = open_workspace(cli)?;
    let conn = &workspace.conn;
    match args.output {
        StateOutput::Json => {
            let mut users = Vec::new();
            state::for_each(conn, &cli.tenant, |_, user| {
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
            state::for_each(conn, &cli.tenant, |_, user| {
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
            state::for_each(conn, &cli.tenant, |_, user| {
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
            writeln!(out, "{count} users in tenant `{}`.", cli.tenant).map_err(stdout_error)?;
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
