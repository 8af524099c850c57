//! Phase Gradient Heuristic Integration (PGHI): a phase estimate from the STFT magnitude alone
//! (Prusa, Balazs and Sondergaard, "A Noniterative Method for Reconstruction of Phase from STFT
//! Magnitude", IEEE/ACM TASLP 2017).
//!
//! For a Gaussian window `g(s) = exp(-pi s^2 / gamma)` the STFT phase gradient follows from the
//! gradient of the log-magnitude `L = ln |V|` (time `t` in samples, frequency `nu` in cycles per
//! sample, phase relative to the window centre):
//!
//! - `dphi/dt  = 2 pi nu + (1 / gamma) dL/dnu`   (instantaneous frequency)
//! - `dphi/dnu = -gamma dL/dt`                   (local group delay)
//!
//! A Hann window of length `n` is treated as a Gaussian with `gamma = 0.25645 n^2` (the paper's
//! value). The gradients are taken by centred differences, and the phase is integrated outward
//! from the largest coefficients first (a max-heap), trapezoid rule between neighbours, so the
//! integration follows the ridges where the estimate is reliable. Coefficients below
//! `tolerance * max` get a seeded random phase. The result is converted to this crate's phase
//! convention (relative to the frame's first sample: `+ pi k`).

use std::collections::BinaryHeap;

use crate::rng::SplitMix64;

use crate::stft::{Spectrogram, StftConfig};

/// `gamma / n^2` for a Hann window (Prusa et al. 2017, table I).
pub const HANN_GAMMA_RATIO: f64 = 0.25645;

/// Relative magnitude below which coefficients are left to a random phase.
pub const DEFAULT_TOLERANCE: f32 = 1e-5;

/// Phase in radians for each coefficient of `mag` (frame-major, like the magnitudes).
pub fn pghi_phase(mag: &Spectrogram, cfg: StftConfig, tolerance: f32, seed: u64) -> Vec<f32> {
    let (frames, bins) = (mag.frames, mag.bins);
    let n = cfg.n_fft as f64;
    let a = cfg.hop as f64;
    let gamma = HANN_GAMMA_RATIO * n * n;
    let max = mag.data.iter().cloned().fold(0.0f32, f32::max);
    let mut phase = vec![0.0f32; frames * bins];
    let mut rng = SplitMix64::new(seed);
    if max <= 0.0 || frames == 0 {
        phase
            .iter_mut()
            .for_each(|p| *p = rng.next_signed() * std::f32::consts::PI);
        return phase;
    }
    // Log-magnitude, clipped a little below the tolerance so the differences stay finite.
    let floor = ((tolerance as f64) * (max as f64) * 1e-1).ln();
    let logs: Vec<f64> = mag
        .data
        .iter()
        .map(|&m| (m as f64).ln().max(floor))
        .collect();
    let idx = |t: usize, k: usize| t * bins + k;

    // Phase derivatives, in radians per sample (time) and radians per cycle/sample (frequency).
    let mut dt = vec![0.0f64; frames * bins];
    let mut dnu = vec![0.0f64; frames * bins];
    for t in 0..frames {
        for k in 0..bins {
            // dL/dnu by centred difference over bins (bin spacing 1/n cycles per sample).
            let (k0, k1) = (k.saturating_sub(1), (k + 1).min(bins - 1));
            let dl_dnu = if k1 > k0 {
                (logs[idx(t, k1)] - logs[idx(t, k0)]) / ((k1 - k0) as f64 / n)
            } else {
                0.0
            };
            dt[idx(t, k)] = 2.0 * std::f64::consts::PI * k as f64 / n + dl_dnu / gamma;
            // dL/dt by centred difference over frames (frame spacing a samples).
            let (t0, t1) = (t.saturating_sub(1), (t + 1).min(frames - 1));
            let dl_dt = if t1 > t0 {
                (logs[idx(t1, k)] - logs[idx(t0, k)]) / ((t1 - t0) as f64 * a)
            } else {
                0.0
            };
            dnu[idx(t, k)] = -gamma * dl_dt;
        }
    }

    // Heap integration. Magnitudes are non-negative, so their f32 bit patterns order like the
    // values themselves.
    let thresh = tolerance * max;
    let mut done = vec![false; frames * bins];
    // Descending by magnitude: sort (!bits, index) packed in a u64.
    let mut order: Vec<u64> = (0..frames * bins)
        .filter(|&i| mag.data[i] > thresh)
        .map(|i| ((!mag.data[i].to_bits() as u64) << 32) | i as u64)
        .collect();
    order.sort_unstable();
    for i in 0..frames * bins {
        if mag.data[i] <= thresh {
            done[i] = true;
            phase[i] = rng.next_signed() * std::f32::consts::PI;
        }
    }
    let mut heap: BinaryHeap<u64> = BinaryHeap::with_capacity(frames * bins);
    let mut phase64 = vec![0.0f64; frames * bins];
    let key = |i: usize| ((mag.data[i].to_bits() as u64) << 32) | i as u64;
    for &packed in &order {
        let start = (packed & 0xFFFF_FFFF) as usize;
        if done[start] {
            continue;
        }
        // A new island: its strongest coefficient gets phase 0.
        done[start] = true;
        phase64[start] = 0.0;
        heap.push(key(start));
        while let Some(top) = heap.pop() {
            let i = (top & 0xFFFF_FFFF) as usize;
            let (t, k) = (i / bins, i % bins);
            // Time neighbours: integrate the instantaneous frequency over one hop.
            for (tn, dir) in [(t.wrapping_sub(1), -1.0), (t + 1, 1.0)] {
                if tn < frames {
                    let j = idx(tn, k);
                    if !done[j] {
                        phase64[j] = phase64[i] + dir * a * 0.5 * (dt[i] + dt[j]);
                        done[j] = true;
                        heap.push(key(j));
                    }
                }
            }
            // Frequency neighbours: integrate the group delay over one bin.
            for (kn, dir) in [(k.wrapping_sub(1), -1.0), (k + 1, 1.0)] {
                if kn < bins {
                    let j = idx(t, kn);
                    if !done[j] {
                        phase64[j] = phase64[i] + dir * (1.0 / n) * 0.5 * (dnu[i] + dnu[j]);
                        done[j] = true;
                        heap.push(key(j));
                    }
                }
            }
        }
    }
    for i in 0..frames * bins {
        if mag.data[i] > thresh {
            // Window-centre phase to frame-start phase: X_frame = (-1)^k X_centre.
            let k = i % bins;
            let p = phase64[i] + std::f64::consts::PI * k as f64;
            phase[i] = p.rem_euclid(2.0 * std::f64::consts::PI) as f32;
        }
    }
    phase
}
