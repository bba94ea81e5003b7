//! The hardened Rhai engine: one builder for the pack loader, the evaluators and the tests.
//!
//! Scripts are untrusted in the sense that a typo can loop forever or build a gigabyte string
//! on row 900,000. So: no modules (the `no_module` feature), no clock (`no_time`: a hook
//! gives the same user for the same row, which lets a plan skip rows it has seen), no `eval`,
//! strict variables, caps on operations, call depth, expression depth and data sizes, and a
//! wall-clock limit checked through `on_progress`. Each evaluator has its own engine: a shared one would
//! serialise the worker threads on its string interner.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine};

use super::helpers;
use super::lookup::RefTables;

/// Operations one hook call may run (a normal `map` hook uses a few hundred).
pub(super) const MAX_OPERATIONS: u64 = 1_000_000;
/// Nested function calls (runaway recursion stops here).
pub(super) const MAX_CALL_LEVELS: usize = 48;
/// Expression nesting at the top level and inside functions.
pub(super) const MAX_EXPR_DEPTHS: (usize, usize) = (64, 48);
/// Bytes in one string.
pub(super) const MAX_STRING_SIZE: usize = 64 * 1024;
/// Items in one array.
pub(super) const MAX_ARRAY_SIZE: usize = 10_000;
/// Properties in one map.
pub(super) const MAX_MAP_SIZE: usize = 10_000;
/// Wall-clock time one hook call may take.
pub(super) const TIME_LIMIT: Duration = Duration::from_millis(250);

/// The value a hook is terminated with when it runs out of time.
pub(super) const TIMED_OUT: &str = "time limit";

/// Starts the wall-clock limit of each hook call.
#[derive(Clone)]
pub(crate) struct Clock {
    base: Instant,
    deadline_nanos: Arc<AtomicU64>,
}

impl Clock {
    /// Arms the time limit for the hook call about to start.
    pub(crate) fn start(&self) {
        let deadline = self.base.elapsed() + TIME_LIMIT;
        self.deadline_nanos
            .store(deadline.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// A sandboxed engine with the helpers registered, and the clock that bounds its calls.
pub(super) fn build(refs: Arc<RefTables>) -> (Engine, Clock) {
    let mut engine = Engine::new();
    engine
        .disable_symbol("eval")
        .set_strict_variables(true)
        // Interning costs more than it saves on per-row data that rarely repeats (10% of a
        // map hook's time went to the interner cache).
        .set_max_strings_interned(0)
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTHS.0, MAX_EXPR_DEPTHS.1)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        // A script's print is a log line: stderr, and only on a terminal (docs/architecture.md), so that
        // nothing a script prints about a user ends up in a file or a CI log.
        .on_print(|text| {
            if std::io::stderr().is_terminal() {
                eprintln!("{text}")
            }
        })
        .on_debug(|text, source, position| {
            if std::io::stderr().is_terminal() {
                eprintln!("{}:{position:?}: {text}", source.unwrap_or("script"))
            }
        });
    let clock = Clock {
        base: Instant::now(),
        deadline_nanos: Arc::new(AtomicU64::new(u64::MAX)),
    };
    let (base, deadline) = (clock.base, clock.deadline_nanos.clone());
    engine.on_progress(move |operations| {
        // Reading the clock every operation would cost more than the script itself.
        if operations % 1024 == 0
            && base.elapsed().as_nanos() as u64 > deadline.load(Ordering::Relaxed)
        {
            Some(Dynamic::from(TIMED_OUT))
        } else {
            None
        }
    });
    engine.register_global_module(helpers::module(refs).into());
    (engine, clock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::EvalAltResult;

    fn run(script: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        let (engine, clock) = build(Arc::new(RefTables::empty()));
        clock.start();
        engine.eval::<Dynamic>(script)
    }

    #[test]
    fn eval_is_disabled() {
        let (engine, _) = build(Arc::new(RefTables::empty()));
        assert!(engine.compile(r#"eval("1 + 1")"#).is_err());
    }

    /// Hooks must give the same user for the same row (a plan skips rows it has seen): no
    /// clock to read.
    #[test]
    fn there_is_no_clock() {
        let err = run("timestamp()").unwrap_err();
        assert!(
            matches!(*err, EvalAltResult::ErrorFunctionNotFound(..)),
            "{err}"
        );
    }

    #[test]
    fn variables_must_be_defined() {
        let (engine, _) = build(Arc::new(RefTables::empty()));
        let err = engine.compile("fn map(row) { rwo }").unwrap_err();
        assert!(err.to_string().contains("rwo"), "{err}");
    }

    #[test]
    fn an_endless_loop_is_stopped_within_a_second() {
        let started = Instant::now();
        let err = run("let x = 0; loop { x += 1; }").unwrap_err();
        assert!(
            matches!(
                *err,
                EvalAltResult::ErrorTerminated(..) | EvalAltResult::ErrorTooManyOperations(..)
            ),
            "{err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_wall_clock_limit_stops_slow_work_below_the_operation_cap() {
        // Each loop sorts a copy of 10,000 shuffled numbers: a few operations, a millisecond
        // of work; the whole loop would take minutes and stays far below the operation cap.
        let started = Instant::now();
        let err = run(r#"
            let a = [];
            for i in 0..10000 { a.push((i * 7919) % 10007); }
            for i in 0..100000 { let b = a; b.sort(); }
        "#)
        .unwrap_err();
        assert!(matches!(*err, EvalAltResult::ErrorTerminated(..)), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn runaway_recursion_overflows_cleanly() {
        let err = run("fn f(n) { f(n + 1) } f(0)").unwrap_err();
        assert!(
            matches!(err.unwrap_inner(), EvalAltResult::ErrorStackOverflow(..)),
            "{err}"
        );
    }

    #[test]
    fn huge_strings_are_refused() {
        let err = run(r#"let s = "x"; loop { s += s; }"#).unwrap_err();
        assert!(
            matches!(*err, EvalAltResult::ErrorDataTooLarge(..)),
            "{err}"
        );
    }
}
