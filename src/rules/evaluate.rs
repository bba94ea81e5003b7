//! One row through the pack: map hooks → DefaultValue → lookups → declarative checks →
//! validate hooks. Every problem of the row is collected, each placed at the row.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, Scope};
use serde_json::Value;

use super::checks;
use super::engine::{self, Clock};
use super::lookup::RefTables;
use super::pack::Compiled;
use super::script::{Failure, Script};
use super::value::{to_dynamic, to_json};
use crate::error::{Error, Result};
use crate::map::map_columns;
use crate::plan::problem::{Problem, Severity};
use crate::read::Row;
use crate::user::{nearest_field, Op, User};

/// A row after the rules: the user, the operation, and everything wrong with it.
#[derive(Debug, Clone, Default)]
pub struct Evaluated {
    /// The operation the row asks for.
    pub op: Op,
    /// The canonical user.
    pub user: User,
    /// All problems of the row, placed at its position.
    pub problems: Vec<Problem>,
    /// Source columns that are not canonical fields (only without a `map` hook).
    pub unknown_columns: Vec<String>,
}

/// Runs rows through a pack; one per worker thread (it owns its Rhai engine).
pub struct Evaluator {
    compiled: Arc<Compiled>,
    refs: Arc<RefTables>,
    engine: Engine,
    clock: Clock,
    scope: Scope<'static>,
}

impl Evaluator {
    pub(crate) fn new(compiled: Arc<Compiled>, refs: Arc<RefTables>) -> Evaluator {
        let (engine, clock) = engine::build(refs.clone());
        Evaluator {
            compiled,
            refs,
            engine,
            clock,
            scope: Scope::new(),
        }
    }

    /// Runs one row through the pack and collects all its problems. `Err` only for a bug in
    /// the pack (a hook that hit a sandbox limit), which ends the run.
    pub fn evaluate(&mut self, row: &Row) -> Result<Evaluated> {
        let compiled = self.compiled.clone();
        let separator = compiled.settings.list_separator;
        let mut problems = Vec::new();
        let mut out = Evaluated::default();
        let mapped = if compiled.scripts.iter().any(|s| s.map) {
            let Some(map) = self.run_map_hooks(&compiled.scripts, row, &mut problems)? else {
                out.problems = place(problems, row, None);
                return Ok(out);
            };
            let mapped = map_columns(map.iter().map(|(k, v)| (k.as_str(), v)), separator);
            for name in &mapped.unknown_columns {
                let hint = nearest_field(name)
                    .map(|f| format!("; did you mean `{f}`?"))
                    .unwrap_or_default();
                problems.push(
                    Problem::error(
                        "Script",
                        format!(
                            "the map hooks returned `{name}`, which is not a canonical field{hint}"
                        ),
                    )
                    .on_field(name.as_str()),
                );
            }
            mapped
        } else {
            let mut mapped = map_columns(row.columns.iter().map(|(k, v)| (&**k, v)), separator);
            out.unknown_columns = std::mem::take(&mut mapped.unknown_columns);
            mapped
        };
        out.op = mapped.op;
        out.user = mapped.user;
        problems.extend(mapped.problems);
        checks::apply_defaults(&compiled.rules, &mut out.user);
        checks::apply_lookups(&compiled.rules, &self.refs, &mut out.user, &mut problems);
        checks::check(&compiled.rules, separator, &out.user, &mut problems);
        if compiled.scripts.iter().any(|s| s.validate) {
            let user = to_dynamic(&Value::Object(out.user.to_json()));
            for script in compiled.scripts.iter().filter(|s| s.validate) {
                match script.call(
                    &self.engine,
                    &self.clock,
                    &mut self.scope,
                    "validate",
                    (user.clone(),),
                ) {
                    Ok(found) => read_problems(script, found, &mut problems),
                    Err(Failure::Row(message)) => problems.push(Problem::error("Script", message)),
                    Err(Failure::Pack(e)) => return Err(e),
                }
            }
        }
        out.problems = place(problems, row, out.user.key());
        Ok(out)
    }

    /// Chains the map hooks; `None` when one of them failed on this row.
    fn run_map_hooks(
        &mut self,
        scripts: &[Script],
        row: &Row,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<serde_json::Map<String, Value>>> {
        let mut value = Dynamic::from_map(
            row.columns
                .iter()
                .map(|(k, v)| (k.as_ref().into(), to_dynamic(v)))
                .collect::<Map>(),
        );
        for script in scripts.iter().filter(|s| s.map) {
            match script.call(&self.engine, &self.clock, &mut self.scope, "map", (value,)) {
                Ok(next) if next.is_map() => value = next,
                Ok(other) => {
                    let message = format!(
                        "the `map` hook of {} returned {}, not a map",
                        script.file,
                        other.type_name()
                    );
                    problems.push(Problem::error("Script", message));
                    return Ok(None);
                }
                Err(Failure::Row(message)) => {
                    problems.push(Problem::error("Script", message));
                    return Ok(None);
                }
                Err(Failure::Pack(e)) => return Err(e),
            }
        }
        match to_json(&value) {
            Value::Object(map) => Ok(Some(map)),
            _ => unreachable!("checked to be a map above"),
        }
    }

    /// Runs `export_<vendor>(user, item)` of every script that defines it, in order.
    pub fn export_hook(&mut self, vendor: &str, user: &Value, item: Value) -> Result<Value> {
        let compiled = self.compiled.clone();
        let name = format!("export_{vendor}");
        let mut item = item;
        let user = to_dynamic(user);
        for script in compiled
            .scripts
            .iter()
            .filter(|s| s.exports.iter().any(|v| v == vendor))
        {
            let args = (user.clone(), to_dynamic(&item));
            item = match script.call(&self.engine, &self.clock, &mut self.scope, &name, args) {
                Ok(next) => to_json(&next),
                Err(Failure::Row(message)) => {
                    return Err(Error::Rules(format!("`{name}` failed: {message}")))
                }
                Err(Failure::Pack(e)) => return Err(e),
            };
        }
        Ok(item)
    }
}

/// A `validate` hook's result: a list of texts or `#{field, message, severity}` maps.
fn read_problems(script: &Script, found: Dynamic, problems: &mut Vec<Problem>) {
    if found.is_unit() {
        return;
    }
    let Some(items) = found.read_lock::<rhai::Array>() else {
        let message = format!(
            "the `validate` hook of {} returned {}, not a list of problems",
            script.file,
            found.type_name()
        );
        problems.push(Problem::error("Script", message));
        return;
    };
    for item in items.iter() {
        if let Some(text) = item.read_lock::<rhai::ImmutableString>() {
            problems.push(Problem::error("Script", text.to_string()));
            continue;
        }
        let value = to_json(item);
        let get = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let severity = get("severity").map(|s| Severity::parse(&s.to_lowercase()).ok_or(s));
        let problem = match (get("message"), severity) {
            (Some(message), None | Some(Ok(Severity::Error))) => Problem::error("Script", message),
            (Some(message), Some(Ok(Severity::Warning))) => Problem::warning("Script", message),
            (_, Some(Err(s))) => Problem::error(
                "Script",
                format!(
                    "the `validate` hook of {} gave severity `{s}`; use `error` or `warning`",
                    script.file
                ),
            ),
            (None, _) => Problem::error(
                "Script",
                format!(
                    "the `validate` hook of {} gave a problem without a `message`: {value}",
                    script.file
                ),
            ),
        };
        problems.push(match get("field") {
            Some(field) => problem.on_field(field),
            None => problem,
        });
    }
}

fn place(problems: Vec<Problem>, row: &Row, key: Option<&str>) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|p| p.at(&row.position, key))
        .collect()
}
