//! Two stages of a pipeline that overlap: while the caller works on one result (in order, on
//! its own thread), the jobs that make the next ones run on helper threads.

use std::collections::VecDeque;
use std::thread::{Scope, ScopedJoinHandle};

use crate::error::Result;

/// Jobs running beside the caller, within a [`std::thread::scope`].
pub struct Overlap<'scope, 'env, T> {
    scope: &'scope Scope<'scope, 'env>,
    /// How many jobs may run while the caller works.
    depth: usize,
    /// How much the jobs running may weigh together (see [`Overlap::with_budget`]).
    budget: usize,
    /// What the jobs running weigh together.
    weight: usize,
    running: VecDeque<(ScopedJoinHandle<'scope, Result<T>>, usize)>,
}

impl<'scope, 'env, T: Send + 'scope> Overlap<'scope, 'env, T> {
    /// One job at a time beside the caller.
    pub fn new(scope: &'scope Scope<'scope, 'env>) -> Self {
        Overlap::with_depth(scope, 1)
    }

    /// Up to `depth` jobs at a time beside the caller (at least one).
    pub fn with_depth(scope: &'scope Scope<'scope, 'env>, depth: usize) -> Self {
        Overlap::with_budget(scope, depth, usize::MAX)
    }

    /// Up to `depth` jobs at a time beside the caller, and only while their weights (see
    /// [`Overlap::start`]) add up to at most `budget`: light jobs run far ahead, heavy ones
    /// (whose results take memory) a few. The newest job always runs.
    pub fn with_budget(scope: &'scope Scope<'scope, 'env>, depth: usize, budget: usize) -> Self {
        Overlap {
            scope,
            depth: depth.max(1),
            budget,
            weight: 0,
            running: VecDeque::new(),
        }
    }

    /// Starts `job`, which weighs `weight` against the budget.
    pub fn start(&mut self, job: impl FnOnce() -> Result<T> + Send + 'scope, weight: usize) {
        self.running.push_back((self.scope.spawn(job), weight));
        self.weight += weight;
    }

    /// The result of the oldest job (waiting for it) while more jobs run than the depth or
    /// the budget allows; else `None`.
    pub fn take_if_over(&mut self) -> Result<Option<T>> {
        let over = self.running.len() > self.depth
            || (self.weight > self.budget && self.running.len() > 1);
        match over {
            true => self.take_oldest(),
            false => Ok(None),
        }
    }

    /// The result of the oldest job, waiting for it; `None` when no job is left. A job's
    /// panic is passed on.
    pub fn take_oldest(&mut self) -> Result<Option<T>> {
        let Some((done, weight)) = self.running.pop_front() else {
            return Ok(None);
        };
        self.weight -= weight;
        done.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .map(Some)
    }

    /// Starts `next` (when given) and, once `depth` jobs run, returns the result of the
    /// oldest: jobs end in the order they were handed over. Without `next`, returns the
    /// oldest result if any job is left. A job's panic is passed on.
    pub fn hand_over(
        &mut self,
        next: Option<impl FnOnce() -> Result<T> + Send + 'scope>,
    ) -> Result<Option<T>> {
        match next {
            Some(job) => {
                self.start(job, 0);
                self.take_if_over()
            }
            None => self.take_oldest(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_one_hand_over_late() {
        std::thread::scope(|scope| {
            let mut overlap = Overlap::new(scope);
            let mut seen = Vec::new();
            for n in 1..=3 {
                seen.push(overlap.hand_over(Some(move || Ok(n * 10))).unwrap());
            }
            seen.push(overlap.hand_over(None::<fn() -> Result<i32>>).unwrap());
            seen.push(overlap.hand_over(None::<fn() -> Result<i32>>).unwrap());
            assert_eq!(seen, vec![None, Some(10), Some(20), Some(30), None]);
        });
    }

    #[test]
    fn two_deep_results_come_back_in_order_two_hand_overs_late() {
        std::thread::scope(|scope| {
            let mut overlap = Overlap::with_depth(scope, 2);
            let mut seen = Vec::new();
            for n in 1..=3 {
                seen.push(overlap.hand_over(Some(move || Ok(n * 10))).unwrap());
            }
            for _ in 0..3 {
                seen.push(overlap.hand_over(None::<fn() -> Result<i32>>).unwrap());
            }
            assert_eq!(seen, vec![None, None, Some(10), Some(20), Some(30), None]);
        });
    }

    #[test]
    fn light_jobs_run_ahead_and_heavy_ones_only_within_the_budget() {
        std::thread::scope(|scope| {
            let mut overlap = Overlap::with_budget(scope, 4, 10);
            let mut taken = Vec::new();
            for (n, weight) in [(1, 1), (2, 1), (3, 1), (4, 8), (5, 8), (6, 20)] {
                overlap.start(move || Ok(n), weight);
                while let Some(done) = overlap.take_if_over().unwrap() {
                    taken.push((n, done));
                }
            }
            // 4 brings 1–4 to 11, over 10: 1 is taken. 5 brings 2–5 to 18: 2, 3 and 4 are
            // taken, leaving 5 (8). 6 alone passes the budget and still runs, once 5 is
            // taken.
            assert_eq!(taken, vec![(4, 1), (5, 2), (5, 3), (5, 4), (6, 5)]);
            assert_eq!(overlap.take_oldest().unwrap(), Some(6));
            assert_eq!(overlap.take_oldest().unwrap(), None);
        });
    }

    #[test]
    fn a_failed_job_fails_its_hand_over() {
        std::thread::scope(|scope| {
            let mut overlap = Overlap::new(scope);
            let failing = || Err::<i32, _>(crate::error::Error::Usage("no".into()));
            overlap.hand_over(Some(failing)).unwrap();
            assert!(overlap.hand_over(None::<fn() -> Result<i32>>).is_err());
        });
    }
}
