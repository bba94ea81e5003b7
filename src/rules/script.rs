//! One plug-in script: its compiled `AST`, the hooks it defines, and how its failures read.
//!
//! A hook is a function with a known name and arity; a script that does not define one simply
//! does not take part in that step (found from the AST, not by catching "function not
//! found"). Failures are split in two: a `throw` or a data-dependent runtime error is that
//! row's problem; hitting a sandbox limit is a bug in the pack that ends the run.

use std::sync::Arc;

use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, FuncArgs, Scope, AST};

use super::diag::{pack_error, Span};
use super::engine::{Clock, MAX_OPERATIONS, TIMED_OUT, TIME_LIMIT};
use crate::error::{Error, Result};

/// A compiled plug-in.
pub(crate) struct Script {
    /// The file as errors name it (`rules/acme/10_map.rhai`).
    pub file: String,
    /// The source, to show the line of an error.
    pub source: Arc<str>,
    /// The compiled script.
    pub ast: AST,
    /// Whether it defines `map(row)`.
    pub map: bool,
    /// Whether it defines `validate(user)`.
    pub validate: bool,
    /// The vendors of the `export_<vendor>(user, item)` hooks it defines.
    pub exports: Vec<String>,
}

/// Why a hook call did not give a value.
pub(crate) enum Failure {
    /// The row is wrong (a `throw`, or a runtime error on this row's data): a `Script` problem.
    Row(String),
    /// The pack is wrong (a limit was hit): the run ends.
    Pack(Error),
}

impl Script {
    /// Compiles a script and finds its hooks.
    pub(crate) fn compile(engine: &Engine, file: String, source: String) -> Result<Script> {
        let mut ast = engine.compile(&source).map_err(|e| {
            pack_error(
                &file,
                &source,
                Span::of_rhai(e.1),
                &format!("syntax error: {}", e.0),
            )
        })?;
        ast.set_source(file.as_str());
        let (mut map, mut validate, mut exports) = (false, false, Vec::new());
        for f in ast.iter_functions() {
            let want = match f.name {
                "map" | "validate" => 1,
                name if name.starts_with("export_") => 2,
                _ => continue,
            };
            if f.params.len() != want {
                let at = source
                    .find(&format!("fn {}", f.name))
                    .map(|o| Span::of_offset(&source, o));
                let message = format!(
                    "hook `{}` must take {want} parameter(s), not {}",
                    f.name,
                    f.params.len()
                );
                return Err(pack_error(&file, &source, at, &message));
            }
            match f.name {
                "map" => map = true,
                "validate" => validate = true,
                name => exports.push(name["export_".len()..].to_string()),
            }
        }
        Ok(Script {
            file,
            source: source.into(),
            ast,
            map,
            validate,
            exports,
        })
    }

    /// Calls hook `name` under the time limit.
    pub(crate) fn call(
        &self,
        engine: &Engine,
        clock: &Clock,
        scope: &mut Scope<'static>,
        name: &str,
        args: impl FuncArgs,
    ) -> Result<Dynamic, Failure> {
        let mut options = CallFnOptions::new();
        options.eval_ast = false;
        options.rewind_scope = true;
        clock.start();
        engine
            .call_fn_with_options::<Dynamic>(options, scope, &self.ast, name, args)
            .map_err(|e| self.failure(name, *e))
    }

    /// Where `fn <hook>` starts in the source.
    fn definition(&self, hook: &str) -> Option<Span> {
        let offset = self.source.find(&format!("fn {hook}"))?;
        Some(Span::of_offset(&self.source, offset))
    }

    /// Sorts a Rhai error into a row problem or a pack bug, with `file:line:col`.
    fn failure(&self, hook: &str, err: EvalAltResult) -> Failure {
        let inner = err.unwrap_inner();
        let position = inner.position();
        let place = match Span::of_rhai(position) {
            Some(s) => format!("{}:{}:{}", self.file, s.line, s.column),
            None => self.file.clone(),
        };
        let limit = match inner {
            EvalAltResult::ErrorTooManyOperations(..) => Some(format!(
                "hook `{hook}` ran more than {MAX_OPERATIONS} operations (an endless loop?)"
            )),
            EvalAltResult::ErrorTerminated(token, ..) if token.to_string() == TIMED_OUT => {
                Some(format!(
                    "hook `{hook}` ran longer than {} ms (an endless loop?)",
                    TIME_LIMIT.as_millis()
                ))
            }
            EvalAltResult::ErrorStackOverflow(..) => Some(format!(
                "hook `{hook}` called functions too deeply (runaway recursion?)"
            )),
            EvalAltResult::ErrorDataTooLarge(what, ..) => {
                Some(format!("hook `{hook}` built a value too large: {what}"))
            }
            EvalAltResult::ErrorTerminated(..)
            | EvalAltResult::ErrorTooManyVariables(..)
            | EvalAltResult::ErrorTooManyModules(..) => {
                Some(format!("hook `{hook}` was stopped: {inner}"))
            }
            _ => None,
        };
        if let Some(message) = limit {
            // Rhai gives limit errors inside loops no position: point at the hook instead.
            let span = Span::of_rhai(position).or_else(|| self.definition(hook));
            return Failure::Pack(pack_error(&self.file, &self.source, span, &message));
        }
        let what = match inner {
            EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
            // Rhai appends " (line L, position C)"; the place is given as file:line:col instead.
            other => {
                let text = other.to_string();
                match text.rfind(" (line ") {
                    Some(end) => text[..end].to_string(),
                    None => text,
                }
            }
        };
        Failure::Row(format!("{what} (in `{hook}` at {place})"))
    }
}
