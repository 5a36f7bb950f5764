//! Retry delays: exponential with a cap and proportional jitter.

/// The retry policy, read from settings (`jobs.retry.*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub base_delay_ms: i64,
    pub max_delay_ms: i64,
    /// 0.0 to 1.0: the delay is spread by up to this fraction either way.
    pub jitter: f64,
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1`, after `attempt` failed attempts
    /// (1-based). `unit` is a uniform random number in [0, 1).
    pub fn delay_ms(&self, attempt: i64, unit: f64) -> i64 {
        let exp = (attempt.max(1) - 1).min(40) as u32;
        let raw = self.base_delay_ms.max(0).saturating_mul(2i64.saturating_pow(exp));
        let capped = raw.min(self.max_delay_ms.max(0)) as f64;
        let jitter = self.jitter.clamp(0.0, 1.0);
        let spread = capped * jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        (capped + spread).max(0.0).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let p = RetryPolicy {
            base_delay_ms: 100,
            max_delay_ms: 1000,
            jitter: 0.0,
        };
        let d: Vec<i64> = (1..=6).map(|a| p.delay_ms(a, 0.5)).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.delay_ms(1000, 0.5), 1000);
    }

    #[test]
    fn jitter_stays_in_band() {
        let p = RetryPolicy {
            base_delay_ms: 1000,
            max_delay_ms: 60_000,
            jitter: 0.2,
        };
        assert_eq!(p.delay_ms(1, 0.0), 800);
        assert_eq!(p.delay_ms(1, 0.5), 1000);
        assert!(p.delay_ms(1, 0.999) <= 1200);
    }
}
