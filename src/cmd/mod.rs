//! One module per subcommand; `run` dispatches and owns what they share.

mod apply;
mod completions;
mod export;
mod generate;
mod history;
mod man;
mod plan;
mod plans;
mod push;
mod refs;
mod rejects;
mod report;
mod results;
mod rules;
mod show;
mod state;

use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use crate::cli::{Cli, Command, ReadArgs, RefCommand, RulesCommand, StateCommand};
use crate::error::{Error, Result};
use crate::read::{Encoding, Format, ReadOptions};
use crate::render::terminal::Terminal;
use crate::rules::{RefTable, RulePack, Settings};
use crate::store::Workspace;
use crate::vendor::esystems::LocationField;
use crate::vendor::{Vendor, VendorReading};

/// Runs a parsed command line; returns the exit status of a successful run.
///
/// A run that fails on a workspace it created leaves no file behind.
pub fn run(cli: &Cli) -> Result<i32> {
    Terminal::set_stdout(Terminal {
        color: cli.color.enabled(std::io::stdout().is_terminal()),
        width: Terminal::stdout_width(),
    });
    let existed = cli.db.exists();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = dispatch(cli, &mut out).and_then(|status| {
        out.flush().map_err(crate::render::table::stdout_error)?;
        Ok(status)
    });
    if result.is_err() && !existed {
        remove_workspace(&cli.db);
    }
    result.map_err(|error| Hint::complete(cli, error))
}

fn dispatch(cli: &Cli, out: &mut dyn Write) -> Result<i32> {
    match &cli.command {
        Command::Plan(args) => plan::run(cli, args, out),
        Command::Apply(args) => apply::run(cli, args, out),
        Command::History(args) => history::run(cli, args, out),
        Command::State(StateCommand::Show(args)) => state::show(cli, args, out),
        Command::State(StateCommand::Load(args)) => state::load(cli, args, out),
        Command::Export(args) => export::run(cli, args, out),
        Command::Results(args) => results::run(cli, args, out),
        Command::Push(args) => push::run(cli, args, out),
        Command::Generate(args) => generate::run(args, out),
        Command::Report(args) => report::run(cli, args, out),
        Command::Plans(args) => plans::run(cli, args, out),
        Command::Show(args) => show::run(cli, args, out),
        Command::Completions(args) => completions::run(args, out),
        Command::Man(args) => man::run(args, out),
        Command::Ref(RefCommand::Load(args)) => refs::load(cli, args, out),
        Command::Ref(RefCommand::Show(args)) => refs::show(cli, args, out),
        Command::Rules(RulesCommand::Check(args)) => rules::check(cli, args, out),
        Command::Rules(RulesCommand::Test) => rules::test(cli, out),
    }
}

/// Loads the tenant's rules; an unknown tenant fails here, before the workspace is touched.
fn load_pack(cli: &Cli) -> Result<RulePack> {
    RulePack::load(&cli.rules, &cli.tenant)
}

/// A next step printed for the user to paste, shown between backticks: `roster`, the global
/// options that were given (as given, quoted for a POSIX shell where needed), then the
/// command's words. Every command prints its next steps through this, so pasting one always
/// acts on the same workspace, rules and tenant.
///
/// A word only the user knows (a file) is a placeholder in capitals, `FILE`.
#[derive(Debug, Clone)]
pub(crate) struct Hint {
    words: Vec<String>,
}

impl Hint {
    /// `roster` and the global options that were given.
    pub(crate) fn new(cli: &Cli) -> Hint {
        let mut hint = Hint {
            words: vec!["roster".to_string()],
        };
        if cli.given.db {
            hint = hint.arg("--db").arg(cli.db.to_string_lossy());
        }
        if cli.given.rules {
            hint = hint.arg("--rules").arg(cli.rules.to_string_lossy());
        }
        if cli.given.tenant {
            hint = hint.arg("--tenant").arg(&cli.tenant);
        }
        hint
    }

    /// Adds one word, quoted when the shell would otherwise split or expand it.
    pub(crate) fn arg(mut self, word: impl std::fmt::Display) -> Hint {
        let word = word.to_string();
        self.words.push(match shlex::try_quote(&word) {
            Ok(quoted) => quoted.into_owned(),
            Err(_) => word,
        });
        self
    }

    /// Adds words, each as [`Hint::arg`] does.
    pub(crate) fn args<W: std::fmt::Display>(self, words: impl IntoIterator<Item = W>) -> Hint {
        words.into_iter().fold(self, Hint::arg)
    }

    /// Adds a word the user fills in, such as `FILE`, as it is.
    pub(crate) fn placeholder(mut self, word: &str) -> Hint {
        self.words.push(word.to_string());
        self
    }

    /// Adds the files of `folder` whose names match `pattern` (a shell glob such as
    /// `*.response.json`): the folder quoted, the pattern left for the shell to expand.
    pub(crate) fn glob_in(mut self, folder: &Path, pattern: &str) -> Hint {
        let folder = folder.to_string_lossy();
        let folder = shlex::try_quote(&folder).map_or(folder.to_string(), |q| q.into_owned());
        self.words.push(format!("{folder}/{pattern}"));
        self
    }

    /// The command as the shell takes it, without the backticks of [`Hint`]'s display.
    pub(crate) fn command_line(&self) -> String {
        self.words.join(" ")
    }

    /// Completes the commands that lower layers name in an error message (`` `roster plan
    /// FILE…` ``), which cannot know the global options, with those that were given.
    fn complete(cli: &Cli, error: Error) -> Error {
        let prefix = Hint::new(cli).command_line();
        if prefix == "roster" {
            return error;
        }
        let (bare, full) = ("`roster ", format!("`{prefix} "));
        // Hints made here already carry them: make every one bare first, then complete all.
        error.map_message(|message| message.replace(&full, bare).replace(bare, &full))
    }
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.command_line())
    }
}

/// How to read source files, from the command line's reading options.
fn read_options(args: &ReadArgs) -> Result<ReadOptions> {
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(d) => {
            return Err(Error::Usage(format!(
                "`--delimiter {d}` is not one character; use `,`, `;`, `tab` or another single character"
            )))
        }
    };
    let encoding = Encoding::parse(&args.encoding).ok_or_else(|| {
        Error::Usage(format!(
            "`--encoding {}` is not known; use `utf-8`, or `windows-1252` (alias `latin1`) for Excel exports",
            args.encoding
        ))
    })?;
    let json_path = match args.json_path.as_deref() {
        None => None,
        Some(path) if path.split('.').any(|key| key.is_empty()) => {
            return Err(Error::Usage(format!(
                "`--json-path {path}` has an empty key; give the keys down to the array of \
                 users joined by dots, such as `data.users`"
            )))
        }
        Some(path) => Some(path.split('.').map(str::to_string).collect()),
    };
    let max_decompressed = match args.max_decompressed.as_deref() {
        None => None,
        Some(size) => Some(
            size.trim()
                .parse::<bytesize::ByteSize>()
                .map_err(|_| {
                    Error::Usage(format!(
                        "`--max-decompressed {size}` is not a size; write it like `500MB`, \
                         `16GiB` or a number of bytes"
                    ))
                })?
                .as_u64(),
        ),
    };
    Ok(ReadOptions {
        format: args.format.format(),
        delimiter,
        encoding,
        vendor: Some(Arc::new(VendorReading::default())),
        sheet: args.sheet.clone(),
        header_row: args.header_row,
        json_path,
        member: args.member.clone(),
        max_decompressed,
    })
}

/// How the tenant's files of `format` read: where ServicePower carries the key, and how
/// eSystems names the locations of reference table `location` (`tables` are the tenant's).
fn vendor_reading(
    settings: &Settings,
    tables: &[RefTable],
    format: Format,
) -> Result<VendorReading> {
    Ok(VendorReading {
        servicepower_key_extension: settings.servicepower_key_extension.clone(),
        esystems_locations: location_field(
            settings,
            tables,
            format == Format::Vendor(Vendor::ESystems),
        )?,
    })
}

/// How eSystems' `LocationId` names the locations of the tenant's reference table `location`;
/// as they are when `esystems` is false (the table need not suit other vendors).
fn location_field(
    settings: &Settings,
    tables: &[RefTable],
    esystems: bool,
) -> Result<LocationField> {
    if !esystems {
        return Ok(LocationField::default());
    }
    let table = tables
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case("location"));
    LocationField::new(settings.esystems_location_field.as_deref(), table)
}

/// Opens the workspace, creating it on first use: for commands that store something new.
fn open_workspace(cli: &Cli) -> Result<Workspace> {
    Workspace::open(&cli.db)
}

/// Opens the workspace, which must exist: for commands that read, or act on what is stored.
fn open_existing(cli: &Cli) -> Result<Workspace> {
    Workspace::open_existing(&cli.db)
}

fn remove_workspace(db: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}
