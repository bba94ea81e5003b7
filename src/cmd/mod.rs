//! One module per subcommand; `run` dispatches and owns what they share.

mod apply;
mod export;
mod generate;
mod history;
mod plan;
mod refs;
mod results;
mod rules;
mod state;

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::cli::{Cli, Command, ReadArgs, RefCommand, RulesCommand, StateCommand};
use crate::error::{Error, Result};
use crate::read::{Encoding, ReadOptions};
use crate::rules::RulePack;
use crate::store::Workspace;

/// Runs a parsed command line; returns the exit status of a successful run.
///
/// A run that fails on a workspace it created leaves no file behind.
pub fn run(cli: &Cli) -> Result<i32> {
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
    result
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
        Command::Generate(args) => generate::run(args, out),
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

/// How to write a follow-up command for the user: `roster [--tenant T] ARGS`.
fn suggest(cli: &Cli, args: &str) -> String {
    match cli.tenant.as_str() {
        "default" => format!("`roster {args}`"),
        tenant => format!("`roster --tenant {tenant} {args}`"),
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
        sheet: args.sheet.clone(),
        header_row: args.header_row,
        json_path,
        member: args.member.clone(),
        max_decompressed,
    })
}

fn open_workspace(cli: &Cli) -> Result<Workspace> {
    Workspace::open(&cli.db)
}

fn remove_workspace(db: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}
