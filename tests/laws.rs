//! Property tests of the laws planning must keep, through the library on generated inputs:
//! planning again after an apply gives no changes; a plan changes no stored user; a revert
//! after an apply restores the state.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use roster::plan::planner::{self, PlanRequest};
use roster::progress::Progress;
use roster::read::ReadOptions;
use roster::rules::{RefTables, RulePack};
use roster::store::plans::{self, Summary};
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
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(&dir.path().join("roster.db")).unwrap();
        let pack = RulePack::load(Path::new("no-rules-folder"), "default").unwrap();
        Scratch {
            dir,
            workspace,
            pack,
        }
    }

    fn plan(&mut self, csv: &str, sync: bool) -> (i64, Summary) {
        let path = self.dir.path().join("in.csv");
        std::fs::write(&path, csv).unwrap();
        let inputs = [path.to_string_lossy().into_owned()];
        let request = PlanRequest {
            tenant: "default",
            inputs: &inputs,
            read: ReadOptions::default(),
            sync,
            max_delete_percent: Some(100.0),
            progress: Progress::hidden(),
        };
        let tx = self.workspace.write().unwrap();
        let planned =
            planner::plan(&tx, &self.pack, Arc::new(RefTables::empty()), &request).unwrap();
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
            planner::revert(&tx, "default", self.pack.digest(), apply_id, targets).unwrap();
        tx.commit().unwrap();
        id
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
