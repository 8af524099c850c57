//! A look-ahead peak limiter: brings every sample under a ceiling with a smooth gain, leaving
//! the rest of the signal at its level (unlike peak normalisation, which lowers the whole clip
//! by its loudest peak).
//!
//! Offline (the whole signal is known), in three steps on the required gain
//! `g[n] = min(1, ceiling / |x[n]|)`:
//!
//! 1. **hold**: `a[n] = min g[k]` over `|k - n| <= L` (`L` = look-ahead samples);
//! 2. **release**: `r[n] = min(a[n], 1 - (1 - r[n-1]) e^(-1 / (release * rate)))`, so the gain
//!    drops at once (`L` samples early, thanks to the hold) and recovers exponentially;
//! 3. **smooth**: `s[n]` = mean of `r[k]` over `|k - n| <= L`: the gain ramps down over the
//!    `2L` samples before a peak, reaching its lowest `L` samples before it.
//!
//! Every `r[k]` averaged for `s[n]` is at most `a[k] <= g[n]`, so `|s[n] x[n]| <= ceiling`
//! holds exactly (up to rounding): no sample passes the ceiling, and the gain never jumps. A
//! cyclic signal (a loop that repeats) is limited as a cycle, so each repeat and the seam
//! between repeats are identical.

/// Limiter settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limiter {
    /// Ceiling, linear full scale (1.0 = 0 dBFS).
    pub ceiling: f32,
    /// How far ahead the gain starts to fall before a peak, in seconds. Default 1.5 ms.
    pub lookahead_seconds: f32,
    /// Time constant of the gain's recovery after a peak, in seconds. Default 60 ms.
    pub release_seconds: f32,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            ceiling: 10f32.powf(-1.0 / 20.0),
            lookahead_seconds: 0.0015,
            release_seconds: 0.06,
        }
    }
}

impl Limiter {
    /// Limit `x` (at `sample_rate` Hz) in place; `cyclic` treats `x` as one cycle of a loop.
    pub fn apply(&self, x: &mut [f32], sample_rate: u32, cyclic: bool) {
        let n = x.len();
        if n == 0 || x.iter().all(|v| v.abs() <= self.ceiling) {
            return;
        }
        let rate = sample_rate as f32;
        let l = ((self.lookahead_seconds * rate).round() as usize).max(1);
        let alpha = (-1.0 / (self.release_seconds * rate).max(1e-6)).exp();
        // Context on either side so the release and the windows see across the ends: the
        // signal's own other end when cyclic, silence (gain 1) otherwise.
        let tail = ((8.0 * self.release_seconds * rate) as usize).max(1);
        let pad = if cyclic { 2 * l + tail } else { 2 * l };
        let need = |v: f32| (self.ceiling / v.abs().max(1e-30)).min(1.0);
        let g: Vec<f32> = (0..n + 2 * pad)
            .map(|i| {
                let k = i as isize - pad as isize;
                if cyclic {
                    need(x[k.rem_euclid(n as isize) as usize])
                } else if (0..n as isize).contains(&k) {
                    need(x[k as usize])
                } else {
                    1.0
                }
            })
            .collect();
        let a = sliding_min(&g, l);
        let mut r = a;
        let mut prev = 1.0f32;
        for v in r.iter_mut() {
            prev = lesser(*v, 1.0 - (1.0 - prev) * alpha);
            *v = prev;
        }
        // Box mean over |k - n| <= l, from prefix sums (f64: no drift over long signals).
        let mut prefix = vec![0.0f64; r.len() + 1];
        let mut acc = 0.0f64;
        for (p, &v) in prefix[1..].iter_mut().zip(&r) {
            acc += v as f64;
            *p = acc;
        }
        let w = (2 * l + 1) as f64;
        for (j, v) in x.iter_mut().enumerate() {
            // Output j is r[pad + j]; pad >= 2l keeps its window inside r.
            let i = pad + j;
            let mean = (prefix[i + l + 1] - prefix[i - l]) / w;
            *v *= (mean as f32).min(1.0);
        }
    }
}

/// `out[i]` = min of `v[k]` over `|k - i| <= l` (clipped to the slice), in linear time: van
/// Herk / Gil-Werman, the minimum of a block-wise suffix minimum and prefix minimum over
/// blocks of the window's length.
fn sliding_min(v: &[f32], l: usize) -> Vec<f32> {
    let n = v.len();
    let w = 2 * l + 1;
    // Padded with +inf on both sides: index j of `p` is v[j - l].
    let mut p = vec![f32::INFINITY; n + 2 * l];
    p[l..l + n].copy_from_slice(v);
    let mut pre = p.clone();
    let mut suf = p.clone();
    for block in pre.chunks_mut(w) {
        for j in 1..block.len() {
            block[j] = lesser(block[j], block[j - 1]);
        }
    }
    for block in suf.chunks_mut(w) {
        for j in (0..block.len().saturating_sub(1)).rev() {
            block[j] = lesser(block[j], block[j + 1]);
        }
    }
    // The window of out[i] is p[i ..= i + 2l]: a suffix of one block and a prefix of the next
    // (or the whole of one block).
    (0..n).map(|i| lesser(suf[i], pre[i + 2 * l])).collect()
}

/// The smaller of two numbers that are not NaN (a plain comparison, cheaper than `f32::min`).
#[inline]
fn lesser(a: f32, b: f32) -> f32 {
    if b < a {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_min(v: &[f32], l: usize) -> Vec<f32> {
        (0..v.len())
            .map(|i| {
                v[i.saturating_sub(l)..=(i + l).min(v.len() - 1)]
                    .iter()
                    .copied()
                    .fold(f32::INFINITY, f32::min)
            })
            .collect()
    }

    #[test]
    fn sliding_min_matches_a_naive_scan() {
        let mut rng = crate::rng::SplitMix64::new(3);
        let v: Vec<f32> = (0..500).map(|_| rng.next_signed()).collect();
        for l in [0, 1, 3, 40, 700] {
            assert_eq!(sliding_min(&v, l), naive_min(&v, l), "l = {l}");
        }
    }

    /// A 1 kHz tone at 0.3 with two loud clicks: nothing passes the ceiling, the tone far from
    /// the clicks keeps its level, and the gain is smooth (no step bigger than the smoothing
    /// window allows).
    #[test]
    fn peaks_go_under_the_ceiling_and_the_rest_keeps_its_level() {
        let rate = 22050;
        let mut x: Vec<f32> = (0..rate)
            .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin())
            .collect();
        x[5000] = 2.0;
        x[6000] = -4.0;
        let orig = x.clone();
        let lim = Limiter::default();
        lim.apply(&mut x, rate as u32, false);
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak <= lim.ceiling * 1.0001, "peak {peak}");
        assert!(
            peak >= lim.ceiling * 0.999,
            "the clicks are held at the ceiling: {peak}"
        );
        // Before the look-ahead of the first click the tone is untouched; 0.5 s after the
        // last one (8 release time constants) it is back within 0.1%.
        for i in 0..4930 {
            assert_eq!(x[i], orig[i], "sample {i}");
        }
        for i in 17000..22050 {
            assert!(
                (x[i] - orig[i]).abs() < 1e-3 * 0.3,
                "sample {i} not recovered"
            );
        }
        // Between the clicks the gain is down (released only partly) and never jumps.
        let g = |i: usize| x[i] / orig[i];
        let mid: Vec<f32> = (5010..5990)
            .filter(|&i| orig[i].abs() > 0.1)
            .map(g)
            .collect();
        assert!(mid.iter().all(|&v| v < 0.95), "gain between the clicks");
        // The gain is a mean over 2L + 1 samples of values in [0, 1]: from one sample to the
        // next it moves by at most 1 / (2L + 1).
        let l = (lim.lookahead_seconds * rate as f32).round();
        for i in 1..rate - 1 {
            if orig[i].abs() > 0.1 && orig[i + 1].abs() > 0.1 && ![5000, 6000].contains(&i) {
                let step = (g(i + 1) - g(i)).abs();
                assert!(
                    step <= 1.0 / (2.0 * l + 1.0) + 1e-4,
                    "gain step {step} at {i}"
                );
            }
        }
        // Just before a click the gain has already started to fall (look-ahead).
        let before = (4980..5000)
            .filter(|&i| orig[i].abs() > 0.1)
            .map(g)
            .fold(1.0, f32::min);
        assert!(before < 0.9, "gain before the click {before}");
    }

    #[test]
    fn a_signal_under_the_ceiling_is_unchanged() {
        let mut x = vec![0.5, -0.8, 0.1];
        Limiter::default().apply(&mut x, 22050, true);
        assert_eq!(x, vec![0.5, -0.8, 0.1]);
    }

    /// A cycle limited cyclically tiles into the same signal as limiting the tiled loop: the
    /// seam sees the peak on the other side of it.
    #[test]
    fn a_cycle_is_limited_as_a_loop() {
        let rate = 22050u32;
        let n = 4000;
        let mut cycle: Vec<f32> = (0..n).map(|i| 0.2 * ((i as f32) * 0.05).sin()).collect();
        cycle[2] = 3.0; // right after the seam
        let mut tiled: Vec<f32> = cycle.iter().copied().cycle().take(5 * n).collect();
        let lim = Limiter::default();
        lim.apply(&mut cycle, rate, true);
        lim.apply(&mut tiled, rate, false);
        // The middle repeat of the tiled loop is far from the tiled signal's ends.
        for i in 0..n {
            assert!(
                (cycle[i] - tiled[2 * n + i]).abs() < 1e-5,
                "sample {i}: {} vs {}",
                cycle[i],
                tiled[2 * n + i]
            );
        }
        // The end of the cycle, just before the seam, is already turned down for the peak.
        assert!((cycle[n - 1] / (0.2 * ((n - 1) as f32 * 0.05).sin())) < 0.95);
    }
}
