//! Which fault a vendor API request meets: decided by the request's number, so a rehearsal
//! or a test is the same every time for the same order of requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode};

use super::config::{Faults, RateLimitHeader};

/// What happens to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fate {
    /// Answered 429 with this header.
    Throttled(HeaderName, HeaderValue),
    /// Answered with this 5xx, nothing stored.
    Failed(StatusCode),
    /// Processed; when `dropped`, the connection is then closed without an answer.
    Served { dropped: bool },
}

/// Counts the vendor API requests and deals out their fates.
pub(super) struct Injector {
    faults: Faults,
    requests: AtomicU64,
}

impl Injector {
    /// An injector of `faults`.
    pub(super) fn new(faults: Faults) -> Injector {
        Injector {
            faults,
            requests: AtomicU64::new(0),
        }
    }

    /// The vendor API requests seen so far.
    pub(super) fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// The wait before answering.
    pub(super) fn latency(&self) -> Duration {
        Duration::from_millis(self.faults.latency)
    }

    /// Whether this e-mail's domain is refused.
    pub(super) fn rejects_email(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        self.faults
            .reject_email_domain
            .iter()
            .any(|refused| refused.eq_ignore_ascii_case(domain))
    }

    /// Whether Field Squared `RequestId`s are ignored.
    pub(super) fn forgets_request_ids(&self) -> bool {
        self.faults.forget_request_ids
    }

    /// Counts a request and tells its fate.
    pub(super) fn next(&self) -> Fate {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let hits = |every: Option<u64>| every.is_some_and(|every| every > 0 && n % every == 0);
        if hits(self.faults.throttle_every) {
            let (name, value) = self.rate_limit_header();
            Fate::Throttled(name, value)
        } else if hits(self.faults.fail_every) {
            Fate::Failed(
                StatusCode::from_u16(self.faults.fail_status)
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            )
        } else {
            Fate::Served {
                dropped: hits(self.faults.drop_every),
            }
        }
    }

    fn rate_limit_header(&self) -> (HeaderName, HeaderValue) {
        let secs = self.faults.retry_after;
        let (name, value) = match self.faults.retry_after_format {
            RateLimitHeader::Seconds => ("retry-after", secs.to_string()),
            RateLimitHeader::Date => {
                // An HTTP date has whole seconds: one more keeps the wait at least `secs`.
                let at = chrono::Utc::now() + chrono::Duration::seconds(secs as i64 + 1);
                (
                    "retry-after",
                    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
                )
            }
            RateLimitHeader::Reset => ("x-rate-limit-reset", secs.to_string()),
        };
        (
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("digits and an HTTP date are header text"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_follow_the_request_number() {
        let injector = Injector::new(Faults {
            throttle_every: Some(2),
            fail_every: Some(3),
            drop_every: Some(5),
            fail_status: 502,
            retry_after: 7,
            ..Faults::default()
        });
        let fates: Vec<Fate> = (0..6).map(|_| injector.next()).collect();
        assert_eq!(fates[0], Fate::Served { dropped: false });
        assert!(
            matches!(&fates[1], Fate::Throttled(name, value) if name == "retry-after" && value == "7")
        );
        assert_eq!(fates[2], Fate::Failed(StatusCode::BAD_GATEWAY));
        assert_eq!(fates[4], Fate::Served { dropped: true });
        // 6 is a multiple of 2 and 3: throttling comes first.
        assert!(matches!(fates[5], Fate::Throttled(..)));
        assert_eq!(injector.requests(), 6);
    }

    #[test]
    fn e_mail_domains_are_refused_whatever_their_case() {
        let injector = Injector::new(Faults {
            reject_email_domain: vec!["blocked.example".into()],
            ..Faults::default()
        });
        assert!(injector.rejects_email("ada@Blocked.Example"));
        assert!(!injector.rejects_email("ada@ok.example"));
        assert!(!injector.rejects_email("no-at-sign"));
    }
}
