//! Where settled rows go: the seam between planning and what keeps its findings. `store`'s
//! plan writer takes changes too; `rules check` only problems and rejected rows.

use crate::error::Result;
use crate::hash::Hash128;
use crate::model::change::Change;
use crate::model::problem::Problem;
use crate::plan::reject::RejectedRow;
use crate::plan::rejection::Rejection;

/// Takes a plan's findings in input order.
pub trait Outlet {
    /// Takes one problem.
    fn problem(&mut self, problem: &Problem) -> Result<()>;

    /// Takes one rejected row, whose problems are the last `problems` taken.
    fn rejected(&mut self, row: RejectedRow, problems: usize) -> Result<()>;

    /// Whether the rejected rows given to [`Outlet::rejected`] need their source cells; when
    /// not, the reader does not keep them and the rows come with none.
    fn wants_cells(&self) -> bool {
        true
    }

    /// Where the changes go; `None` for a check, whose rows are then never diffed.
    fn changes(&mut self) -> Option<&mut dyn Changes>;
}

/// Takes a plan's changes.
pub trait Changes {
    /// Takes one change, with the fingerprint of the row that made exactly its record.
    fn change(&mut self, change: &Change, fingerprint: Option<Hash128>) -> Result<()>;

    /// Takes the fingerprint of a row that leaves the stored user `key` exactly as it is.
    fn fingerprint(&mut self, key: &str, fingerprint: Hash128) -> Result<()>;

    /// Takes the password the plan sets for `key`, kept until the export sends it.
    fn secret(&mut self, key: &str, password: &str) -> Result<()>;

    /// Takes the rejection the rules made of a row with `fingerprint`, for later plans to
    /// reuse (see [`crate::plan::rejection`]); every such row of the plan is given, whether
    /// its rejection was remembered already or not.
    fn rejection(&mut self, fingerprint: Hash128, rejection: &Rejection) -> Result<()>;
}
