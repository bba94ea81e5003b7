//! When to send a batch again, and how long to wait first: 408, 429 and the 5xx a gateway or
//! an overloaded service answers are retried, as are timeouts and dropped connections; other
//! 4xx are the vendor's verdict. Waits grow exponentially with jitter, and are never shorter
//! than the server asked (`Retry-After` in seconds or as an HTTP date, `X-Rate-Limit-Reset`).

use std::time::{Duration, SystemTime};

/// How retries are spaced.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries per batch after its first send.
    pub max_retries: u32,
    /// The wait before the first retry, doubled for each one after.
    pub base: Duration,
    /// The longest wait the doubling reaches.
    pub cap: Duration,
    /// The longest wait a server may ask for: a batch asked to wait longer is left for the
    /// next push.
    pub longest_asked: Duration,
}

impl RetryPolicy {
    /// The policy with `max_retries` retries per batch.
    pub fn new(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
            longest_asked: Duration::from_secs(15 * 60),
        }
    }

    /// The wait before retry `retry` (1 for the first): half the exponential step plus a
    /// random share (`jitter` in [0, 1)) of the other half, and never less than `asked`.
    pub fn wait(&self, retry: u32, asked: Option<Duration>, jitter: f64) -> Duration {
        let doublings = retry.saturating_sub(1).min(20);
        let step = self.base.saturating_mul(1 << doublings).min(self.cap);
        let ours = step / 2 + step.mul_f64(jitter.clamp(0.0, 1.0) / 2.0);
        ours.max(asked.unwrap_or_default())
    }
}

/// Whether an answer with this status is worth sending again.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a request answered with this retryable status may still have been carried out: a
/// 500 or a gateway's 502 and 504 say nothing about what the service behind did, while 408,
/// 429 and 503 turn the request away.
pub fn may_have_been_done(status: u16) -> bool {
    !matches!(status, 408 | 429 | 503)
}

/// The wait a server asks for: `Retry-After` as seconds or an HTTP date, else
/// `X-Rate-Limit-Reset` as seconds (or, when it is that large, a Unix time).
pub fn server_wait(
    retry_after: Option<&str>,
    rate_limit_reset: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    let until = |at: SystemTime| at.duration_since(now).unwrap_or_default();
    if let Some(value) = retry_after.map(str::trim) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(date) = chrono::DateTime::parse_from_rfc2822(value) {
            return Some(until(SystemTime::from(date)));
        }
    }
    let seconds: f64 = rate_limit_reset?.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // A reset counted in seconds is under a year; a Unix time is past 2001.
    if seconds > 1e9 {
        Some(until(
            SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds),
        ))
    } else {
        Some(Duration::from_secs_f64(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_and_never_undercut_the_server() {
        let policy = RetryPolicy::new(5);
        assert_eq!(policy.wait(1, None, 0.0), Duration::from_millis(125));
        assert_eq!(policy.wait(1, None, 1.0), Duration::from_millis(250));
        assert_eq!(policy.wait(3, None, 0.0), Duration::from_millis(500));
        assert_eq!(policy.wait(30, None, 1.0), Duration::from_secs(30));
        let asked = Some(Duration::from_secs(2));
        assert_eq!(policy.wait(1, asked, 1.0), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date_and_the_reset_header_as_either() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(
            server_wait(Some("3"), None, now),
            Some(Duration::from_secs(3))
        );
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
        assert_eq!(
            server_wait(Some("Sun, 06 Nov 1994 08:49:37 GMT"), None, now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            server_wait(None, Some("4"), now),
            Some(Duration::from_secs(4))
        );
        // A reset that large is a Unix time.
        let later = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_wait(None, Some("1700000002"), later),
            Some(Duration::from_secs(2))
        );
        assert_eq!(server_wait(Some("soon"), None, now), None);
        assert_eq!(server_wait(None, None, now), None);
    }

    #[test]
    fn only_throttling_timeouts_and_server_errors_are_retried() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!is_retryable(status), "{status}");
        }
        assert!(!may_have_been_done(429));
        assert!(may_have_been_done(504));
    }
}
