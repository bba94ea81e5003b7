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

use crate::cli::{Cli, Command, Globals, ReadArgs, RefCommand, RulesCommand, StateCommand};
use crate::error::{Error, Result};
use crate::model::reference::RefTable;
use crate::model::vendor::Vendor;
use crate::read::{Format, ReadOptions};
use crate::render::terminal::{paint, Terminal, ERROR};
use crate::rules::{RulePack, Settings};
use crate::store::Workspace;
use crate::vendor::esystems::LocationField;
use crate::vendor::VendorReading;

/// Runs roster on a command line, as the `roster` binary does: parses it, runs the command,
/// prints an error, and returns the exit status.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    use std::process::ExitCode;
    let cli = match Cli::parse_given(args) {
        Ok(cli) => cli,
        // Help and version go to stdout with 0; a usage error is a failure like any other
        // (exit 1), so that 2 keeps meaning "changes" under `plan --detailed-exitcode`.
        Err(usage) => {
            let _ = usage.print();
            return ExitCode::from(if usage.use_stderr() { 1 } else { 0 });
        }
    };
    let color = cli.color;
    match run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(Error::Write { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            let prefix = match color.enabled(std::io::stderr().is_terminal()) {
                true => paint("error", ERROR),
                false => "error".to_string(),
            };
            eprintln!("{prefix}: {error}");
            ExitCode::from(error.exit_status() as u8)
        }
    }
}

/// Runs a parsed command line; returns the exit status of a successful run.
///
/// A run that fails on a workspace it created leaves no file behind.
fn run(cli: Cli) -> Result<i32> {
    let (globals, command) = cli.into_parts();
    Terminal::set_stdout(Terminal {
        color: globals.color.enabled(std::io::stdout().is_terminal()),
        width: Terminal::stdout_width(),
    });
    let existed = globals.db.exists();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = dispatch(&globals, &command, &mut out).and_then(|status| {
        out.flush().map_err(crate::render::table::stdout_error)?;
        Ok(status)
    });
    if result.is_err() && !existed {
        remove_workspace(&globals.db);
    }
    result.map_err(|error| Hint::complete(&globals, error))
}

fn dispatch(globals: &Globals, command: &Command, out: &mut dyn Write) -> Result<i32> {
    match command {
        Command::Plan(args) => plan::run(globals, args, out),
        Command::Apply(args) => apply::run(globals, args, out),
        Command::History(args) => history::run(globals, args, out),
        Command::State(StateCommand::Show(args)) => state::show(globals, args, out),
        Command::State(StateCommand::Load(args)) => state::load(globals, args, out),
        Command::Export(args) => export::run(globals, args, out),
        Command::Results(args) => results::run(globals, args, out),
        Command::Push(args) => push::run(globals, args, out),
        Command::Generate(args) => generate::run(args, out),
        Command::Report(args) => report::run(globals, args, out),
        Command::Plans(args) => plans::run(globals, args, out),
        Command::Show(args) => show::run(globals, args, out),
        Command::Completions(args) => completions::run(args, out),
        Command::Man(args) => man::run(args, out),
        Command::Ref(RefCommand::Load(args)) => refs::load(globals, args, out),
        Command::Ref(RefCommand::Show(args)) => refs::show(globals, args, out),
        Command::Rules(RulesCommand::Check(args)) => rules::check(globals, args, out),
        Command::Rules(RulesCommand::Test) => rules::test(globals, out),
    }
}

/// Loads the tenant's rules; an unknown tenant fails here, before the workspace is touched.
fn load_pack(globals: &Globals) -> Result<RulePack> {
    RulePack::load(&globals.rules, &globals.tenant)
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
    pub(crate) fn new(globals: &Globals) -> Hint {
        let mut hint = Hint {
            words: vec!["roster".to_string()],
        };
        if globals.given.db {
            hint = hint.arg("--db").arg(globals.db.to_string_lossy());
        }
        if globals.given.rules {
            hint = hint.arg("--rules").arg(globals.rules.to_string_lossy());
        }
        if globals.given.tenant {
            hint = hint.arg("--tenant").arg(&globals.tenant);
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
    fn complete(globals: &Globals, error: Error) -> Error {
        let prefix = Hint::new(globals).command_line();
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

/// The source files as roster names them in plans and messages: a name that is not UTF-8
/// is refused before any work, since a plan must be able to say which file a row came from.
fn file_names(files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|file| {
            file.to_str().map(str::to_string).ok_or_else(|| {
                Error::Usage(format!(
                    "the file name `{}` is not valid UTF-8; rename the file (or copy it to a \
                     name in plain letters) and give that name",
                    file.display()
                ))
            })
        })
        .collect()
}

/// How to read source files, from the command line's reading options.
fn read_options(args: &ReadArgs) -> ReadOptions {
    ReadOptions {
        format: args.format.format(),
        delimiter: args.delimiter,
        encoding: args.encoding.encoding(),
        vendor: Some(Arc::new(VendorReading::default())),
        sheet: args.sheet.clone(),
        header_row: args.header_row,
        json_path: args.json_path.clone().map(|path| path.0),
        member: args.member.clone(),
        max_decompressed: args.max_decompressed,
    }
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
fn open_workspace(globals: &Globals) -> Result<Workspace> {
    Workspace::open(&globals.db)
}

/// Opens the workspace, which must exist: for commands that read, or act on what is stored.
fn open_existing(globals: &Globals) -> Result<Workspace> {
    Workspace::open_existing(&globals.db)
}

fn remove_workspace(db: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_file_name_that_is_not_utf8_is_refused_before_any_work() {
        use std::os::unix::ffi::OsStringExt;
        let good = std::path::PathBuf::from("users.csv");
        let bad = std::path::PathBuf::from(std::ffi::OsString::from_vec(b"caf\xe9.csv".to_vec()));
        assert_eq!(
            file_names(std::slice::from_ref(&good)).unwrap(),
            ["users.csv"]
        );
        let error = file_names(&[good, bad]).unwrap_err().to_string();
        assert!(
            error.contains("caf\u{FFFD}.csv` is not valid UTF-8; rename"),
            "{error}"
        );
    }
}
