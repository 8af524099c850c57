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

/// Phase in radians for each coefficient of `mag` (frame-major, like the magnitudes), in
/// `[0, 2 pi]`.
pub fn pghi_phase(mag: &Spectrogram, cfg: StftConfig, tolerance: f32, seed: u64) -> Vec<f32> {
    let (frames, bins) = (mag.frames, mag.bins);
    let n = cfg.n_fft as f64;
    let a = cfg.hop as f64;
    let max = mag.data.iter().cloned().fold(0.0f32, f32::max);
    let mut phase = vec![0.0f32; frames * bins];
    let mut rng = SplitMix64::new(seed);
    if max <= 0.0 || frames == 0 {
        phase
            .iter_mut()
            .for_each(|p| *p = rng.next_signed() * std::f32::consts::PI);
        return phase;
    }
    let thresh = tolerance * max;
    let mut nodes = coefficients(mag, cfg, tolerance, max);
    for (node, p) in nodes.iter().zip(phase.iter_mut()) {
        if node.done {
            *p = rng.next_signed() * std::f32::consts::PI;
        }
    }

    // Heap integration. Magnitudes are non-negative, so their f32 bit patterns order like the
    // values themselves; with the index in the low bits every key is distinct, so the order of
    // integration is fully determined (ties go to the lower index).
    let key = |i: usize, node: &Node| ((node.bits as u64) << 32) | i as u64;
    let mut heap: BinaryHeap<u64> = BinaryHeap::with_capacity(frames * bins);
    let mut integrate_island = |start: usize, nodes: &mut [Node]| {
        // A new island: its strongest coefficient gets phase 0.
        nodes[start].done = true;
        nodes[start].phase = 0.0;
        heap.push(key(start, &nodes[start]));
        while let Some(top) = heap.pop() {
            let i = (top & 0xFFFF_FFFF) as usize;
            let (t, k) = (i / bins, i % bins);
            let here = nodes[i];
            // Time neighbours: integrate the instantaneous frequency over one hop; frequency
            // neighbours: integrate the group delay over one bin.
            let neighbours = [
                (t > 0, i.wrapping_sub(bins), -a, 0),
                (t + 1 < frames, i + bins, a, 0),
                (k > 0, i.wrapping_sub(1), -1.0 / n, 1),
                (k + 1 < bins, i + 1, 1.0 / n, 1),
            ];
            for (inside, j, step, d) in neighbours {
                if inside && !nodes[j].done {
                    let there = &mut nodes[j];
                    there.phase = here.phase + step * 0.5 * (here.grad[d] + there.grad[d]);
                    there.done = true;
                    heap.push(key(j, there));
                }
            }
        }
    };
    // Islands start from the strongest coefficient not yet reached. The first is the largest
    // of all and usually reaches most of the plane, so only what it leaves is sorted.
    let descending = |i: usize| ((!nodes[i].bits as u64) << 32) | i as u64;
    let first = (0..frames * bins)
        .filter(|&i| !nodes[i].done)
        .min_by_key(|&i| descending(i));
    if let Some(first) = first {
        integrate_island(first, &mut nodes);
    }
    let mut rest: Vec<u64> = (0..frames * bins)
        .filter(|&i| !nodes[i].done)
        .map(|i| ((!nodes[i].bits as u64) << 32) | i as u64)
        .collect();
    rest.sort_unstable();
    for packed in rest {
        let start = (packed & 0xFFFF_FFFF) as usize;
        if !nodes[start].done {
            integrate_island(start, &mut nodes);
        }
    }
    // Window-centre phase to frame-start phase: X_frame = (-1)^k X_centre.
    use rayon::prelude::*;
    let tau = 2.0 * std::f64::consts::PI;
    phase
        .par_chunks_mut(bins)
        .zip(nodes.par_chunks(bins))
        .zip(mag.data.par_chunks(bins))
        .for_each(|((out, nodes), m)| {
            for (k, ((o, node), &m)) in out.iter_mut().zip(nodes).zip(m).enumerate() {
                if m > thresh {
                    let p = node.phase + std::f64::consts::PI * k as f64;
                    *o = (p - (p / tau).floor() * tau) as f32;
                }
            }
        });
    phase
}

/// One STFT coefficient during the integration (the fields the integration reads of a
/// neighbour share a cache line).
#[derive(Clone, Copy)]
struct Node {
    /// `[dphi/dt` in radians per sample, `dphi/dnu` in radians per cycle/sample`]`.
    grad: [f64; 2],
    /// Phase relative to the window centre (radians), once `done`.
    phase: f64,
    /// The magnitude's f32 bit pattern (orders like the magnitude).
    bits: u32,
    /// Phase assigned (or left to chance: below the tolerance).
    done: bool,
}

/// Every coefficient with its phase derivatives from the log-magnitude's gradient. The
/// log-magnitude is clipped at a tenth of `tolerance * max` (the smallest magnitude
/// integrated) so that the differences stay finite; coefficients at or below `tolerance * max`
/// start `done`.
fn coefficients(mag: &Spectrogram, cfg: StftConfig, tolerance: f32, max: f32) -> Vec<Node> {
    use rayon::prelude::*;
    let (frames, bins) = (mag.frames, mag.bins);
    let n = cfg.n_fft as f64;
    let a = cfg.hop as f64;
    let gamma = HANN_GAMMA_RATIO * n * n;
    let thresh = tolerance * max;
    let floor = ((tolerance as f64) * (max as f64) * 1e-1).ln();
    let mut logs = vec![0.0f64; frames * bins];
    logs.par_chunks_mut(bins)
        .zip(mag.data.par_chunks(bins))
        .for_each(|(l, m)| {
            for (l, &m) in l.iter_mut().zip(m) {
                *l = (m as f64).ln().max(floor);
            }
        });
    let logs = &logs;
    let mut nodes = vec![
        Node {
            grad: [0.0; 2],
            phase: 0.0,
            bits: 0,
            done: false
        };
        frames * bins
    ];
    nodes
        .par_chunks_mut(bins)
        .zip(mag.data.par_chunks(bins))
        .enumerate()
        .for_each(|(t, (row, m))| {
            let (t0, t1) = (t.saturating_sub(1), (t + 1).min(frames - 1));
            for (k, (node, &m)) in row.iter_mut().zip(m).enumerate() {
                // dL/dnu by centred difference over bins (bin spacing 1/n cycles per sample).
                let (k0, k1) = (k.saturating_sub(1), (k + 1).min(bins - 1));
                let dl_dnu = if k1 > k0 {
                    (logs[t * bins + k1] - logs[t * bins + k0]) / ((k1 - k0) as f64 / n)
                } else {
                    0.0
                };
                // dL/dt by centred difference over frames (frame spacing a samples).
                let dl_dt = if t1 > t0 {
                    (logs[t1 * bins + k] - logs[t0 * bins + k]) / ((t1 - t0) as f64 * a)
                } else {
                    0.0
                };
                node.grad = [
                    2.0 * std::f64::consts::PI * k as f64 / n + dl_dnu / gamma,
                    -gamma * dl_dt,
                ];
                node.bits = m.to_bits();
                node.done = m <= thresh;
            }
        });
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ComplexSpec, StftPlan};

    /// Largest error of PGHI's phase differences against the STFT's own, between the
    /// coefficient pairs `pairs` (indices into the frame-major coefficients).
    fn worst_difference_error(
        x: &[f32],
        pairs: impl Fn(usize, usize) -> Vec<(usize, usize)>,
    ) -> f32 {
        let cfg = StftConfig::default();
        let mut spec = ComplexSpec::zeros(0, 0);
        StftPlan::new(cfg).unwrap().forward(x, &mut spec).unwrap();
        let mag = spec.magnitude();
        let phase = pghi_phase(&mag, cfg, DEFAULT_TOLERANCE, 0);
        let wrap = |d: f32| {
            (d + std::f32::consts::PI).rem_euclid(2.0 * std::f32::consts::PI) - std::f32::consts::PI
        };
        pairs(mag.frames, mag.bins)
            .into_iter()
            .map(|(i, j)| {
                wrap(phase[j] - phase[i] - (spec.data[j].arg() - spec.data[i].arg())).abs()
            })
            .fold(0.0, f32::max)
    }

    /// On a steady tone between two bins, the phase PGHI integrates from the magnitude
    /// advances from frame to frame as the STFT's own phase does (the instantaneous
    /// frequency's integral over a hop).
    #[test]
    fn a_tone_gets_the_phase_advance_of_its_stft() {
        let (sr, f) = (22050.0f32, 1000.3f32);
        let x: Vec<f32> = (0..22050)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / sr).sin())
            .collect();
        let peak = (f / sr * 1024.0).round() as usize;
        let worst = worst_difference_error(&x, |frames, bins| {
            (10..frames - 10)
                .map(|t| (t * bins + peak, (t + 1) * bins + peak))
                .collect()
        });
        assert!(worst < 0.05, "largest phase-advance error {worst} rad");
    }

    /// On a click between two frame centres, the phase differences between neighbouring bins
    /// (the group delay's integral over a bin) are the STFT's own.
    #[test]
    fn a_click_gets_the_phase_slope_of_its_stft() {
        let mut x = vec![0.0f32; 22050];
        x[5000] = 1.0;
        let worst = worst_difference_error(&x, |_, bins| {
            // Frame 20 is centred at sample 5120: the click is 120 samples before its centre,
            // a slope of 0.74 rad per bin (PGHI treats the Hann window as a Gaussian, which
            // leaves about 0.1 rad of it).
            (20..400)
                .map(|k| (20 * bins + k, 20 * bins + k + 1))
                .collect()
        });
        assert!(worst < 0.15, "largest bin-to-bin phase error {worst} rad");
    }
}
