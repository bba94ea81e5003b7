//! Planning inside the workspace: a plan of source files, or a revert of an apply, made
//! against the tenant's stored state and written as a stored plan in the caller's
//! transaction.

use std::sync::Arc;

use rusqlite::Connection;
use serde_json::Value;

use crate::error::Result;
use crate::model::record::digest_hex;
use crate::model::record::Record;
use crate::plan::planner::{self, PlanRequest, Planned};
use crate::plan::revert;
use crate::rules::{RefTables, RulePack};
use crate::store::plans::{PlanKind, PlanWriter, Summary};
use crate::store::rejections;
use crate::store::state::{self, TenantState};

/// Makes and stores a plan inside the caller's transaction.
pub fn plan(
    conn: &Connection,
    pack: &RulePack,
    refs: Arc<RefTables>,
    request: &PlanRequest,
) -> Result<Planned> {
    let (digest, user_count) = state::summary(conn, request.tenant)?;
    let mut writer = PlanWriter::begin(
        conn,
        request.tenant,
        request.kind,
        pack.digest(),
        &digest_hex(digest),
        request.sync,
        None,
    )?;
    let stored = TenantState {
        conn,
        tenant: request.tenant,
    };
    let settled = planner::settle_plan(&stored, &mut writer, pack, refs, request)?;
    let guard = planner::delete_guard(pack, request, user_count);
    planner::check_mass_delete(&settled.summary, &guard)?;
    writer.guard(&guard)?;
    let id = writer.id();
    writer.finish(&settled.inputs, &settled.summary)?;
    if request.kind == PlanKind::Plan {
        // The rejections of rows this plan did not meet would only grow the workspace.
        rejections::forget_all_but(conn, request.tenant, id)?;
    }
    Ok(Planned {
        id,
        summary: settled.summary,
        reused: settled.reused,
        remembered: settled.remembered,
    })
}

/// Builds and stores the plan that puts every user an apply touched back as it was before
/// (`targets`: key, record before the apply, platform ids).
pub fn revert(
    conn: &Connection,
    tenant: &str,
    rules_digest: &str,
    apply_id: i64,
    targets: Vec<(String, Option<Record>, Option<Value>)>,
) -> Result<(i64, Summary)> {
    let (digest, _) = state::summary(conn, tenant)?;
    let mut writer = PlanWriter::begin(
        conn,
        tenant,
        PlanKind::Revert,
        rules_digest,
        &digest_hex(digest),
        false,
        Some(apply_id),
    )?;
    let stored = TenantState { conn, tenant };
    let summary = revert::revert(&stored, &mut writer, apply_id, targets)?;
    let id = writer.id();
    writer.finish(&[], &summary)?;
    Ok((id, summary))
}
