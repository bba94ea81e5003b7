//! The workspace: one SQLite file holding each tenant's state, reference tables, plans and
//! applies.

pub mod applies;
pub mod db;
pub mod field_places;
pub mod figures;
pub mod follow;
pub mod migrations;
pub mod planning;
pub mod plans;
pub mod push_journal;
pub mod refs;
pub mod rejections;
pub mod sql_functions;
pub mod standing;
pub mod state;
pub mod vendor_results;

pub use db::Workspace;
