//! The command line: one `Args` struct per subcommand, turned into work by `cmd`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::read::Format;

use crate::vendor::Vendor;

/// Plan, check and load bulk user imports for field-service platforms.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, max_term_width = 100)]
pub struct Cli {
    /// The workspace file (created on first use).
    #[arg(long, global = true, env = "ROSTER_DB", default_value = "roster.db")]
    pub db: PathBuf,

    /// The folder holding one rules folder per tenant.
    #[arg(long, global = true, default_value = "rules")]
    pub rules: PathBuf,

    /// The tenant (a folder under `--rules`; `default` needs none).
    #[arg(long, global = true, default_value = "default")]
    pub tenant: String,

    /// Print nothing but results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan what loading FILE… would change (a dry run), and store the plan.
    Plan(PlanArgs),
    /// Apply a stored plan to the state.
    Apply(ApplyArgs),
    /// List the tenant's applies.
    History(HistoryArgs),
    /// Show the tenant's stored users.
    #[command(subcommand)]
    State(StateCommand),
    /// Reference tables for `FieldName` lookups.
    #[command(subcommand)]
    Ref(RefCommand),
    /// Check a tenant's rules, or run the pack's own examples.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write a stored plan as vendor payload files plus `manifest.json`, batched.
    Export(ExportArgs),
    /// Map a vendor's responses to exported batches back to users and source rows.
    Results(ResultsArgs),
    /// Write generated users (deterministic by seed) for benchmarks and demos.
    Generate(GenerateArgs),
}

/// `roster ref …`.
#[derive(Debug, Subcommand)]
pub enum RefCommand {
    /// Load (replace) a reference table from a CSV or JSON file.
    Load(RefLoadArgs),
    /// Show a reference table.
    Show(RefShowArgs),
}

/// `roster ref load`.
#[derive(Debug, Args)]
pub struct RefLoadArgs {
    /// The table's name (a `FieldName` lookup on field `location` uses table `location`).
    pub table: String,
    /// The file: CSV with a header row, or JSON objects.
    pub file: String,
}

/// `roster ref show`.
#[derive(Debug, Args)]
pub struct RefShowArgs {
    /// The table's name.
    pub table: String,
}

/// `roster rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile and lint the tenant's pack; print the order hooks and checks run in. With
    /// `--data`, run files through the rules instead and list the rows they reject.
    Check(Box<RulesCheckArgs>),
    /// Run the pack's own examples (`rules/<tenant>/tests/*.json`).
    Test,
}

/// `roster export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The plan id, or `latest`.
    pub plan: String,

    /// The platform the payloads are for.
    #[arg(long, value_enum)]
    pub vendor: Vendor,

    /// The folder to create (it must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Users per file, at least 1 (default: 500 for servicepower and esystems, 200 for
    /// fieldsquared). A `--sync` plan puts each eSystems location in one file.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,

    /// The Field Squared workspace (default: the tenant's `fieldsquared_workspace`).
    #[arg(long, value_name = "W")]
    pub workspace: Option<String>,
}

/// `roster results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The exported plan's id, or `latest`.
    pub plan: String,

    /// The platform that answered.
    #[arg(long, value_enum)]
    pub vendor: Vendor,

    /// Response files, each named after its batch (`servicepower-0001.response.json` for
    /// `servicepower-0001.json`) and kept beside the export's `manifest.json`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `roster generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Users in the base snapshot.
    #[arg(long, default_value_t = 1000)]
    pub users: u64,

    /// The seed: the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Where to write the base snapshot (CSV).
    #[arg(long)]
    pub base: PathBuf,

    /// Where to write the next snapshot: 5% changed, 2% removed, 3% added.
    #[arg(long)]
    pub next: Option<PathBuf>,

    /// Leave out the dirt (duplicates, blank e-mails, unknown locations, mixed case).
    #[arg(long)]
    pub clean: bool,
}

/// How source files are read (`plan`, `rules check --data`).
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The reader to use.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,

    /// CSV delimiter (detected when not given): `,`, `;`, `tab` or any one character.
    #[arg(long)]
    pub delimiter: Option<String>,

    /// Source encoding: `utf-8`, or `windows-1252` (alias `latin1`) for Excel exports.
    #[arg(long, default_value = "utf-8")]
    pub encoding: String,

    /// The sheet of a spreadsheet to read: its name, or its number from 1 (default: the
    /// first visible sheet).
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<String>,

    /// The line of a CSV file, or the row of a sheet, the header is on (from 1); what is
    /// above it is skipped.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_row: Option<u64>,

    /// Where a JSON document keeps its array of users: keys joined by dots (`data.users`).
    #[arg(long, value_name = "PATH")]
    pub json_path: Option<String>,

    /// The file to read from a zip archive that holds more than one.
    #[arg(long, value_name = "NAME")]
    pub member: Option<String>,

    /// The most a compressed file may decompress to, such as `500MB` or `16GiB` (default:
    /// 100 times its size, at most 4 GiB).
    #[arg(long, value_name = "SIZE")]
    pub max_decompressed: Option<String>,
}

/// `roster rules check`.
#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Run these files (CSV, JSON, NDJSON; `-` reads stdin) through the rules and the checks
    /// between rows (duplicate keys, `Unique` within the files) and list their problems; no
    /// stored user is read and nothing is stored. Exits 4 when a row is rejected.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub data: Vec<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    /// `table` for people, `json` for programs (every problem).
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Problems shown in the table (0 for all).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
}

/// `roster plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Source files (CSV, JSON, NDJSON); `-` reads stdin.
    #[arg(required_unless_present = "revert", conflicts_with = "revert")]
    pub files: Vec<String>,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Delete stored users that are absent from the input (eSystems `DeleteNotExists`).
    #[arg(long)]
    pub sync: bool,

    /// Allow the plan to delete up to N percent of the tenant's users (default 20).
    #[arg(long, value_name = "N")]
    pub max_delete_percent: Option<f64>,

    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Exit 2 when the plan has changes, 4 when rows were rejected, 6 for both.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Rows shown per table (0 for all).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,

    /// Make the plan that undoes apply APPLY_ID.
    #[arg(long, value_name = "APPLY_ID")]
    pub revert: Option<i64>,
}

/// `roster apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan id, or `latest`.
    pub plan: String,
}

/// `roster history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// `table` or `json`.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `roster state …`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the tenant's stored users.
    Show(StateShowArgs),
    /// Replace the tenant's state with a vendor's export of its current users (planned,
    /// shown, and applied).
    Load(StateLoadArgs),
}

/// `roster state load`.
#[derive(Debug, Args)]
pub struct StateLoadArgs {
    /// The vendor's export: ServicePower User Objects, an eSystems `{"Meta", "Type", "Data"}`
    /// response, or a Field Squared user list.
    pub file: String,

    /// Whose export it is.
    #[arg(long, value_enum)]
    pub vendor: Vendor,

    /// Show what the load would change, and keep it as a plan, without applying it.
    #[arg(long)]
    pub dry_run: bool,

    /// Allow the load to delete up to N percent of the stored users (default 20).
    #[arg(long, value_name = "N")]
    pub max_delete_percent: Option<f64>,

    /// Rows shown per table (0 for all).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
}

/// `roster state show`.
#[derive(Debug, Args)]
pub struct StateShowArgs {
    /// `table`, `json` (an array of users) or `csv`.
    #[arg(long, value_enum, default_value_t = StateOutput::Table)]
    pub output: StateOutput,
}

/// Output for plans and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables for people.
    Table,
    /// One JSON document.
    Json,
}

/// Output for `state show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateOutput {
    /// A table.
    Table,
    /// An array of user objects.
    Json,
    /// CSV with canonical column names (loads back with `roster plan`).
    Csv,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// By file extension, or by content for stdin.
    Auto,
    /// CSV with a header row.
    Csv,
    /// An array of user objects, or an object holding one.
    Json,
    /// One user object per line.
    Ndjson,
    /// SCIM 2.0 User resources: a `ListResponse`, one resource, or one per line.
    Scim,
    /// A ServicePower bulk Users payload or User Object list (`CUD` honoured).
    #[value(name = "servicepower")]
    ServicePower,
    /// An eSystems Location Users body or `{"Meta", "Type", "Data"}` response.
    #[value(name = "esystems")]
    ESystems,
    /// A Field Squared UserImport body or user list.
    #[value(name = "fieldsquared")]
    FieldSquared,
}

impl FormatArg {
    /// The reader this format means.
    pub fn format(self) -> Format {
        match self {
            FormatArg::Auto => Format::Auto,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Ndjson => Format::Ndjson,
            FormatArg::Scim => Format::Scim,
            FormatArg::ServicePower => Format::Vendor(Vendor::ServicePower),
            FormatArg::ESystems => Format::Vendor(Vendor::ESystems),
            FormatArg::FieldSquared => Format::Vendor(Vendor::FieldSquared),
        }
    }
}
