//! Latency statistics for the benchmark table: nearest-rank percentiles over
//! samples in milliseconds.

/// A latency distribution in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub samples: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// The nearest-rank percentile `p` (0–100) of samples sorted ascending: the
/// smallest sample such that at least `p`% of all samples are at or below it.
/// `None` for no samples.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// p50, p99 and max of unsorted samples; `None` for no samples.
pub fn summarize(mut ms: Vec<f64>) -> Option<Summary> {
    ms.sort_by(f64::total_cmp);
    Some(Summary {
        samples: ms.len(),
        p50: percentile(&ms, 50.0)?,
        p99: percentile(&ms, 99.0)?,
        max: *ms.last()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_one_to_hundred() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
    }

    #[test]
    fn nearest_rank_on_small_sets() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 50.0), Some(7.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        // Four samples: p50 is the 2nd, p99 the 4th.
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.0));
        assert_eq!(percentile(&v, 99.0), Some(4.0));
        // 200 samples (the default latency run): p99 is the 198th.
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&v, 99.0), Some(198.0));
        assert_eq!(percentile(&v, 50.0), Some(100.0));
    }

    #[test]
    fn summarize_sorts_first() {
        let s = summarize(vec![9.0, 1.0, 5.0, 3.0, 7.0]).unwrap();
        assert_eq!(
            s,
            Summary {
                samples: 5,
                p50: 5.0,
                p99: 9.0,
                max: 9.0
            }
        );
        assert_eq!(summarize(Vec::new()), None);
    }

    #[test]
    fn out_of_range_percentiles_are_clamped() {
        let v = [1.0, 2.0, 3.0];
        assert_eq!(percentile(&v, -5.0), Some(1.0));
        assert_eq!(percentile(&v, 250.0), Some(3.0));
    }
}
