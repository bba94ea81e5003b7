//! One row through the pack: the declarative `[map]` → map hooks → DefaultValue → lookups → declarative checks →
//! validate hooks. Every problem of the row is collected, each placed at the row.

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, Map, Scope};
use serde_json::Value;

use super::checks;
use super::engine::{self, Clock};
use super::lookup::Missing;
use super::lookup::RefTables;
use super::map_probe::MapProbe;
use super::pack::{Compiled, RulePack};
use super::row_map::RowMaps;
use super::script::{Failure, Script};
use super::value::{to_dynamic, to_json};
use crate::error::{Error, Result, RuleError};
use crate::map::{map_columns, map_columns_building, Column, Mapped};
use crate::model::position::Position;
use crate::model::problem::{Problem, Severity};
use crate::model::user::{nearest_field, Field, FieldSet, Op, User};
use crate::read::Row;

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
    /// Ids the platforms assigned (`platform_id.<vendor>` columns of a vendor export).
    pub platform_ids: serde_json::Map<String, Value>,
}

/// Runs rows through a pack; one per worker thread (it owns its Rhai engine).
pub struct Evaluator {
    compiled: Arc<Compiled>,
    refs: Arc<RefTables>,
    engine: Engine,
    clock: Clock,
    scope: Scope<'static>,
    row_maps: RowMaps,
    /// Whether `[map]` could do what the map hooks do, when `rules check --data` asks.
    probe: Option<MapProbe>,
}

/// Evaluators for the rayon worker threads: each thread takes the one of its slot, so two
/// threads never share a Rhai engine (and its string interner lock).
pub struct Evaluators {
    pub(super) slots: Vec<Mutex<Evaluator>>,
}

impl Evaluators {
    /// Runs `work` with the current thread's evaluator.
    pub fn with<T>(&self, work: impl FnOnce(&mut Evaluator) -> T) -> T {
        let slot = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        let mut evaluator = self.slots[slot].lock().unwrap_or_else(|e| e.into_inner());
        work(&mut evaluator)
    }

    /// Has every evaluator probe whether `tenant.toml`'s `[map]` could replace the pack's
    /// map hooks on the rows it evaluates; only for a pack with map hooks and no `[map]`.
    pub fn probe_maps(&self, pack: &RulePack) {
        if !pack.has_map_hook() || pack.settings().map.is_some() {
            return;
        }
        let given_up = Arc::default();
        for slot in &self.slots {
            let mut evaluator = slot.lock().unwrap_or_else(|e| e.into_inner());
            evaluator.probe = Some(MapProbe::new(Arc::clone(&given_up)));
        }
    }

    /// What the probes of [`Evaluators::probe_maps`] found, merged.
    pub fn map_probe(&self) -> Option<MapProbe> {
        self.slots
            .iter()
            .filter_map(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).probe.take())
            .reduce(MapProbe::merge)
    }
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
            row_maps: RowMaps::default(),
            probe: None,
        }
    }

    /// Runs one row through the pack and collects all its problems. `Err` only for a bug in
    /// the pack (a hook that hit a sandbox limit), which ends the run.
    pub fn evaluate(&mut self, row: Row) -> Result<Evaluated> {
        let Row { position, columns } = row;
        let compiled = self.compiled.clone();
        let separator = compiled.settings.list_separator;
        let mut problems = Vec::new();
        let mut out = Evaluated::default();
        let columns = match &compiled.settings.map {
            Some(declarative) => declarative.apply(columns),
            None => columns,
        };
        let mapped = if compiled.scripts.iter().any(|s| s.map) {
            let Some(map) = self.run_map_hooks(&compiled.scripts, &columns, &mut problems)? else {
                if let Some(probe) = &self.probe {
                    probe.give_up();
                }
                out.problems = place(problems, &position, None);
                return Ok(out);
            };
            let returned = map
                .iter()
                .map(|(name, value)| (name.as_str(), to_json(value)));
            let mapped = match self.probe.as_mut().filter(|probe| probe.probing()) {
                Some(probe) => {
                    let returned: Vec<_> = returned.collect();
                    probe.observe(&columns, &returned);
                    let mapped = map_columns(returned, separator);
                    probe.made(&position, &mapped);
                    mapped
                }
                None => map_columns(returned, separator),
            };
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
            let mut mapped = map_columns(columns, separator);
            out.unknown_columns = std::mem::take(&mut mapped.unknown_columns);
            mapped
        };
        self.finish(&position, mapped, problems, out)
    }

    /// Runs one CSV row, given as its columns ([`Column::of`] their names) and cell texts,
    /// through a pack whose rules take canonical columns (no `[map]`, no `map` hook): the
    /// same as [`Evaluator::evaluate`] of the built row, but of the user only the fields in
    /// `built` (all when `None`, see [`RulePack::fields_built`]) are made; the other cells
    /// are only checked.
    pub fn evaluate_texts<'t>(
        &mut self,
        position: &Position,
        cells: impl Iterator<Item = (Column<'t>, &'t str)>,
        built: Option<&FieldSet>,
    ) -> Result<Evaluated> {
        debug_assert!(
            self.compiled.settings.map.is_none() && !self.compiled.scripts.iter().any(|s| s.map),
            "only for rules that take canonical columns"
        );
        let separator = self.compiled.settings.list_separator;
        let mut mapped = map_columns_building(cells, separator, built);
        let out = Evaluated {
            unknown_columns: std::mem::take(&mut mapped.unknown_columns),
            ..Evaluated::default()
        };
        self.finish(position, mapped, Vec::new(), out)
    }

    /// The rest of a row's evaluation once it is mapped: defaults, lookups, checks and
    /// `validate` hooks, every problem placed at the row.
    fn finish(
        &mut self,
        position: &Position,
        mapped: Mapped,
        mut problems: Vec<Problem>,
        mut out: Evaluated,
    ) -> Result<Evaluated> {
        let compiled = self.compiled.clone();
        let separator = compiled.settings.list_separator;
        out.op = mapped.op;
        out.user = mapped.user;
        out.platform_ids = mapped.platform_ids;
        problems.extend(mapped.problems);
        checks::apply_defaults(&compiled.rules, &mut out.user);
        checks::apply_lookups(&compiled.rules, &self.refs, &mut out.user, &mut problems);
        checks::check(&compiled.rules, separator, &out.user, &mut problems);
        let validators: Vec<&Script> = compiled.scripts.iter().filter(|s| s.validate).collect();
        if let Some((last, others)) = validators.split_last() {
            // Hooks get their arguments by value: the last one takes the map, not a copy.
            let user = user_to_dynamic(&out.user);
            for script in others {
                self.run_validate_hook(script, user.clone(), &mut problems)?;
            }
            self.run_validate_hook(last, user, &mut problems)?;
        }
        out.problems = place(problems, position, out.user.key());
        Ok(out)
    }

    /// Runs one `validate` hook and adds what it found (or its failure) to the row's problems.
    fn run_validate_hook(
        &mut self,
        script: &Script,
        user: Dynamic,
        problems: &mut Vec<Problem>,
    ) -> Result<()> {
        match script.call(
            &self.engine,
            &self.clock,
            &mut self.scope,
            "validate",
            (user,),
        ) {
            Ok(found) => read_problems(script, found, problems),
            Err(Failure::Row(message)) => problems.push(Problem::error("Script", message)),
            Err(Failure::Pack(e)) => return Err(e),
        }
        Ok(())
    }

    /// Chains the map hooks; `None` when one of them failed on this row.
    fn run_map_hooks(
        &mut self,
        scripts: &[Script],
        columns: &[(Arc<str>, Value)],
        problems: &mut Vec<Problem>,
    ) -> Result<Option<Map>> {
        let mut value = Dynamic::from_map(self.row_maps.build(columns));
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
        Ok(Some(value.cast::<Map>()))
    }

    /// Whether a script of the pack defines `export_<vendor>`.
    pub fn has_export_hook(&self, vendor: &str) -> bool {
        self.compiled
            .scripts
            .iter()
            .any(|s| s.exports.iter().any(|v| v == vendor))
    }

    /// Runs `export_<vendor>(user, item)` of every script that defines it, in order. `user`
    /// is only called when there is such a hook: building it costs a copy of the record.
    pub fn export_hook(
        &mut self,
        vendor: &str,
        user: impl FnOnce() -> Value,
        item: Value,
    ) -> Result<Value> {
        if !self.has_export_hook(vendor) {
            return Ok(item);
        }
        let compiled = self.compiled.clone();
        let name = format!("export_{vendor}");
        let mut item = item;
        let user = to_dynamic(&user());
        for script in compiled
            .scripts
            .iter()
            .filter(|s| s.exports.iter().any(|v| v == vendor))
        {
            let args = (user.clone(), to_dynamic(&item));
            item = match script.call(&self.engine, &self.clock, &mut self.scope, &name, args) {
                Ok(next) => to_json(&next),
                Err(Failure::Row(message)) => {
                    return Err(Error::Rules(RuleError::new(format!(
                        "`{name}` failed: {message}"
                    ))))
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

/// The user as hooks see it: a map of its fields (cleared ones as `()`). The fields are put
/// in name order first, so that building the map finds them sorted.
fn user_to_dynamic(user: &User) -> Dynamic {
    let mut fields: Vec<(Field, &Value)> = user.fields().collect();
    fields.sort_unstable_by_key(|(field, _)| field.name());
    Dynamic::from_map(
        fields
            .into_iter()
            .map(|(field, value)| (field.name().into(), to_dynamic(value)))
            .collect::<Map>(),
    )
}

fn place(problems: Vec<Problem>, position: &Position, key: Option<&str>) -> Vec<Problem> {
    problems.into_iter().map(|p| p.at(position, key)).collect()
}

/// Evaluators are made from a loaded pack (kept here, not in `pack.rs`, so that the pack
/// does not import its evaluators and they it).
impl RulePack {
    /// An evaluator for one worker thread. Fails when a `FieldName` lookup names a reference
    /// table or column that is not loaded, before any row is read.
    pub fn evaluator(&self, refs: Arc<RefTables>) -> Result<Evaluator> {
        for rule in &self.compiled.rules {
            let Some(column) = &rule.lookup else { continue };
            let table = rule.table();
            let problem = match refs.check(table, column) {
                Ok(()) => continue,
                Err(Missing::Table) => format!(
                    "`{}` is looked up in reference table `{table}`, which is not loaded; load it with `roster ref load {table} FILE`",
                    rule.field
                ),
                Err(Missing::Column(columns)) => format!(
                    "`{}` is looked up by column `{column}`, which reference table `{table}` does not have (it has {})",
                    rule.field,
                    columns.join(", ")
                ),
            };
            return Err(Error::Rules(RuleError::in_file(&rule.file, problem)));
        }
        Ok(Evaluator::new(self.compiled.clone(), refs))
    }

    /// One evaluator per rayon worker thread, for rows evaluated in parallel.
    pub fn evaluators(&self, refs: Arc<RefTables>) -> Result<Evaluators> {
        let slots = (0..rayon::current_num_threads().max(1))
            .map(|_| self.evaluator(refs.clone()).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Evaluators { slots })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;
    use crate::model::reference::RefTable;
    use crate::rules::RulePack;

    /// A pack in a scratch folder: (relative path, text) pairs under `rules/`.
    fn pack(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<RulePack>) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("t")).unwrap();
        let pack = RulePack::load(dir.path(), "t");
        (dir, pack)
    }

    fn evaluator(files: &[(&str, &str)]) -> Evaluator {
        let (_dir, pack) = pack(files);
        pack.unwrap().evaluator(Arc::new(refs())).unwrap()
    }

    fn refs() -> RefTables {
        RefTables::new(vec![RefTable {
            name: "location".into(),
            columns: vec!["id".into(), "name".into()],
            rows: vec![vec!["L1".into(), "Oslo".into()]],
        }])
    }

    fn row(pairs: &[(&str, Value)]) -> Row {
        Row {
            position: Position {
                file: "in.csv".into(),
                line: 7,
                index: 5,
            },
            columns: pairs
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect(),
        }
    }

    fn rules_of(e: &Evaluated) -> Vec<&str> {
        e.problems.iter().map(|p| p.rule.as_str()).collect()
    }

    #[test]
    fn without_map_hooks_canonical_columns_map_and_the_rest_are_unknown() {
        let mut ev = evaluator(&[]);
        let out = ev
            .evaluate(row(&[
                ("External ID", json!("u1")),
                ("Shoe size", json!("44")),
            ]))
            .unwrap();
        assert_eq!(out.user.key(), Some("u1"));
        assert_eq!(out.unknown_columns, vec!["Shoe size".to_string()]);
        assert!(out.problems.is_empty());
    }

    #[test]
    fn map_hooks_chain_in_file_order_common_first() {
        let mut ev = evaluator(&[
            (
                "common/10_a.rhai",
                r#"fn map(row) { #{ external_id: row["Id"], first_name: "A" } }"#,
            ),
            (
                "t/20_b.rhai",
                r#"fn map(user) { user.first_name += "B"; user }"#,
            ),
        ]);
        let out = ev.evaluate(row(&[("Id", json!("u1"))])).unwrap();
        assert_eq!(out.user.get(Field::FirstName), Some(&json!("AB")));
        assert_eq!(
            out.user.get(Field::Name),
            Some(&json!("AB")),
            "names derived after the hooks"
        );
    }

    #[test]
    fn a_missing_column_reads_as_unit_and_helpers_pass_it_through() {
        let mut ev = evaluator(&[(
            "t/m.rhai",
            r#"fn map(row) { #{ external_id: "u1", email: lower(trim(row["No such column"])) } }"#,
        )]);
        let out = ev.evaluate(row(&[])).unwrap();
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        assert_eq!(
            out.user.get(Field::Email),
            Some(&Value::Null),
            "present and cleared"
        );
    }

    #[test]
    fn a_tenant_script_overrides_the_common_one_of_the_same_name() {
        let mut ev = evaluator(&[
            (
                "common/10_map.rhai",
                r#"fn map(row) { #{ external_id: "common" } }"#,
            ),
            (
                "t/10_map.rhai",
                r#"fn map(row) { #{ external_id: "tenant" } }"#,
            ),
        ]);
        assert_eq!(ev.evaluate(row(&[])).unwrap().user.key(), Some("tenant"));
    }

    #[test]
    fn a_map_key_that_is_not_a_field_is_a_row_error_with_a_hint() {
        let mut ev = evaluator(&[(
            "t/m.rhai",
            r#"fn map(row) { #{ external_id: "u1", emial: "x@y.no" } }"#,
        )]);
        let out = ev.evaluate(row(&[])).unwrap();
        let p = &out.problems[0];
        assert_eq!(p.rule, "Script");
        assert!(
            p.message
                .contains("`emial`, which is not a canonical field; did you mean `email`?"),
            "{}",
            p.message
        );
        assert_eq!(p.path.as_deref(), Some("Users[5].emial"));
        assert_eq!(p.key.as_deref(), Some("u1"));
    }

    #[test]
    fn a_throw_is_the_rows_problem_with_file_line_and_column() {
        let mut ev = evaluator(&[(
            "t/m.rhai",
            "fn map(row) {\n  throw `no id in ${row.Name}`;\n}",
        )]);
        let out = ev.evaluate(row(&[("Name", json!("Ada"))])).unwrap();
        assert_eq!(rules_of(&out), vec!["Script"]);
        let message = &out.problems[0].message;
        assert!(
            message.starts_with("no id in Ada (in `map` at "),
            "{message}"
        );
        assert!(message.ends_with("/t/m.rhai:2:3)"), "{message}");
        assert_eq!(out.problems[0].position.as_ref().unwrap().line, 7);
    }

    #[test]
    fn an_endless_loop_ends_the_run_within_a_second_naming_the_place() {
        let mut ev = evaluator(&[("t/m.rhai", "fn map(row) {\n  loop { }\n}")]);
        let started = Instant::now();
        let err = ev.evaluate(row(&[])).unwrap_err().to_string();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert!(err.contains("/t/m.rhai:1:1: hook `map` ran"), "{err}");
        assert!(err.contains("an endless loop?"), "{err}");
        assert!(err.ends_with("1 | fn map(row) {\n  | ^"), "{err}");
    }

    #[test]
    fn runaway_recursion_ends_the_run() {
        let mut ev = evaluator(&[(
            "t/m.rhai",
            "fn deeper(n) { deeper(n + 1) }\nfn validate(user) { deeper(0) }",
        )]);
        let err = ev.evaluate(row(&[])).unwrap_err().to_string();
        assert!(err.contains("runaway recursion"), "{err}");
    }

    #[test]
    fn a_huge_string_ends_the_run() {
        let mut ev = evaluator(&[(
            "t/m.rhai",
            r#"fn validate(user) { let s = "x"; loop { s += s; } }"#,
        )]);
        let err = ev.evaluate(row(&[])).unwrap_err().to_string();
        assert!(err.contains("too large"), "{err}");
    }

    #[test]
    fn eval_is_a_compile_error() {
        let (_d, p) = pack(&[("t/m.rhai", "fn map(row) {\n  eval(\"1\")\n}")]);
        let err = p.err().unwrap().to_string();
        assert!(err.contains("/t/m.rhai:2:3: syntax error"), "{err}");
    }

    #[test]
    fn a_syntax_error_names_the_place_and_shows_a_caret() {
        let (_d, p) = pack(&[("t/m.rhai", "fn map(row) {\n    let x = ;\n}")]);
        let err = p.err().unwrap().to_string();
        assert!(err.contains("/t/m.rhai:2:13: syntax error"), "{err}");
        assert!(
            err.ends_with("2 |     let x = ;\n  |             ^"),
            "{err}"
        );
    }

    #[test]
    fn an_undefined_variable_is_a_compile_error() {
        let (_d, p) = pack(&[("t/m.rhai", "fn map(row) { rwo }")]);
        assert!(p.err().unwrap().to_string().contains("rwo"));
    }

    #[test]
    fn a_hook_with_the_wrong_arity_is_a_pack_error() {
        let (_d, p) = pack(&[("t/m.rhai", "fn validate(user, extra) { [] }")]);
        let err = p.err().unwrap().to_string();
        assert!(
            err.contains("hook `validate` must take 1 parameter(s), not 2"),
            "{err}"
        );
    }

    #[test]
    fn validate_hooks_give_texts_and_maps_with_severity() {
        let mut ev = evaluator(&[(
            "t/v.rhai",
            r#"fn validate(user) {
                 ["plain", #{ field: "email", message: "odd domain", severity: "warning" }, #{ message: "hard" }]
               }"#,
        )]);
        let out = ev.evaluate(row(&[("external_id", json!("u1"))])).unwrap();
        let got: Vec<_> = out
            .problems
            .iter()
            .map(|p| (p.severity, p.field.as_deref(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Severity::Error, None, "plain"),
                (Severity::Warning, Some("email"), "odd domain"),
                (Severity::Error, None, "hard"),
            ]
        );
    }

    #[test]
    fn validate_sees_the_user_after_defaults_and_lookups() {
        let mut ev = evaluator(&[
            (
                "t/validation.json",
                r#"[{"Name": "language", "DefaultValue": "en"}, {"Name": "location", "FieldName": "name"}]"#,
            ),
            (
                "t/v.rhai",
                r#"fn validate(user) { [`${user.language} ${user.location}`] }"#,
            ),
        ]);
        let out = ev
            .evaluate(row(&[
                ("external_id", json!("u1")),
                ("location", json!("oslo")),
            ]))
            .unwrap();
        assert_eq!(out.problems[0].message, "en L1");
        assert_eq!(out.user.get(Field::Location), Some(&json!("L1")));
    }

    #[test]
    fn all_problems_of_a_row_are_collected() {
        let mut ev = evaluator(&[
            (
                "t/validation.json",
                r#"[{"Name": "email", "Required": true}, {"Name": "location", "FieldName": "name"},
                                     {"Name": "username", "Pattern": "^[a-z]+$"}]"#,
            ),
            ("t/v.rhai", r#"fn validate(user) { ["from script"] }"#),
        ]);
        let out = ev
            .evaluate(row(&[
                ("external_id", json!("u1")),
                ("location", json!("Mars")),
                ("username", json!("A1")),
                ("active", json!("perhaps")),
            ]))
            .unwrap();
        assert_eq!(
            rules_of(&out),
            vec!["Type", "Lookup", "Required", "Pattern", "Script"]
        );
        assert!(out.problems.iter().all(|p| p.key.as_deref() == Some("u1")));
    }

    #[test]
    fn a_missing_reference_table_fails_before_the_first_row() {
        let (_d, p) = pack(&[(
            "t/validation.json",
            r#"[{"Name": "teams", "FieldName": "name"}]"#,
        )]);
        let err = p
            .unwrap()
            .evaluator(Arc::new(refs()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("reference table `teams`, which is not loaded"),
            "{err}"
        );
    }

    #[test]
    fn export_hooks_adjust_the_item_and_are_absent_when_undefined() {
        let mut ev = evaluator(&[(
            "t/x.rhai",
            r#"fn export_servicepower(user, item) { item.UserType = user.user_type ?? "Tech"; item }"#,
        )]);
        let item = ev
            .export_hook(
                "servicepower",
                || json!({"user_type": null}),
                json!({"UserID": "u1"}),
            )
            .unwrap();
        assert_eq!(item, json!({"UserID": "u1", "UserType": "Tech"}));
        let item = ev
            .export_hook(
                "esystems",
                || unreachable!("no esystems hook"),
                json!({"Name": "x"}),
            )
            .unwrap();
        assert_eq!(item, json!({"Name": "x"}));
    }

    #[test]
    fn the_evaluator_can_move_to_a_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Evaluator>();
    }

    #[test]
    fn unknown_tenants_name_the_tenants_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        for t in ["common", "acme", "beta"] {
            std::fs::create_dir(dir.path().join(t)).unwrap();
        }
        let err = RulePack::load(dir.path(), "acme-hr")
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("unknown tenant `acme-hr`"), "{err}");
        assert!(err.ends_with("the tenants are `acme`, `beta`"), "{err}");
        assert!(
            RulePack::load(dir.path(), "default").is_ok(),
            "default needs no folder"
        );
        assert!(RulePack::load(Path::new("/nonexistent"), "default").is_ok());
    }

    #[test]
    fn the_digest_changes_with_any_pack_file() {
        let (_d, a) = pack(&[("t/validation.json", "[]")]);
        let (_d, b) = pack(&[("t/validation.json", "[ ]")]);
        let (_d, c) = pack(&[("t/validation.json", "[]")]);
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), c.digest());
        assert_eq!(a.digest().len(), 32);
    }

    #[test]
    fn describe_lists_the_steps_in_order() {
        let (_d, p) = pack(&[
            ("common/10_m.rhai", "fn map(row) { row }"),
            (
                "t/validation.json",
                r#"[{"Name": "language", "DefaultValue": "en"}, {"Name": "email", "Unique": true, "Required": true}]"#,
            ),
            ("t/20_v.rhai", "fn validate(user) { [] }"),
        ]);
        let steps = p.unwrap().describe();
        assert!(steps[0].starts_with("1. map hook "), "{steps:?}");
        assert_eq!(steps[1], "2. DefaultValue language = en");
        assert_eq!(steps[2], "3. Required email");
        assert!(steps[3].starts_with("4. validate hook "), "{steps:?}");
        assert_eq!(
            steps[4],
            "5. Unique email (across rows and the stored users, by the planner)"
        );
    }
}
