//! The domain model: the types every stage shares — the canonical user, a stored record, a
//! planned change, a problem with a row, a vendor, a reference table, and the typed values of
//! the structured fields (phones, address, work week).
//!
//! `model` sits at the ground floor: it imports only the utility modules (`error`, `hash`,
//! `secret`) and nothing of the stages built on it (see `docs/architecture.md`).

pub mod change;
pub mod position;
pub mod problem;
pub mod record;
pub mod reference;
pub mod structured;
pub mod user;
pub mod vendor;
