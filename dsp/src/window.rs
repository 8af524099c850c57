//! Analysis/synthesis windows.

/// Periodic Hann window of length `n` (as `scipy.signal.get_window('hann', n)` and librosa):
/// `w[j] = 0.5 - 0.5 cos(2 pi j / n)`, so that overlap-added squares are flat at hop n/4.
pub fn hann_periodic(n: usize) -> Vec<f32> {
    (0..n)
        .map(|j| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * j as f64 / n as f64).cos()) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_matches_definition_and_sums() {
        let w = hann_periodic(8);
        // Known values of the periodic Hann window of length 8.
        let expected = [
            0.0,
            0.146_446_6,
            0.5,
            0.853_553_4,
            1.0,
            0.853_553_4,
            0.5,
            0.146_446_6,
        ];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // Periodic Hann sums to n/2 exactly.
        let w = hann_periodic(1024);
        let s: f64 = w.iter().map(|&x| x as f64).sum();
        assert!((s - 512.0).abs() < 1e-3);
    }
}
