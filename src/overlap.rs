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
    running: VecDeque<ScopedJoinHandle<'scope, Result<T>>>,
}

impl<'scope, 'env, T: Send + 'scope> Overlap<'scope, 'env, T> {
    /// One job at a time beside the caller.
    pub fn new(scope: &'scope Scope<'scope, 'env>) -> Self {
        Overlap::with_depth(scope, 1)
    }

    /// Up to `depth` jobs at a time beside the caller (at least one).
    pub fn with_depth(scope: &'scope Scope<'scope, 'env>, depth: usize) -> Self {
        Overlap {
            scope,
            depth: depth.max(1),
            running: VecDeque::new(),
        }
    }

    /// Starts `next` (when given) and, once `depth` jobs run, returns the result of the
    /// oldest: jobs end in the order they were handed over. Without `next`, returns the
    /// oldest result if any job is left. A job's panic is passed on.
    pub fn hand_over(
        &mut self,
        next: Option<impl FnOnce() -> Result<T> + Send + 'scope>,
    ) -> Result<Option<T>> {
        if let Some(job) = next {
            self.running.push_back(self.scope.spawn(job));
            if self.running.len() <= self.depth {
                return Ok(None);
            }
        }
        match self.running.pop_front() {
            Some(done) => done
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .map(Some),
            None => Ok(None),
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
    fn a_failed_job_fails_its_hand_over() {
        std::thread::scope(|scope| {
            let mut overlap = Overlap::new(scope);
            let failing = || Err::<i32, _>(crate::error::Error::Usage("no".into()));
            overlap.hand_over(Some(failing)).unwrap();
            assert!(overlap.hand_over(None::<fn() -> Result<i32>>).is_err());
        });
    }
}
