//! The run loop of a push: this thread owns the journal, the senders own the network.
//!
//! Before a batch leaves it is made again from the plan and marked `in_flight` in the
//! journal (committed, so a crash afterwards knows it may have arrived). When senders report
//! answers, each is settled in one transaction with everything it decides: the batch's new
//! status, each user's result, the state following the vendor, and the passwords wiped. A
//! batch the vendor refused because of users it names is sent again at once without them.
//! eSystems batches of one location go one at a time, in order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc;
use std::sync::Mutex;

use rayon::prelude::*;
use rusqlite::Connection;

use super::form::Form;
use super::outgoing::{Maker, Outgoing};
use super::send::{Delivery, Done, Job, Sender};
use super::verdict::{verdict, Sent, Verdict};
use crate::error::Result;
use crate::model::vendor::{Status, Vendor};
use crate::store::follow;
use crate::store::plans::{self, FingerprintedChange};
use crate::store::push_journal::{self, BatchStatus, JournalBatch, Push, Removal};
use crate::store::vendor_results::{self, VendorResult};
use crate::store::Workspace;
use crate::vendor::results::Outcome;

/// What one run sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Ran {
    /// Requests sent.
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Why the vendor refused the credentials, if it did: the run stopped.
    pub refused: Option<String>,
}

/// One run over a push's batches.
pub(super) struct Run<'a> {
    /// The push.
    pub push: &'a Push,
    /// The vendor.
    pub vendor: Vendor,
    /// The base URL.
    pub endpoint: &'a str,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// Makes each batch again.
    pub maker: &'a Maker<'a>,
    /// Sends them.
    pub sender: &'a Sender<'a>,
}

/// A batch in flight: what was sent, to read the answer by.
struct Flying {
    keys: Vec<String>,
    creates: Vec<bool>,
    sources: Vec<Option<String>>,
    /// The plan's changes of the batch's users, by place.
    changes: HashMap<i64, FingerprintedChange>,
}

impl Run<'_> {
    /// Sends every batch not acknowledged yet, updating `batches` and the journal as it goes.
    pub(super) fn run(
        &self,
        workspace: &mut Workspace,
        batches: &mut [JournalBatch],
    ) -> Result<Ran> {
        let mut queue: VecDeque<usize> = (0..batches.len())
            .filter(|&i| batches[i].status != BatchStatus::Acknowledged)
            .collect();
        let mut flying: HashMap<usize, Flying> = HashMap::new();
        let mut ran = Ran::default();
        let (jobs, job_queue) = mpsc::channel::<Job>();
        let job_queue = Mutex::new(job_queue);
        let (answers, answered) = mpsc::channel::<Done>();
        std::thread::scope(|scope| {
            for _ in 0..self.concurrency {
                let answers = answers.clone();
                let job_queue = &job_queue;
                scope.spawn(move || loop {
                    let job = job_queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(job) = job else { break };
                    if answers.send(self.sender.deliver(job)).is_err() {
                        break;
                    }
                });
            }
            let result = (|| -> Result<()> {
                let mut answered_now: Vec<Done> = Vec::new();
                loop {
                    // One transaction settles the answers in and marks the next batches in
                    // flight: a commit per round, not per batch.
                    let tx = workspace.write()?;
                    for done in answered_now.drain(..) {
                        let sent = flying
                            .remove(&done.index)
                            .expect("answers are for batches in flight");
                        let batch = &mut batches[done.index];
                        if self.settle(&tx, batch, sent, done, &mut ran)? {
                            queue.push_front(batch.seq);
                        }
                        self.sender
                            .progress
                            .inc(u64::from(batch.status != BatchStatus::Pending));
                    }
                    let mut leaving = Vec::new();
                    if ran.refused.is_none() {
                        let room = self.window().saturating_sub(flying.len());
                        let picked = self.pick(&mut queue, batches, &flying, room);
                        for (index, outgoing) in self.make(&tx, batches, picked)? {
                            let batch = &mut batches[index];
                            leaving.push(self.prepare(&tx, batch, outgoing, &mut flying)?);
                        }
                    }
                    tx.commit()?;
                    for job in leaving {
                        jobs.send(job).expect("the senders wait for jobs");
                    }
                    if flying.is_empty() {
                        return Ok(());
                    }
                    // Answers are settled when the senders' queue runs low (or all are in):
                    // a batch answered but not yet settled when the process dies is merely
                    // sent again, in its safe form.
                    loop {
                        answered_now.push(answered.recv().expect("a sender answers each job"));
                        answered_now.extend(answered.try_iter());
                        let waiting = flying.len() - answered_now.len();
                        if waiting <= self.concurrency {
                            break;
                        }
                    }
                }
            })();
            drop(jobs);
            result
        })?;
        Ok(ran)
    }

    /// Batches marked in flight at most: the senders' own, and as many made and waiting, so
    /// one commit marks several and settles several.
    fn window(&self) -> usize {
        self.concurrency * 2
    }

    /// The next batches to send, at most `room`: in order, and for eSystems never two of one
    /// location at once.
    fn pick(
        &self,
        queue: &mut VecDeque<usize>,
        batches: &[JournalBatch],
        flying: &HashMap<usize, Flying>,
        room: usize,
    ) -> Vec<usize> {
        let one_per_path = self.vendor == Vendor::ESystems;
        let mut busy: HashSet<&str> = flying.keys().map(|&i| batches[i].path.as_str()).collect();
        let mut picked = Vec::new();
        let mut kept = VecDeque::with_capacity(queue.len());
        while let Some(index) = queue.pop_front() {
            let path = batches[index].path.as_str();
            if picked.len() < room && !(one_per_path && busy.contains(path)) {
                busy.insert(path);
                picked.push(index);
            } else {
                kept.push_back(index);
                if picked.len() == room {
                    kept.extend(queue.drain(..));
                }
            }
        }
        *queue = kept;
        picked
    }

    /// Makes the picked batches again: each is read from the plan here, and their bodies are
    /// made on the worker threads at once. A batch with nothing left to send is acknowledged
    /// (in the caller's transaction) and not returned.
    fn make(
        &self,
        conn: &Connection,
        batches: &mut [JournalBatch],
        picked: Vec<usize>,
    ) -> Result<Vec<(usize, Outgoing)>> {
        let mut unmade = Vec::with_capacity(picked.len());
        for index in picked {
            let batch = &mut batches[index];
            let left = batch.keys.iter().any(|k| !batch.removed.contains_key(k));
            if !left && batch.deleted.is_empty() {
                batch.status = BatchStatus::Acknowledged;
                push_journal::update(conn, self.push, batch)?;
            } else {
                unmade.push((index, self.maker.read(conn, batch)?));
            }
        }
        unmade
            .into_par_iter()
            .map(|(index, unmade)| Ok((index, self.maker.make(unmade)?)))
            .collect()
    }

    /// Marks a batch made again in flight (in the caller's transaction) and gives its job.
    fn prepare(
        &self,
        conn: &Connection,
        batch: &mut JournalBatch,
        outgoing: Outgoing,
        flying: &mut HashMap<usize, Flying>,
    ) -> Result<Job> {
        // A batch still in flight from an earlier run may have reached the vendor.
        if batch.status == BatchStatus::InFlight {
            batch.maybe_delivered = true;
        }
        batch.status = BatchStatus::InFlight;
        push_journal::update(conn, self.push, batch)?;
        let form = Form {
            vendor: self.vendor,
            plan_id: self.push.plan_id,
            seq: batch.seq,
            revision: batch.revision,
        };
        flying.insert(
            batch.seq,
            Flying {
                keys: outgoing.batch.keys,
                creates: outgoing.creates,
                sources: outgoing.sources,
                changes: outgoing.changes,
            },
        );
        Ok(Job {
            index: batch.seq,
            method: batch.method.clone(),
            url: format!("{}{}", self.endpoint, batch.path),
            body: form.first(outgoing.batch.body),
            form,
            maybe_delivered: batch.maybe_delivered,
        })
    }

    /// Records what a sender's report decides, in the caller's transaction; whether the batch
    /// must be sent again at once (it was cut down).
    fn settle(
        &self,
        conn: &Connection,
        batch: &mut JournalBatch,
        sent: Flying,
        done: Done,
        ran: &mut Ran,
    ) -> Result<bool> {
        batch.attempts += done.requests;
        batch.maybe_delivered |= done.maybe_delivered;
        ran.requests += u64::from(done.requests);
        ran.retries += u64::from(done.retries);
        let mut again = false;
        match done.delivery {
            Delivery::Refused(message) => {
                // A refusal of the credentials is no delivery: the batch waits for the next push.
                batch.status = BatchStatus::Pending;
                ran.refused = Some(message);
            }
            Delivery::GaveUp(message) => self.fail(conn, batch, &sent, message)?,
            Delivery::Answered(reply) => {
                let read = Sent {
                    keys: &sent.keys,
                    creates: &sent.creates,
                    maybe_delivered: batch.maybe_delivered,
                };
                match verdict(self.vendor, reply.status, &reply.body, &read) {
                    Verdict::Settled(outcomes) => {
                        let outcomes: Vec<Outcome> = outcomes
                            .into_iter()
                            .filter(|o| !batch.removed.contains_key(&sent.keys[o.index]))
                            .collect();
                        let deleted = batch.deleted.clone();
                        self.record(conn, batch, &sent, &outcomes, deleted)?;
                        batch.status = BatchStatus::Acknowledged;
                        batch.message = None;
                    }
                    Verdict::Failed(message) => self.fail(conn, batch, &sent, message)?,
                    Verdict::Cut {
                        rejected,
                        delivered,
                    } => {
                        let mut stuck = None;
                        for outcome in &rejected {
                            let key = &sent.keys[outcome.index];
                            if !self.maker.can_leave_out(conn, batch, key)? {
                                stuck.get_or_insert(key.clone());
                            }
                        }
                        if let Some(key) = stuck {
                            let message = format!(
                                "the vendor refused user `{key}`, which this request must list (eSystems `DeleteNotExists` would delete it otherwise); fix it in the platform and push again"
                            );
                            self.fail(conn, batch, &sent, message)?;
                            self.record(conn, batch, &sent, &rejected, Vec::new())?;
                        } else {
                            for (outcomes, removal) in [
                                (&rejected, Removal::Rejected),
                                (&delivered, Removal::Delivered),
                            ] {
                                for outcome in outcomes.iter() {
                                    batch
                                        .removed
                                        .insert(sent.keys[outcome.index].clone(), removal);
                                }
                            }
                            let named: Vec<Outcome> =
                                rejected.into_iter().chain(delivered).collect();
                            self.record(conn, batch, &sent, &named, Vec::new())?;
                            batch.revision += 1;
                            batch.status = BatchStatus::Pending;
                            again = true;
                        }
                    }
                }
            }
        }
        push_journal::update(conn, self.push, batch)?;
        Ok(again)
    }

    /// The batch could not be delivered: its users not yet settled are `failed` (and not
    /// held by the state), and the next push sends it again.
    fn fail(
        &self,
        conn: &Connection,
        batch: &mut JournalBatch,
        sent: &Flying,
        message: String,
    ) -> Result<()> {
        let outcomes: Vec<Outcome> = (0..sent.keys.len())
            .filter(|&i| !batch.removed.contains_key(&sent.keys[i]))
            .map(|index| Outcome {
                index,
                status: Status::Failed,
                path: None,
                message: message.clone(),
                conflict: false,
            })
            .collect();
        self.record(conn, batch, sent, &outcomes, Vec::new())?;
        batch.status = BatchStatus::Failed;
        batch.message = Some(message);
        Ok(())
    }

    /// Records users' results and makes the state follow them; `deleted` are users a
    /// `DeleteNotExists` request deleted. The passwords of users settled for good go.
    fn record(
        &self,
        conn: &Connection,
        batch: &JournalBatch,
        sent: &Flying,
        outcomes: &[Outcome],
        deleted: Vec<String>,
    ) -> Result<()> {
        let results: Vec<VendorResult> = outcomes
            .iter()
            .map(|o| VendorResult {
                batch_file: batch.file.clone(),
                key: sent.keys[o.index].clone(),
                source: sent.sources[o.index].clone(),
                status: o.status,
                path: o.path.clone(),
                message: o.message.clone(),
            })
            .collect();
        vendor_results::record(conn, self.push.plan_id, self.vendor, &results)?;
        let seqs = self.maker.seqs;
        let verdicts = results
            .iter()
            .map(|r| {
                (
                    r.key.as_str(),
                    matches!(r.status, Status::Accepted | Status::Warning),
                )
            })
            .chain(deleted.iter().map(|k| (k.as_str(), true)))
            .filter_map(|(key, loaded)| Some((sent.changes.get(seqs.get(key)?)?, loaded)));
        let plan = self.maker.plan;
        follow::follow_changes(
            conn,
            &plan.tenant,
            self.push.apply_id,
            self.vendor.name(),
            verdicts,
        )?;
        let settled = results
            .iter()
            .filter(|r| r.status != Status::Failed)
            .map(|r| r.key.as_str())
            .chain(deleted.iter().map(String::as_str));
        plans::wipe_secrets_of(conn, plan.id, settled)
    }
}
