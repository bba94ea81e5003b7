//! Property tests of the laws planning must keep, through the library on generated inputs:
//! planning again after an apply gives no changes; a plan changes no stored user; a revert
//! after an apply restores the state; the CSV, JSON, spreadsheet and SCIM forms of the same
//! users give the same plan.

use crate::common;

use std::sync::Arc;

use proptest::prelude::*;
use roster::plan::planner::{PlanRequest, Planned};
use roster::progress::Progress;
use roster::read::ReadOptions;
use roster::rules::{RefTables, RulePack};
use roster::store::planning;
use roster::store::plans::{self, PlanKind, Summary};
use roster::store::{applies, state, Workspace};

const COLUMNS: &[&str] = &["email", "first_name", "active", "roles", "cud"];

/// One generated row: a key and a cell per column (`cud` is 1, 2 or 3).
fn row() -> impl Strategy<Value = (u8, Vec<String>)> {
    (
        0u8..8,
        prop::collection::vec(prop::sample::select(vec!["", "a", "b", "x y", "Zoë"]), 3),
        prop::sample::select(vec!["", "yes", "no"]),
        prop::sample::select(vec!["1", "2", "2", "2", "3"]),
    )
        .prop_map(|(key, texts, active, cud)| {
            let cells = vec![
                texts[0].to_string(),
                texts[1].to_string(),
                active.to_string(),
                texts[2].replace(' ', ";"),
                cud.to_string(),
            ];
            (key, cells)
        })
}

/// Rules that reject rows on their own in many ways (Required, Pattern, a type, a hook's
/// error or `throw`), warn about others, and with `unique` check e-mail addresses across rows.
fn rejecting_rules(unique: bool) -> Vec<(&'static str, &'static str)> {
    let validation = match unique {
        true => {
            r#"[{ "Name": "email", "Required": true, "Unique": true },
                { "Name": "first_name", "Pattern": "^[a-z ]*$" }]"#
        }
        false => {
            r#"[{ "Name": "email", "Required": true },
                { "Name": "first_name", "Pattern": "^[a-z ]*$" }]"#
        }
    };
    let hook = r#"
fn validate(user) {
    if user.first_name == "b" {
        return [#{ field: "first_name", message: "b is no name", severity: "warning" }];
    }
    if user.email == "a" && user.active == false {
        throw "an inactive a";
    }
    if user.email == "b" {
        return ["b is no address", #{ field: "email", message: "really", severity: "warning" }];
    }
    []
}
"#;
    vec![("validation.json", validation), ("10_hook.rhai", hook)]
}

/// A CSV file like [`file`]'s whose rows may lack their key.
fn rejecting_file() -> impl Strategy<Value = String> {
    (file(), prop::collection::vec(any::<bool>(), 12)).prop_map(|(csv, blank)| {
        let mut lines = csv.lines();
        let mut out = format!("{}\n", lines.next().unwrap_or_default());
        for (line, blank) in lines.zip(blank) {
            match blank {
                true => out.push_str(line.trim_start_matches(|c: char| c != ',')),
                false => out.push_str(line),
            }
            out.push('\n');
        }
        out
    })
}

/// A CSV file: a subset of the columns (the key always) and some rows.
fn file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(any::<bool>(), COLUMNS.len()),
        prop::collection::vec(row(), 0..12),
    )
        .prop_map(|(keep, rows)| {
            let columns: Vec<usize> = (0..COLUMNS.len()).filter(|i| keep[*i]).collect();
            let mut csv = String::from("external_id");
            for i in &columns {
                csv.push(',');
                csv.push_str(COLUMNS[*i]);
            }
            csv.push('\n');
            for (key, cells) in rows {
                csv.push_str(&format!("k{key}"));
                for i in &columns {
                    csv.push(',');
                    csv.push_str(&cells[*i]);
                }
                csv.push('\n');
            }
            csv
        })
}

struct Scratch {
    dir: tempfile::TempDir,
    workspace: Workspace,
    pack: RulePack,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch::with_rules(None)
    }

    /// A scratch whose `default` tenant has `validation` as its `validation.json`.
    fn with_rules(validation: Option<&str>) -> Scratch {
        let files: Vec<_> = validation
            .map(|text| ("validation.json", text))
            .into_iter()
            .collect();
        Scratch::with_files(&files)
    }

    /// A scratch whose `default` tenant's rules are these files (name, text).
    fn with_files(files: &[(&str, &str)]) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(&dir.path().join("roster.db")).unwrap();
        let rules = dir.path().join("rules");
        for (name, text) in files {
            std::fs::create_dir_all(rules.join("default")).unwrap();
            std::fs::write(rules.join("default").join(name), text).unwrap();
        }
        let pack = RulePack::load(&rules, "default").unwrap();
        Scratch {
            dir,
            workspace,
            pack,
        }
    }

    fn plan(&mut self, csv: &str, sync: bool) -> (i64, Summary) {
        let planned = self.plan_file("in.csv", csv, sync);
        (planned.id, planned.summary)
    }

    fn plan_file(&mut self, name: &str, contents: impl AsRef<[u8]>, sync: bool) -> Planned {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let inputs = [path.to_string_lossy().into_owned()];
        let request = PlanRequest {
            tenant: "default",
            inputs: &inputs,
            read: ReadOptions::default(),
            sync,
            max_delete_percent: Some(100.0),
            progress: Progress::hidden(),
            kind: PlanKind::Plan,
        };
        let tx = self.workspace.write().unwrap();
        let planned =
            planning::plan(&tx, &self.pack, Arc::new(RefTables::empty()), &request).unwrap();
        tx.commit().unwrap();
        planned
    }

    fn apply(&mut self, plan_id: i64) -> i64 {
        let tx = self.workspace.write().unwrap();
        let plan = plans::find(&tx, "default", &plan_id.to_string()).unwrap();
        let record = applies::apply(&tx, &plan, self.pack.digest(), &Progress::hidden()).unwrap();
        tx.commit().unwrap();
        record.id
    }

    fn revert(&mut self, apply_id: i64) -> i64 {
        let tx = self.workspace.write().unwrap();
        let plan_id = applies::plan_of(&tx, "default", apply_id).unwrap();
        let mut targets = Vec::new();
        plans::for_each_change(&tx, plan_id, |c| {
            targets.push((c.key, c.before, c.platform_ids));
            Ok(())
        })
        .unwrap();
        let (id, _) =
            planning::revert(&tx, "default", self.pack.digest(), apply_id, targets).unwrap();
        tx.commit().unwrap();
        id
    }

    /// Drops every stored fingerprint and remembered rejection, so every row goes through
    /// the rules.
    fn forget_fingerprints(&mut self) {
        self.workspace
            .conn
            .execute("UPDATE users SET source_fingerprint = NULL", [])
            .unwrap();
        self.forget_rejections();
    }

    /// Drops every remembered rejection, so every rejected row goes through the rules.
    fn forget_rejections(&mut self) {
        self.workspace
            .conn
            .execute("DELETE FROM rejected_rows", [])
            .unwrap();
    }

    /// How many rejections the workspace remembers.
    fn remembered_rejections(&self) -> u64 {
        self.workspace
            .conn
            .query_row("SELECT count(*) FROM rejected_rows", [], |r| r.get(0))
            .unwrap()
    }

    /// Everything a stored plan holds that says what it does, as text: its summary, and each
    /// change, problem and rejected row with all its columns but the plan's id.
    fn stored_plan(&self, plan_id: i64) -> Vec<String> {
        let conn = &self.workspace.conn;
        let mut all = Vec::new();
        for sql in [
            "SELECT summary FROM plans WHERE id = ?1",
            "SELECT json_array(seq, action, external_id, source, fields, before, after, platform_ids, hex(source_fingerprint))
             FROM plan_changes WHERE plan_id = ?1 ORDER BY seq",
            "SELECT json_array(seq, severity, external_id, source, path, field, rule, message)
             FROM plan_problems WHERE plan_id = ?1 ORDER BY seq",
            "SELECT json_array(seq, external_id, source, cells, first_problem, last_problem)
             FROM plan_rejects WHERE plan_id = ?1 ORDER BY seq",
        ] {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt.query_map([plan_id], |r| r.get::<_, String>(0)).unwrap();
            all.extend(rows.map(Result::unwrap));
        }
        all
    }

    /// How many changes of a plan keep their row's fingerprint.
    fn fingerprinted_changes(&self, plan_id: i64) -> u64 {
        self.workspace
            .conn
            .query_row(
                "SELECT count(*) FROM plan_changes WHERE plan_id = ?1 AND source_fingerprint IS NOT NULL",
                [plan_id],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn state(&self) -> Vec<(String, String)> {
        let mut users = Vec::new();
        state::for_each(&self.workspace.conn, "default", |key, user| {
            users.push((
                key.to_string(),
                serde_json::to_string(&user.record).unwrap(),
            ));
            Ok(())
        })
        .unwrap();
        users
    }
}

/// The same rows as a JSON array, one object per line, so that rows start on the same lines.
fn as_json(csv: &str) -> String {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let objects: Vec<String> = reader
        .records()
        .map(|record| {
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .cloned()
                .zip(record.unwrap().iter().map(|c| c.into()))
                .collect();
            serde_json::to_string(&object).unwrap()
        })
        .collect();
    format!("[\n{}\n]\n", objects.join(",\n"))
}

/// The columns a SCIM User resource fills, in the order its rows have them.
const SCIM_COLUMNS: &str = "external_id,username,first_name,last_name,email,phones,active,\
language,timezone,user_type,address,attributes";

/// Users as a SCIM `ListResponse` (one resource a line, from line 2, as CSV rows are) and as
/// the CSV of the columns SCIM fills: a key, a given name, an e-mail address, `active`; a
/// left-out attribute is an empty cell.
fn scim_users() -> impl Strategy<Value = (String, String)> {
    prop::collection::vec(
        (
            0u8..8,
            prop::sample::select(vec!["", "Ann", "Zoë"]),
            prop::sample::select(vec!["", "a@x.org", "b@y.org"]),
            prop::sample::select(vec!["", "yes", "no"]),
        ),
        0..12,
    )
    .prop_map(|users| {
        let mut csv = format!("{SCIM_COLUMNS}\n");
        let mut resources = Vec::new();
        for (key, first, email, active) in users {
            csv.push_str(&format!("k{key},k{key},{first},,{email},,{active},,,,,\n"));
            let mut resource = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("k{key}"),
            });
            if !first.is_empty() {
                resource["name"] = serde_json::json!({ "givenName": first });
            }
            if !email.is_empty() {
                resource["emails"] = serde_json::json!([{ "value": email, "primary": true }]);
            }
            if !active.is_empty() {
                resource["active"] = serde_json::Value::Bool(active == "yes");
            }
            resources.push(resource.to_string());
        }
        let scim = format!(
            "{{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"], \"Resources\": [\n{}\n]}}\n",
            resources.join(",\n")
        );
        (csv, scim)
    })
}

/// What a plan says, without the file names.
fn plan_contents(s: &Scratch, plan_id: i64) -> (Vec<String>, Vec<String>) {
    let mut changes = Vec::new();
    plans::for_each_change(&s.workspace.conn, plan_id, |c| {
        let line = c
            .source
            .clone()
            .unwrap_or_default()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        changes.push(format!(
            "{} {} {line} {}",
            c.action.as_str(),
            c.key,
            serde_json::to_string(&c.field_changes()).unwrap()
        ));
        Ok(())
    })
    .unwrap();
    let mut problems = Vec::new();
    plans::for_each_problem(&s.workspace.conn, plan_id, |p| {
        let line = p
            .source
            .unwrap_or_default()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        problems.push(format!(
            "{} {:?} {line} {:?} {}",
            p.rule, p.key, p.field, p.severity
        ));
        Ok(())
    })
    .unwrap();
    (changes, problems)
}

fn no_changes(summary: &Summary) -> bool {
    summary.create + summary.update + summary.delete == 0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn planning_again_after_an_apply_gives_no_changes(base in file(), next in file(), sync in any::<bool>()) {
        let mut s = Scratch::new();
        let (id, _) = s.plan(&base, false);
        s.apply(id);
        let (id, _) = s.plan(&next, sync);
        s.apply(id);
        let (_, again) = s.plan(&next, sync);
        prop_assert!(no_changes(&again), "{again:?}");
    }

    #[test]
    fn a_plan_changes_no_stored_user(base in file(), next in file(), sync in any::<bool>()) {
        let mut s = Scratch::new();
        let (id, _) = s.plan(&base, false);
        s.apply(id);
        let before = s.state();
        s.plan(&next, sync);
        prop_assert_eq!(s.state(), before);
    }

    #[test]
    fn csv_and_json_forms_of_the_same_users_give_the_same_plan(base in file(), next in file(), sync in any::<bool>()) {
        let mut from_csv = Scratch::new();
        let mut from_json = Scratch::new();
        for s in [&mut from_csv, &mut from_json] {
            let (id, _) = s.plan(&base, false);
            s.apply(id);
        }
        let csv = from_csv.plan_file("next.csv", &next, sync);
        let json = from_json.plan_file("next.json", as_json(&next), sync);
        prop_assert_eq!(csv.summary, json.summary);
        prop_assert_eq!(plan_contents(&from_csv, csv.id), plan_contents(&from_json, json.id));
    }

    #[test]
    fn csv_and_spreadsheet_forms_of_the_same_users_give_the_same_plan(base in file(), next in file(), sync in any::<bool>()) {
        let mut from_csv = Scratch::new();
        let mut from_xlsx = Scratch::new();
        let id = from_csv.plan_file("base.csv", &base, false).id;
        from_csv.apply(id);
        let id = from_xlsx.plan_file("base.xlsx", common::workbook::xlsx_of_csv(&base), false).id;
        from_xlsx.apply(id);
        let csv = from_csv.plan_file("next.csv", &next, sync);
        let xlsx_bytes = common::workbook::xlsx_of_csv(&next);
        let xlsx = from_xlsx.plan_file("next.xlsx", &xlsx_bytes, sync);
        prop_assert_eq!(csv.summary, xlsx.summary);
        prop_assert_eq!(plan_contents(&from_csv, csv.id), plan_contents(&from_xlsx, xlsx.id));
        // Rows seen before are recognised in a workbook too: planning it again after the
        // apply gives no changes.
        from_xlsx.apply(xlsx.id);
        let again = from_xlsx.plan_file("next.xlsx", &xlsx_bytes, sync);
        prop_assert!(no_changes(&again.summary), "{:?}", again.summary);
    }

    #[test]
    fn csv_and_scim_forms_of_the_same_users_give_the_same_plan(base in scim_users(), next in scim_users(), sync in any::<bool>()) {
        let mut from_csv = Scratch::new();
        let mut from_scim = Scratch::new();
        let id = from_csv.plan_file("base.csv", &base.0, false).id;
        from_csv.apply(id);
        let id = from_scim.plan_file("base.json", &base.1, false).id;
        from_scim.apply(id);
        let csv = from_csv.plan_file("next.csv", &next.0, sync);
        let scim = from_scim.plan_file("next.json", &next.1, sync);
        prop_assert_eq!(csv.summary, scim.summary);
        prop_assert_eq!(plan_contents(&from_csv, csv.id), plan_contents(&from_scim, scim.id));
    }

    /// Rows recognised by their fingerprints (the rules not run on them) plan exactly as
    /// rows the rules run on: the same plan with the stored fingerprints and without.
    #[test]
    fn a_row_recognised_by_its_fingerprint_plans_as_if_the_rules_ran(
        base in file(), next in file(), third in file(), sync in any::<bool>(), unique in any::<bool>()
    ) {
        // With `Unique` e-mail addresses, recognised rows take part in the checks too.
        let rules = unique.then_some(r#"[{ "Name": "email", "Unique": true }]"#);
        let mut remembering = Scratch::with_rules(rules);
        let mut forgetting = Scratch::with_rules(rules);
        let mut next_plan = 0;
        for s in [&mut remembering, &mut forgetting] {
            let (id, _) = s.plan(&base, false);
            s.apply(id);
            let (id, _) = s.plan(&next, sync);
            s.apply(id);
            next_plan = id;
        }
        forgetting.forget_fingerprints();
        let mut reused = Vec::new();
        for again in [&next, &third] {
            let remembered = remembering.plan_file("again.csv", again, sync);
            let forgotten = forgetting.plan_file("again.csv", again, sync);
            prop_assert_eq!(forgotten.reused, 0);
            prop_assert_eq!(remembered.summary, forgotten.summary);
            prop_assert_eq!(
                plan_contents(&remembering, remembered.id),
                plan_contents(&forgetting, forgotten.id)
            );
            reused.push(remembered.reused);
        }
        // Planning the applied file again recognises every row whose change kept its
        // fingerprint.
        let kept = remembering.fingerprinted_changes(next_plan);
        prop_assert!(reused[0] >= kept, "{} reused, {kept} fingerprints kept", reused[0]);
    }

    /// A row the rules rejected on their own is rejected again from its remembered rejection,
    /// without the rules: the stored plan is the one the rules give, to the byte, whether the
    /// rejection was remembered from the same file or from another one.
    #[test]
    fn a_row_rejected_from_its_remembered_rejection_plans_as_if_the_rules_ran(
        base in rejecting_file(), next in rejecting_file(), sync in any::<bool>(), unique in any::<bool>()
    ) {
        let mut s = Scratch::with_files(&rejecting_rules(unique));
        let (id, _) = s.plan(&base, false);
        s.apply(id);
        s.forget_rejections();
        let fresh = s.plan_file("again.csv", &next, sync);
        let kept = s.remembered_rejections();
        let again = s.plan_file("again.csv", &next, sync);
        prop_assert_eq!(fresh.remembered, 0);
        prop_assert!(again.remembered >= kept, "{} remembered, {kept} kept", again.remembered);
        prop_assert!(again.remembered <= again.summary.error, "{:?}", again.summary);
        prop_assert_eq!(s.stored_plan(fresh.id), s.stored_plan(again.id));
        // Another file, with what `next` left remembered and with nothing remembered.
        let with_memory = s.plan_file("other.csv", &base, sync);
        s.forget_rejections();
        let without = s.plan_file("other.csv", &base, sync);
        prop_assert_eq!(without.remembered, 0);
        prop_assert_eq!(s.stored_plan(with_memory.id), s.stored_plan(without.id));
    }

    #[test]
    fn a_revert_after_an_apply_restores_the_state(base in file(), next in file(), sync in any::<bool>()) {
        let mut s = Scratch::new();
        let (id, _) = s.plan(&base, false);
        s.apply(id);
        let before = s.state();
        let (id, _) = s.plan(&next, sync);
        let apply_id = s.apply(id);
        let revert = s.revert(apply_id);
        s.apply(revert);
        prop_assert_eq!(s.state(), before);
    }
}
