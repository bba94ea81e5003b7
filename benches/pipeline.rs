//! Criterion benchmarks of each stage of the pipeline at 10k and 100k generated users:
//! read, rules (map hooks; declarative checks and lookups), plan (first load and weekly
//! delta, stored), apply, export (ServicePower payloads). `cargo bench` runs them; under
//! `cargo test` each runs once on 10k.
//!
//! The tenant packs are in `benches/rules/`: `hooks` (a map and a validate hook), `checks`
//! (Required, Unique, Pattern and a lookup), `bench` (both).

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use roster::generate::{self, Spec, LOCATIONS};
use roster::model::reference::RefTable;
use roster::model::vendor::Vendor;
use roster::plan::planner::PlanRequest;
use roster::progress::Progress;
use roster::read::{self, ReadOptions, Row};
use roster::rules::{RefTables, RulePack};
use roster::store::planning;
use roster::store::plans::PlanKind;
use roster::store::{applies, plans, Workspace};
use roster::vendor::{self, Context, ExportUser};

/// The sizes measured: both under `cargo bench`, the small one only under `cargo test`.
fn sizes() -> Vec<u64> {
    if std::env::args().any(|a| a == "--bench") {
        vec![10_000, 100_000]
    } else {
        vec![10_000]
    }
}

/// Generated base and next snapshots of `users` users, written once per size.
struct Data {
    dir: tempfile::TempDir,
    users: u64,
}

impl Data {
    fn new(users: u64) -> Data {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            users,
            seed: 1,
            dirty: true,
        };
        generate::base(
            &spec,
            std::fs::File::create(dir.path().join("base.csv")).unwrap(),
        )
        .unwrap();
        generate::next(
            &spec,
            std::fs::File::create(dir.path().join("next.csv")).unwrap(),
        )
        .unwrap();
        Data { dir, users }
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        read::read_source(
            &self.file("base.csv"),
            &ReadOptions::default(),
            &mut |row: Row| {
                rows.push(row);
                Ok(())
            },
        )
        .unwrap();
        rows
    }

    /// A fresh workspace; with `loaded`, holding the base snapshot.
    fn workspace(&self, pack: &RulePack, loaded: bool) -> Workspace {
        let path = self.dir.path().join(format!("ws-{}.db", rand_suffix()));
        let mut workspace = Workspace::open(&path).unwrap();
        if loaded {
            let tx = workspace.write().unwrap();
            let id = planning::plan(&tx, pack, refs(), &request(&[self.file("base.csv")], false))
                .unwrap()
                .id;
            let plan = plans::find(&tx, "default", &id.to_string()).unwrap();
            applies::apply(&tx, &plan, pack.digest(), &Progress::hidden()).unwrap();
            tx.commit().unwrap();
        }
        workspace
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn tenant_pack(name: &str) -> RulePack {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rules");
    RulePack::load(&rules, name).unwrap_or_else(|e| panic!("bench pack `{name}`: {e}"))
}

fn default_pack() -> RulePack {
    RulePack::load(Path::new("no-rules"), "default").unwrap()
}

fn refs() -> Arc<RefTables> {
    let rows = LOCATIONS[..5]
        .iter()
        .enumerate()
        .map(|(i, code)| vec![format!("L{i}"), code.to_string()])
        .collect();
    Arc::new(RefTables::new(vec![RefTable {
        name: "location".into(),
        columns: vec!["id".into(), "code".into()],
        rows,
    }]))
}

fn request(inputs: &[String], sync: bool) -> PlanRequest<'_> {
    PlanRequest {
        tenant: "default",
        inputs,
        read: ReadOptions::default(),
        sync,
        max_delete_percent: Some(100.0),
        progress: Progress::hidden(),
        kind: PlanKind::Plan,
    }
}

fn bench_read(c: &mut Criterion) {
    let mut group = c.benchmark_group("read_csv");
    group.sample_size(10);
    for users in sizes() {
        let data = Data::new(users);
        group.throughput(Throughput::Elements(users));
        group.bench_with_input(BenchmarkId::from_parameter(users), &data, |b, data| {
            b.iter(|| {
                let mut rows = 0u64;
                read::read_source(
                    &data.file("base.csv"),
                    &ReadOptions::default(),
                    &mut |_: Row| {
                        rows += 1;
                        Ok(())
                    },
                )
                .unwrap();
                rows
            })
        });
    }
    group.finish();
}

fn bench_rules(c: &mut Criterion) {
    let mut group = c.benchmark_group("rules");
    group.sample_size(10);
    for users in sizes() {
        let data = Data::new(users);
        let rows = data.rows();
        group.throughput(Throughput::Elements(data.users));
        for name in ["hooks", "checks"] {
            let pack = tenant_pack(name);
            let mut evaluator = pack.evaluator(refs()).unwrap();
            // The evaluator consumes its rows: copying them is setup, not measured.
            group.bench_with_input(BenchmarkId::new(name, users), &rows, |b, rows| {
                b.iter_batched(
                    || rows.clone(),
                    |rows| {
                        rows.into_iter()
                            .map(|row| evaluator.evaluate(row).unwrap().problems.len())
                            .sum::<usize>()
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

fn bench_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for users in sizes() {
        let data = Data::new(users);
        let pack = default_pack();
        group.throughput(Throughput::Elements(data.users));
        let mut empty = data.workspace(&pack, false);
        group.bench_function(BenchmarkId::new("first_load", users), |b| {
            b.iter(|| {
                let tx = empty.write().unwrap();
                planning::plan(
                    &tx,
                    &pack,
                    refs(),
                    &request(&[data.file("base.csv")], false),
                )
                .unwrap()
            })
        });
        let mut loaded = data.workspace(&pack, true);
        group.bench_function(BenchmarkId::new("delta_sync", users), |b| {
            b.iter(|| {
                let tx = loaded.write().unwrap();
                planning::plan(&tx, &pack, refs(), &request(&[data.file("next.csv")], true))
                    .unwrap()
            })
        });
        let full = tenant_pack("bench");
        let mut with_rules = data.workspace(&full, true);
        group.bench_function(BenchmarkId::new("delta_sync_with_rules", users), |b| {
            b.iter(|| {
                let tx = with_rules.write().unwrap();
                planning::plan(&tx, &full, refs(), &request(&[data.file("next.csv")], true))
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn bench_apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply");
    group.sample_size(10);
    for users in sizes() {
        let data = Data::new(users);
        let pack = default_pack();
        group.throughput(Throughput::Elements(data.users));
        let mut workspace = data.workspace(&pack, false);
        let tx = workspace.write().unwrap();
        let id = planning::plan(
            &tx,
            &pack,
            refs(),
            &request(&[data.file("base.csv")], false),
        )
        .unwrap()
        .id;
        tx.commit().unwrap();
        group.bench_function(BenchmarkId::new("first_load", users), |b| {
            b.iter(|| {
                let tx = workspace.write().unwrap();
                let plan = plans::find(&tx, "default", &id.to_string()).unwrap();
                applies::apply(&tx, &plan, pack.digest(), &Progress::hidden()).unwrap()
            })
        });
    }
    group.finish();
}

fn bench_export(c: &mut Criterion) {
    let mut group = c.benchmark_group("export_servicepower");
    group.sample_size(10);
    for users in sizes() {
        let data = Data::new(users);
        let pack = default_pack();
        let mut workspace = data.workspace(&pack, false);
        let tx = workspace.write().unwrap();
        let id = planning::plan(
            &tx,
            &pack,
            refs(),
            &request(&[data.file("base.csv")], false),
        )
        .unwrap()
        .id;
        tx.commit().unwrap();
        let settings = pack.settings().clone();
        let context = Context {
            plan_id: id,
            sync: false,
            batch_size: Vendor::ServicePower.default_batch_size(),
            settings: &settings,
            workspace: None,
            first_batch: 0,
            locations: &roster::vendor::esystems::LocationField::default(),
            bodies: true,
        };
        group.throughput(Throughput::Elements(users));
        group.bench_function(BenchmarkId::from_parameter(users), |b| {
            b.iter(|| {
                let mut exported = Vec::new();
                plans::for_each_stored_change(&workspace.conn, id, |change| {
                    exported.push(ExportUser::from_stored(change, None)?);
                    Ok(())
                })
                .unwrap();
                let export =
                    vendor::export(Vendor::ServicePower, &exported, &context, None).unwrap();
                export.batches.iter().map(|b| b.body.len()).sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_read,
    bench_rules,
    bench_plan,
    bench_apply,
    bench_export
);
criterion_main!(benches);
