//! Two stages of a pipeline that overlap: while the caller works on one result (in order, on
//! its own thread), the job that makes the next one runs on a helper thread.

use std::thread::{Scope, ScopedJoinHandle};

use crate::error::Result;

/// At most one job running beside the caller, within a [`std::thread::scope`].
pub struct Overlap<'scope, 'env, T> {
    scope: &'scope Scope<'scope, 'env>,
    running: Option<ScopedJoinHandle<'scope, Result<T>>>,
}

impl<'scope, 'env, T: Send + 'scope> Overlap<'scope, 'env, T> {
    /// No job running yet.
    pub fn new(scope: &'scope Scope<'scope, 'env>) -> Self {
        Overlap {
            scope,
            running: None,
        }
    }

    /// Starts `next` (when given) and returns the result of the job started before it, if
    /// any: jobs end in the order they were handed over. A job's panic is passed on.
    pub fn hand_over(
        &mut self,
        next: Option<impl FnOnce() -> Result<T> + Send + 'scope>,
    ) -> Result<Option<T>> {
        let started = next.map(|job| self.scope.spawn(job));
        match std::mem::replace(&mut self.running, started) {
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
    fn a_failed_job_fails_its_hand_over() {
        std::thread::scope(|scope| {
            let mut overlap = Overlap::new(scope);
            let failing = || Err::<i32, _>(crate::error::Error::Usage("no".into()));
            overlap.hand_over(Some(failing)).unwrap();
            assert!(overlap.hand_over(None::<fn() -> Result<i32>>).is_err());
        });
    }
}
