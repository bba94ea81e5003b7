//! Sending one batch until the vendor gives a final answer: retries with backoff and jitter
//! on throttling, server errors, timeouts and dropped connections, a fresh eSystems token
//! once on a 401, and the safe form for every send after one that may have arrived. Runs on
//! a sender thread; the journal is the main thread's.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::auth::{AuthFailure, Authorizer};
use super::client::{Client, Reply};
use super::form::Form;
use super::retry::{self, RetryPolicy};
use crate::progress::Progress;

/// One batch to send.
pub(super) struct Job {
    /// Its index in the push's batches.
    pub index: usize,
    /// The HTTP method.
    pub method: String,
    /// The whole URL.
    pub url: String,
    /// The body, in its first form.
    pub body: Vec<u8>,
    /// How to make the body safe to send again.
    pub form: Form,
    /// Whether an earlier send may have reached the vendor.
    pub maybe_delivered: bool,
}

/// How sending a batch ended.
pub(super) enum Delivery {
    /// The vendor's final answer (not one worth retrying, nor a refusal of the credentials).
    Answered(Reply),
    /// Retries used up, or a wait asked for that is too long: the next push sends it again.
    GaveUp(String),
    /// The vendor refused the credentials: nothing more can be sent.
    Refused(String),
}

/// A sent batch.
pub(super) struct Done {
    /// Its index in the push's batches.
    pub index: usize,
    /// How it ended.
    pub delivery: Delivery,
    /// Requests sent for it.
    pub requests: u32,
    /// Of which retries.
    pub retries: u32,
    /// Whether a send may have reached the vendor without its answer.
    pub maybe_delivered: bool,
}

/// What the senders share.
pub(super) struct Sender<'a> {
    /// The connection pool.
    pub client: &'a Client,
    /// The credentials.
    pub auth: &'a Authorizer,
    /// The retry policy.
    pub policy: RetryPolicy,
    /// Where retries and waits are shown.
    pub progress: &'a Progress,
    /// No sender sends before this: a throttled answer holds them all.
    pub pause: Mutex<Instant>,
}

impl Sender<'_> {
    /// Sends a batch until its final answer.
    pub(super) fn deliver(&self, job: Job) -> Done {
        let mut done = Done {
            index: job.index,
            delivery: Delivery::GaveUp(String::new()),
            requests: 0,
            retries: 0,
            maybe_delivered: job.maybe_delivered,
        };
        let mut body = if job.maybe_delivered {
            job.form.again(job.body)
        } else {
            job.body
        };
        let mut renewed = false;
        let mut jitter = ChaCha8Rng::seed_from_u64(seed(job.index));
        loop {
            self.wait_for_pause();
            let (failure, asked) = match self.auth.header(self.client) {
                Err(AuthFailure::Refused(message)) => {
                    return done.ended(Delivery::Refused(message))
                }
                Err(AuthFailure::Unavailable(message)) => (message, None),
                Ok((name, value)) => {
                    done.requests += 1;
                    let headers = [(name, value.as_str()), ("accept", "application/json")];
                    match self.client.send(
                        &job.method,
                        &job.url,
                        &headers,
                        "application/json",
                        &body,
                    ) {
                        Ok(reply) if reply.status == 401 && !renewed && self.auth.renew(&value) => {
                            renewed = true;
                            continue;
                        }
                        Ok(reply) if matches!(reply.status, 401 | 403) => {
                            let refusal = format!("the vendor answered {}", reply.status);
                            return done.ended(Delivery::Refused(refusal));
                        }
                        Ok(reply) if retry::is_retryable(reply.status) => {
                            if retry::may_have_been_done(reply.status) && !done.maybe_delivered {
                                done.maybe_delivered = true;
                                body = job.form.again(body);
                            }
                            (
                                format!("the vendor answered {}", reply.status),
                                reply.asked_wait,
                            )
                        }
                        Ok(reply) => return done.ended(Delivery::Answered(reply)),
                        Err(transport) => {
                            if !done.maybe_delivered {
                                done.maybe_delivered = true;
                                body = job.form.again(body);
                            }
                            (transport, None)
                        }
                    }
                }
            };
            if done.retries >= self.policy.max_retries {
                let tries = done.retries + 1;
                return done.ended(Delivery::GaveUp(format!("{failure} ({tries} tries)")));
            }
            if let Some(asked) = asked.filter(|a| *a > self.policy.longest_asked) {
                return done.ended(Delivery::GaveUp(format!(
                    "{failure}, asking to wait {} s",
                    asked.as_secs()
                )));
            }
            done.retries += 1;
            let wait = self
                .policy
                .wait(done.retries, asked, jitter.random::<f64>());
            if asked.is_some() {
                self.hold_all(wait);
            }
            self.progress.status(&format!(
                "{failure}; retrying in {:.1} s{}",
                wait.as_secs_f64(),
                if asked.is_some() { " as asked" } else { "" }
            ));
            std::thread::sleep(wait);
        }
    }

    /// Waits while a throttled answer holds every sender.
    fn wait_for_pause(&self) {
        let until = *self.pause.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if until > now {
            std::thread::sleep(until - now);
        }
    }

    /// Holds every sender for `wait`.
    fn hold_all(&self, wait: Duration) {
        let mut until = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        *until = (*until).max(Instant::now() + wait);
    }
}

impl Done {
    fn ended(mut self, delivery: Delivery) -> Done {
        self.delivery = delivery;
        self
    }
}

/// A jitter seed that differs between batches and runs.
fn seed(index: usize) -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::getrandom(&mut bytes);
    u64::from_le_bytes(bytes) ^ index as u64
}
