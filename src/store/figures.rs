//! A stored plan's figures for its report: changes per operation, the users they touch by
//! location, team and role, problems per rule, and the apply that applied it. Every query
//! reads one plan, and none reads more rows than the report shows, except the breakdown
//! (one pass over the plan's changes, reading three fields of each record).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::model::change::{Action, Change};
use crate::model::problem::Severity;
use crate::store::plans::{StoredChange, StoredProblem};

/// What the breakdown reads of each change: its operation and the user's location, teams and
/// roles (of the record after it, or before it for a delete).
pub struct Grouping {
    /// Create, update or delete.
    pub action: Action,
    /// The user's location.
    pub location: Option<String>,
    /// The user's teams.
    pub teams: Vec<String>,
    /// The user's roles.
    pub roles: Vec<String>,
}

/// Calls `visit` with the grouping fields of each change of a plan.
pub fn for_each_grouping(
    conn: &Connection,
    plan_id: i64,
    mut visit: impl FnMut(Grouping) -> Result<()>,
) -> Result<()> {
    // SQLite reads the three fields out of the JSON: the records are never parsed whole.
    let mut stmt = conn.prepare_cached(
        "SELECT action, json_extract(record, '$.location'), json_extract(record, '$.teams'),
                json_extract(record, '$.roles')
         FROM (SELECT action, coalesce(after, before) AS record
               FROM plan_changes WHERE plan_id = ?1)",
    )?;
    let mut rows = stmt.query([plan_id])?;
    while let Some(row) = rows.next()? {
        let action = Action::parse(row.get_ref(0)?.as_str().unwrap_or_default());
        visit(Grouping {
            action: action.unwrap_or(Action::Update),
            location: text(row.get_ref(1)?),
            teams: list(row.get_ref(2)?),
            roles: list(row.get_ref(3)?),
        })?;
    }
    Ok(())
}

/// A JSON value SQLite extracted, as text: a string as is, a number as written.
fn text(value: rusqlite::types::ValueRef) -> Option<String> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
        _ => None,
    }
}

/// A list SQLite extracted as JSON text (or a lone string), as its texts.
fn list(value: rusqlite::types::ValueRef) -> Vec<String> {
    let Some(text) = text(value) else {
        return Vec::new();
    };
    match serde_json::from_str::<Vec<serde_json::Value>>(&text) {
        Ok(items) => items
            .iter()
            .map(|item| match item {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Err(_) => vec![text],
    }
}

/// Calls `visit` with the first `limit` changes of one operation of a plan, in order.
pub fn first_changes_of(
    conn: &Connection,
    plan_id: i64,
    action: Action,
    limit: Option<u64>,
    mut visit: impl FnMut(Change) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT external_id, source, fields, before, after, platform_ids
         FROM plan_changes WHERE plan_id = ?1 AND action = ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![plan_id, action.as_str(), sql_limit(limit)])?;
    while let Some(row) = rows.next()? {
        let stored = StoredChange {
            action,
            key: row.get(0)?,
            source: row.get(1)?,
            fields: row.get(2)?,
            before: row.get(3)?,
            after: row.get(4)?,
            platform_ids: row.get(5)?,
        };
        visit(stored.parse()?)?;
    }
    Ok(())
}

/// How many problems of one severity a plan has, per rule, the most frequent first.
pub fn problems_per_rule(
    conn: &Connection,
    plan_id: i64,
    severity: Severity,
) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT rule, count(*) FROM plan_problems WHERE plan_id = ?1 AND severity = ?2
         GROUP BY rule ORDER BY count(*) DESC, rule",
    )?;
    let rows = stmt.query_map(params![plan_id, severity.as_str()], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The first `limit` problems of one severity of a plan, in order.
pub fn first_problems_of(
    conn: &Connection,
    plan_id: i64,
    severity: Severity,
    limit: Option<u64>,
) -> Result<Vec<StoredProblem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT external_id, source, path, field, rule, message
         FROM plan_problems WHERE plan_id = ?1 AND severity = ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![plan_id, severity.as_str(), sql_limit(limit)], |r| {
        Ok(StoredProblem {
            severity,
            key: r.get(0)?,
            source: r.get(1)?,
            path: r.get(2)?,
            field: r.get(3)?,
            rule: r.get(4)?,
            message: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The apply that applied a plan: its id and when (RFC 3339).
pub fn applied(conn: &Connection, plan_id: i64) -> Result<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached("SELECT id, applied_at FROM applies WHERE plan_id = ?1")?
        .query_row([plan_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// SQLite's `LIMIT`: -1 for none.
fn sql_limit(limit: Option<u64>) -> i64 {
    limit.map_or(-1, |l| l as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_from_json_text_or_a_lone_string() {
        use rusqlite::types::ValueRef;
        assert_eq!(list(ValueRef::Text(br#"["a","b"]"#)), ["a", "b"]);
        assert_eq!(list(ValueRef::Text(b"solo")), ["solo"]);
        assert!(list(ValueRef::Null).is_empty());
        assert_eq!(text(ValueRef::Integer(7)).as_deref(), Some("7"));
    }
}
