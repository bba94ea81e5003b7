//! The command line: one `Args` struct per subcommand, turned into work by `cmd`.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::read::Format;

use crate::model::vendor::Vendor;

/// Plan, check and load bulk user imports for field-service platforms.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// The workspace file (created on first use).
    #[arg(long, global = true, env = "ROSTER_DB", default_value = "roster.db", help_heading = GLOBAL)]
    pub db: PathBuf,

    /// The folder holding one rules folder per tenant.
    #[arg(long, global = true, default_value = "rules", help_heading = GLOBAL)]
    pub rules: PathBuf,

    /// The tenant (a folder under `--rules`; `default` needs none).
    #[arg(long, global = true, default_value = "default", help_heading = GLOBAL)]
    pub tenant: String,

    /// Print nothing but results and errors.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Colour `+`, `~`, `-` and errors: `auto` on a terminal unless `NO_COLOR` is set.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Which of the global options were given, so a printed next step repeats exactly those.
    #[arg(skip)]
    pub given: Given,
}

/// The heading of the options every command takes, apart from each command's own.
const GLOBAL: &str = "Global options";

/// The global options that act on a workspace, rules or tenant, which `generate`,
/// `completions` and `man` ignore.
const WORKSPACE_OPTIONS: [&str; 3] = ["db", "rules", "tenant"];

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always, even in a pipe.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether output to a stream should be coloured; `is_terminal` says whether it is one.
    pub(crate) fn enabled(self, is_terminal: bool) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        }
    }
}

/// The global options given on the command line or in the environment (not left to their
/// defaults): a printed next step carries these, so pasting it acts on the same workspace,
/// rules and tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Given {
    /// `--db` (or `ROSTER_DB`).
    pub db: bool,
    /// `--rules`.
    pub rules: bool,
    /// `--tenant`.
    pub tenant: bool,
}

impl Cli {
    /// Parses a command line like [`Parser::try_parse_from`], and notes which global options
    /// were given.
    pub(crate) fn parse_given<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Cli::build();
        let matches = command.try_get_matches_from_mut(args)?;
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        cli.given = Given::from_matches(&matches);
        Ok(cli)
    }
}

/// The global options once parsed: what every command works with (the workspace, the rules,
/// the tenant, how to print), apart from the command line they came from.
#[derive(Debug, Clone)]
pub(crate) struct Globals {
    /// The workspace file.
    pub(crate) db: PathBuf,
    /// The folder of the tenants' rules.
    pub(crate) rules: PathBuf,
    /// The tenant.
    pub(crate) tenant: String,
    /// Hints and progress left out.
    pub(crate) quiet: bool,
    /// Whether to colour.
    pub(crate) color: ColorChoice,
    /// Which of them were given, for the next steps printed.
    pub(crate) given: Given,
}

impl Cli {
    /// The global options and the command, apart.
    pub(crate) fn into_parts(self) -> (Globals, Command) {
        let globals = Globals {
            db: self.db,
            rules: self.rules,
            tenant: self.tenant,
            quiet: self.quiet,
            color: self.color,
            given: self.given,
        };
        (globals, self.command)
    }
}

impl Cli {
    /// The command line as `--help`, completions and man pages show it: [`Cli::command`],
    /// with the workspace options hidden from the commands that ignore them.
    pub(crate) fn build() -> clap::Command {
        // A subcommand's own argument of a global's id takes the global's place there: these
        // still accept (and ignore) the options, without offering them.
        ["generate", "completions", "man"]
            .into_iter()
            .fold(Cli::command(), |command, name| {
                command.mut_subcommand(name, |sub| {
                    WORKSPACE_OPTIONS
                        .iter()
                        .fold(sub, |c, id| c.arg(clap::Arg::new(*id).long(*id).hide(true)))
                })
            })
    }
}

impl Given {
    fn from_matches(matches: &ArgMatches) -> Given {
        let given = |id| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        Given {
            db: given("db"),
            rules: given("rules"),
            tenant: given("tenant"),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Plan what loading FILE… would change (a dry run), and store the plan.
    Plan(PlanArgs),
    /// Apply a stored plan to the state.
    Apply(ApplyArgs),
    /// List the tenant's applies.
    History(HistoryArgs),
    /// The tenant's state: show its stored users, or load a vendor's export as the state.
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
    /// Send a stored plan's batches to the vendor's API, resumably and exactly once.
    Push(PushArgs),
    /// Write generated users (deterministic by seed) for benchmarks and demos.
    Generate(GenerateArgs),
    /// Write a stored plan's sign-off report (HTML or Markdown), and its rejected rows.
    Report(ReportArgs),
    /// List the tenant's stored plans: when made, inputs, counts, and whether each is
    /// pending, applied, stale or superseded.
    Plans(PlansArgs),
    /// Show a stored plan again: its tables, or its JSON.
    Show(ShowArgs),
    /// Print a shell's completion script (bash, zsh, fish, powershell).
    Completions(CompletionsArgs),
    /// Write man pages for roster and each of its commands.
    Man(ManArgs),
}

/// `roster report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The plan id, or `latest`.
    pub plan: String,

    /// The report file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// `html` (one self-contained page) or `md` (Markdown tables).
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,

    /// Also write the plan's rejected source rows, as they came, to this CSV file.
    #[arg(long, value_name = "FILE.csv")]
    pub rejects: Option<PathBuf>,

    /// Changes shown per operation, and rejected rows and warnings shown (0 for all).
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One self-contained HTML page: inline CSS and SVG, no script.
    Html,
    /// Markdown, the same sections as tables.
    Md,
}

/// `roster completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `roster man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The folder to write `roster.1`, `roster-plan.1`, … into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `roster plans`.
#[derive(Debug, Args)]
pub(crate) struct PlansArgs {
    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `roster show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The plan id, or `latest`.
    pub plan: String,

    /// `table` for people, `json` for programs (the document `plan --output json` printed).
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Rows shown per table (0 for all).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,

    /// Show the counts only, no tables.
    #[arg(long)]
    pub summary: bool,
}

/// `roster ref …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RefCommand {
    /// Load (replace) a reference table from a CSV or JSON file.
    Load(RefLoadArgs),
    /// Show a reference table.
    Show(RefShowArgs),
}

/// `roster ref load`.
#[derive(Debug, Args)]
pub(crate) struct RefLoadArgs {
    /// The table's name (a `FieldName` lookup on field `location` uses table `location`).
    pub table: String,
    /// The file: CSV with a header row, or JSON objects.
    pub file: String,
}

/// `roster ref show`.
#[derive(Debug, Args)]
pub(crate) struct RefShowArgs {
    /// The table's name.
    pub table: String,
}

/// `roster rules …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Compile and lint the tenant's pack; print the order hooks and checks run in. With
    /// `--data`, run files through the rules instead and list the rows they reject.
    Check(Box<RulesCheckArgs>),
    /// Run the pack's own examples (`rules/<tenant>/tests/*.json`).
    Test,
}

/// `roster export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
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

    /// Export an applied plan's payloads even though the state or rules changed since its
    /// apply (to send the same files again). A stale plan that was never applied is never
    /// exported.
    #[arg(long)]
    pub force: bool,
}

/// `roster results`.
#[derive(Debug, Args)]
pub(crate) struct ResultsArgs {
    /// The exported plan's id, or `latest`.
    pub plan: String,

    /// The platform that answered.
    #[arg(long, value_enum)]
    pub vendor: Vendor,

    /// Response files, each named after its batch (`servicepower-0001.response.json` for
    /// `servicepower-0001.json`) and kept beside the export's `manifest.json`. Without any,
    /// the results recorded for the plan (by earlier `results` or by `push`) are shown.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `roster push`.
#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The plan id, or `latest`.
    pub plan: String,

    /// The platform to send to. Credentials come from the environment only:
    /// ROSTER_SERVICEPOWER_TOKEN, ROSTER_ESYSTEMS_CLIENT_ID and ROSTER_ESYSTEMS_CLIENT_SECRET,
    /// or ROSTER_FIELDSQUARED_TOKEN.
    #[arg(long, value_enum)]
    pub vendor: Vendor,

    /// The API's base URL (default: the tenant's `<vendor>_endpoint` setting).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// The Field Squared workspace (default: the tenant's `fieldsquared_workspace`).
    #[arg(long, value_name = "W")]
    pub workspace: Option<String>,

    /// Users per batch, as for `export` (a resumed push keeps the size it began with).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,

    /// Batches in flight at once (eSystems sends one location's batches one at a time).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,

    /// Retries per batch on throttling, server errors, timeouts and dropped connections.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_retries: u32,

    /// A PEM file of root certificates to trust besides the platform's (a private CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub connect_timeout: u64,

    /// Seconds one request may take, answer included.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,

    /// `table` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `roster generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
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
pub(crate) struct ReadArgs {
    /// The reader to use.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,

    /// CSV delimiter (detected when not given): `,`, `;`, `tab` or any one character.
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// Source encoding: `utf-8`, or `windows-1252` (alias `latin1`) for Excel exports.
    #[arg(long, value_enum, ignore_case = true, default_value_t = EncodingArg::Utf8)]
    pub encoding: EncodingArg,

    /// The sheet of a spreadsheet to read: its name, or its number from 1 (default: the
    /// first visible sheet).
    #[arg(long, value_name = "NAME|N")]
    pub sheet: Option<String>,

    /// The line of a CSV file, or the row of a sheet, the header is on (from 1); what is
    /// above it is skipped.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_row: Option<u64>,

    /// Where a JSON document keeps its array of users: keys joined by dots (`data.users`).
    #[arg(long, value_name = "PATH", value_parser = parse_json_path)]
    pub json_path: Option<JsonPath>,

    /// The file to read from a zip archive that holds more than one.
    #[arg(long, value_name = "NAME")]
    pub member: Option<String>,

    /// The most a compressed file may decompress to, such as `500MB` or `16GiB` (default:
    /// 100 times its size, at most 4 GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_decompressed: Option<u64>,
}

/// `--encoding`: the names and aliases a user may give for each encoding, in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EncodingArg {
    /// UTF-8, with or without a byte-order mark.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-1252, what Excel saves as "CSV".
    #[value(name = "windows-1252", aliases = ["cp1252", "latin1", "latin-1", "iso-8859-1"])]
    Windows1252,
}

impl EncodingArg {
    /// The reader's encoding.
    pub(crate) fn encoding(self) -> crate::read::Encoding {
        match self {
            EncodingArg::Utf8 => crate::read::Encoding::Utf8,
            EncodingArg::Windows1252 => crate::read::Encoding::Windows1252,
        }
    }
}

/// `--json-path`: the keys down to a document's array of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath(pub Vec<String>);

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        d if d.len() == 1 => Ok(d.as_bytes()[0]),
        _ => Err("is not one character; use `,`, `;`, `tab` or another single character".into()),
    }
}

fn parse_json_path(text: &str) -> Result<JsonPath, String> {
    if text.split('.').any(str::is_empty) {
        return Err(
            "the path has an empty key; give the keys down to the array of users joined by dots, \
                    such as `data.users`"
                .into(),
        );
    }
    Ok(JsonPath(text.split('.').map(str::to_string).collect()))
}

fn parse_size(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| "is not a size; write it like `500MB`, `16GiB` or a number of bytes".into())
}

/// `roster rules check`.
#[derive(Debug, Args)]
pub(crate) struct RulesCheckArgs {
    /// Run these files (CSV, JSON, NDJSON; `-` reads stdin) through the rules and the checks
    /// between rows (duplicate keys, `Unique` within the files) and list their problems; no
    /// stored user is read and nothing is stored. Exits 4 when a row is rejected.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub data: Vec<PathBuf>,

    #[command(flatten)]
    pub read: ReadArgs,

    /// `table` for people, `json` for programs (every problem).
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,

    /// Problems shown in the table (0 for all).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,

    /// Write the rejected source rows, as they came, to this CSV file to fix and check again.
    #[arg(long, value_name = "FILE.csv", requires = "data")]
    pub rejects: Option<PathBuf>,
}

/// `roster plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Source files (CSV, JSON, NDJSON); `-` reads stdin.
    #[arg(required_unless_present = "revert", conflicts_with = "revert")]
    pub files: Vec<PathBuf>,

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

    /// Show the counts only, no tables.
    #[arg(long)]
    pub summary: bool,

    /// Make the plan that undoes apply APPLY_ID.
    #[arg(long, value_name = "APPLY_ID")]
    pub revert: Option<i64>,

    /// Write the rejected source rows, as they came, to this CSV file to fix and plan again.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "revert")]
    pub rejects: Option<PathBuf>,

    /// Show the plan without storing it (nothing is written; it cannot be applied).
    #[arg(long)]
    pub no_save: bool,
}

/// `roster apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The plan id, or `latest`.
    pub plan: String,
}

/// `roster history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// `table` or `json`.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `roster state …`.
#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// List the tenant's stored users.
    Show(StateShowArgs),
    /// Replace the tenant's state with a vendor's export of its current users (planned,
    /// shown, and applied).
    Load(StateLoadArgs),
}

/// `roster state load`.
#[derive(Debug, Args)]
pub(crate) struct StateLoadArgs {
    /// The vendor's export, in one file or several (pages): ServicePower User Objects, an
    /// eSystems `{"Meta", "Type", "Data"}` response, or a Field Squared user list.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

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
pub(crate) struct StateShowArgs {
    /// `table`, `json` (an array of users) or `csv`.
    #[arg(long, value_enum, default_value_t = StateOutput::Table)]
    pub output: StateOutput,
}

/// Output for plans and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Tables for people.
    Table,
    /// One JSON document.
    Json,
}

/// Output for `state show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StateOutput {
    /// A table.
    Table,
    /// An array of user objects.
    Json,
    /// CSV with canonical column names (loads back with `roster plan`).
    Csv,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
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
    pub(crate) fn format(self) -> Format {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read_args(args: &[&str]) -> Result<ReadArgs, clap::Error> {
        let cli = Cli::try_parse_from(["roster", "plan", "in.csv"].iter().chain(args))?;
        match cli.command {
            Command::Plan(plan) => Ok(plan.read),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encodings_are_known_by_their_aliases_in_any_case() {
        for name in ["utf-8", "UTF8"] {
            assert_eq!(
                read_args(&["--encoding", name]).unwrap().encoding,
                EncodingArg::Utf8
            );
        }
        for name in ["windows-1252", "latin1", "ISO-8859-1", "cp1252"] {
            let args = read_args(&["--encoding", name]).unwrap();
            assert_eq!(args.encoding, EncodingArg::Windows1252, "{name}");
        }
        assert!(read_args(&["--encoding", "utf-16"]).is_err());
    }

    #[test]
    fn reading_options_are_checked_when_parsed() {
        assert_eq!(
            read_args(&["--delimiter", "tab"]).unwrap().delimiter,
            Some(b'\t')
        );
        assert_eq!(
            read_args(&["--delimiter", "|"]).unwrap().delimiter,
            Some(b'|')
        );
        assert!(read_args(&["--delimiter", ";;"]).is_err());
        let path = read_args(&["--json-path", "data.users"]).unwrap().json_path;
        assert_eq!(path, Some(JsonPath(vec!["data".into(), "users".into()])));
        assert!(read_args(&["--json-path", "data..users"]).is_err());
        let size = read_args(&["--max-decompressed", "1KiB"])
            .unwrap()
            .max_decompressed;
        assert_eq!(size, Some(1024));
        assert!(read_args(&["--max-decompressed", "lots"]).is_err());
    }
}
