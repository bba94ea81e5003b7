//! Rules: a tenant's pack of declarative checks (`validation.json`, the eSystems
//! `ListValidation` list) and sandboxed Rhai plug-ins, applied to each source row.
//!
//! [`RulePack::load`] reads and compiles a pack once per run; each worker thread takes an
//! [`Evaluator`] from it and runs rows through. Problems of a row are collected, never
//! fatal; only a bug in the pack itself (a runaway script) ends the run. See `docs/rules.md`.

mod checks;
mod declarative;
mod diag;
mod engine;
mod evaluate;
mod examples;
mod helpers;
mod lookup;
mod map_probe;
mod pack;
mod row_map;
mod script;
mod settings;
mod validation;
mod value;

pub use declarative::DeclarativeMap;
pub use evaluate::{Evaluated, Evaluator, Evaluators};
pub use examples::{run_examples, ExampleResult};
pub use lookup::{read_table_csv, RefTables};
pub use map_probe::MapProbe;
pub use pack::{RulePack, COMMON, DEFAULT_TENANT};
pub use settings::{DeletePolicy, Settings};
pub use validation::{parse as parse_validation, Bound, FieldRule};
