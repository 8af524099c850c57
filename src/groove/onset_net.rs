//! The learned drum-onset detector: a small network that reads the band levels around a frame
//! and gives the probability that a kick, a snare (or clap, rim) and a hi-hat start at it.
//!
//! - **Input** ([`levels`], [`window_into`]): the band levels (dB) of a spectrogram in
//!   [`IN_BANDS`] bands (the 128 mel bands, mean power, of a 1024-point STFT every 256 samples
//!   at 22,050 Hz: see [`super::transcribe::onset_features`]), pairs of adjacent bands
//!   averaged ([`POOL`]), each as `(dB - loudest) / 40 + 1` where `loudest` is the loudest band
//!   level of the whole signal, floored at 80 dB under it (so levels run from -1 to 1 and do
//!   not depend on the mix level). A frame's input is its levels and those of [`CONTEXT`]
//!   frames either side (edges repeated): `(2 CONTEXT + 1) x IN_BANDS / POOL` = 576 values.
//! - **Network** ([`specs`]): Dense 576 -> 64, LeakyReLU(0.01), Dense 64 -> 64, LeakyReLU,
//!   Dense 64 -> 3: the logits of a kick, snare and hat onset at the centre frame.
//! - **Training** ([`targets`], [`bce_with_logits`]): the target of a part is 1 at the frame
//!   nearest each of its true onsets and 0.5 at that frame's two neighbours (an onset falls
//!   between frames), 0 elsewhere; the loss is the binary cross-entropy, summed over parts and
//!   averaged over frames. Each song is heard through a random equaliser ([`eq_curve`]) in each
//!   epoch, as other kits and mixes would colour it.
//! - **Onsets** ([`peaks`]): frames where a part's probability is a local maximum of at least
//!   [`THRESHOLD`], the most probable kept first and none closer than the part's gap to a kept
//!   one.
//!
//! Maths on arrays only: the weights are trained and stored by the caller
//! ([`crate::commands::train_onsets`], [`super::transcribe`]).

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

use crate::vae::layer::{Init, LayerSpec, Shape};
use crate::vae::stack::{Stack, StackBuffers};
use crate::vae::{AdamConfig, AdamState};
use dsp::rng::SplitMix64;
use dsp::Spectrogram;

/// Parts the network detects, in output order.
pub const PARTS: usize = 3;
/// Bands of the input spectrogram.
pub const IN_BANDS: usize = 128;
/// Adjacent bands averaged into one input level.
pub const POOL: usize = 2;
/// Levels per frame after pooling.
pub const LEVELS: usize = IN_BANDS / POOL;
/// Frames on either side of the centre frame in a window.
pub const CONTEXT: usize = 4;
/// Input features of one window.
pub const WINDOW: usize = (2 * CONTEXT + 1) * LEVELS;
/// Smallest probability that is an onset. Chosen on held-out songs (see README): F1 moved by
/// at most 0.01 between 0.3 and 0.5.
pub const THRESHOLD: f32 = 0.4;
/// Dynamic range of the input levels (dB under the loudest band level).
const RANGE_DB: f32 = 80.0;
/// Frames the network scores per batch at inference.
const BATCH: usize = 1024;

/// The layers, as declared (PyTorch `nn.Sequential` order: Linear, LeakyReLU, Linear,
/// LeakyReLU, Linear).
pub fn specs() -> Vec<LayerSpec> {
    let relu = LayerSpec::LeakyRelu { slope: 0.01 };
    vec![
        LayerSpec::Dense { out: 64 },
        relu.clone(),
        LayerSpec::Dense { out: 64 },
        relu,
        LayerSpec::Dense { out: PARTS },
    ]
}

/// The network. Parameter names are `onsets.{layer}.weight` and `.bias`.
pub struct OnsetNet {
    pub stack: Stack,
}

impl OnsetNet {
    /// A network with weights from `init` (zeros to load saved ones).
    pub fn new(init: &mut Init) -> Self {
        let stack = Stack::build(&specs(), Shape::flat(WINDOW), init, 1.0)
            .expect("the onset network's layers fit together");
        OnsetNet { stack }
    }

    /// The onset probabilities `[PARTS, frames]` of every frame of `levels` (from [`levels`]).
    pub fn probabilities(&self, levels: &Spectrogram) -> Array2<f32> {
        let mut out = Array2::zeros((PARTS, levels.frames));
        let mut x = Array2::zeros((WINDOW, BATCH));
        let mut buf = self.stack.buffers(BATCH);
        for t0 in (0..levels.frames).step_by(BATCH) {
            let t1 = (t0 + BATCH).min(levels.frames);
            let frames: Vec<usize> = (t0..t1).collect();
            if frames.len() < BATCH {
                x = Array2::zeros((WINDOW, frames.len()));
                buf = self.stack.buffers(frames.len());
            }
            window_into(levels, &frames, &mut x.view_mut());
            self.stack.forward(&x.view(), &mut buf);
            let y = self.stack.output(&buf);
            Zip::from(out.slice_mut(ndarray::s![.., t0..t1]))
                .and(&y)
                .for_each(|p, &l| *p = sigmoid(l));
        }
        out
    }

    /// One training pass over a batch: forward, the loss against `targets` `[PARTS, B]`, and
    /// the parameter gradients left in the layers. Returns the loss.
    pub fn train_step(
        &mut self,
        x: &ArrayView2<f32>,
        targets: &ArrayView2<f32>,
        buf: &mut StackBuffers,
    ) -> f64 {
        self.stack.forward(x, buf);
        let (y, mut dy) = self.stack.output_and_grad(buf);
        let loss = bce_with_logits(&y, targets, &mut dy);
        self.stack.backward(x, buf, None);
        loss
    }
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The network's input levels (frames x [`LEVELS`]) of `band_db` (frames x [`IN_BANDS`], dB).
pub fn levels(band_db: &Spectrogram) -> Spectrogram {
    assert_eq!(
        band_db.bins, IN_BANDS,
        "the onset network reads {IN_BANDS} bands"
    );
    let loudest = band_db
        .data
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let mut out = Spectrogram::zeros(band_db.frames, LEVELS);
    for (o, f) in out
        .data
        .chunks_exact_mut(LEVELS)
        .zip(band_db.data.chunks_exact(IN_BANDS))
    {
        for (o, pair) in o.iter_mut().zip(f.chunks_exact(POOL)) {
            let db = pair.iter().sum::<f32>() / POOL as f32;
            *o = (db - loudest).max(-RANGE_DB) / (RANGE_DB / 2.0) + 1.0;
        }
    }
    out
}

/// Write the windows centred at `frames` of `levels` into the columns of `x` `[WINDOW, B]`:
/// row `k * LEVELS + b` is level `b` of frame `centre - CONTEXT + k` (clamped to the signal).
pub fn window_into(levels: &Spectrogram, frames: &[usize], x: &mut ArrayViewMut2<f32>) {
    assert_eq!(x.dim(), (WINDOW, frames.len()));
    for (col, &t) in frames.iter().enumerate() {
        window_column(levels, t, x, col);
    }
}

/// Column `col` of `x`: the window centred at frame `t` of `levels` (see [`window_into`]).
fn window_column(levels: &Spectrogram, t: usize, x: &mut ArrayViewMut2<f32>, col: usize) {
    let last = levels.frames.saturating_sub(1);
    for k in 0..2 * CONTEXT + 1 {
        let u = (t + k).saturating_sub(CONTEXT).min(last);
        for (b, &v) in levels.frame(u).iter().enumerate() {
            x[[k * LEVELS + b, col]] = v;
        }
    }
}

/// Training settings. Defaults: 10 epochs, batches of 256 frames, Adam with learning rate
/// 1e-3, a random equaliser of up to 12 dB (over three training seeds it raised the hat F1 on
/// drum kits never trained on from 0.65-0.80 to 0.81-0.82, the rest unchanged; see README).
#[derive(Debug, Clone, Copy)]
pub struct OnsetTraining {
    pub epochs: usize,
    pub batch: usize,
    pub adam: AdamConfig,
    /// Largest gain (dB) of the random equaliser each song is heard through in each epoch
    /// (see [`eq_curve`]): other kits and mixes tilt the spectrum other ways. 0 for none.
    pub eq_db: f32,
}

impl Default for OnsetTraining {
    fn default() -> Self {
        OnsetTraining {
            epochs: 10,
            batch: 256,
            adam: AdamConfig::default(),
            eq_db: 12.0,
        }
    }
}

/// A random equaliser over the input levels, in their units (dB / 40): a tilt rising or
/// falling by up to `max_db` dB from the lowest band to the highest, and one bump (a Gaussian
/// 2 to 12 levels wide, anywhere) of up to `max_db` dB either way.
pub fn eq_curve(rng: &mut SplitMix64, max_db: f32) -> [f32; LEVELS] {
    let mut eq = [0.0; LEVELS];
    if max_db <= 0.0 {
        return eq;
    }
    let tilt = max_db * rng.next_signed();
    let bump = max_db * rng.next_signed();
    let centre = rng.next_f64() as f32 * LEVELS as f32;
    let width = 2.0 + 10.0 * rng.next_f64() as f32;
    for (b, e) in eq.iter_mut().enumerate() {
        let x = b as f32 / (LEVELS - 1) as f32 - 0.5;
        let d = (b as f32 - centre) / width;
        *e = (tilt * x + bump * (-0.5 * d * d).exp()) / (RANGE_DB / 2.0);
    }
    eq
}

/// One song for training: its input levels (frames x [`LEVELS`], from [`levels`]) and its
/// targets `[PARTS, frames]` (from [`targets`]).
pub struct TrainingSong {
    pub levels: Spectrogram,
    pub targets: Array2<f32>,
}

/// Train a network from `init` on every frame of `songs`, visited in an order drawn from `rng`
/// each epoch. Calls `progress(epoch, mean loss)` after each epoch.
pub fn train(
    songs: &[TrainingSong],
    cfg: &OnsetTraining,
    rng: &mut SplitMix64,
    mut progress: impl FnMut(usize, f64),
) -> OnsetNet {
    let mut net = OnsetNet::new(&mut Init::Random(rng));
    let mut adam = AdamState::new(&net.stack);
    let mut order: Vec<(usize, usize)> = songs
        .iter()
        .enumerate()
        .flat_map(|(s, song)| (0..song.levels.frames).map(move |t| (s, t)))
        .collect();
    let batch = cfg.batch.max(1);
    let mut x = Array2::zeros((WINDOW, batch));
    let mut y = Array2::zeros((PARTS, batch));
    let mut buf = net.stack.buffers(batch);
    for epoch in 0..cfg.epochs {
        let eqs: Vec<[f32; LEVELS]> = songs.iter().map(|_| eq_curve(rng, cfg.eq_db)).collect();
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for chunk in order.chunks(batch) {
            if chunk.len() != x.ncols() {
                x = Array2::zeros((WINDOW, chunk.len()));
                y = Array2::zeros((PARTS, chunk.len()));
                buf = net.stack.buffers(chunk.len());
            }
            for (col, &(s, t)) in chunk.iter().enumerate() {
                window_column(&songs[s].levels, t, &mut x.view_mut(), col);
                if cfg.eq_db > 0.0 {
                    for (r, v) in x.column_mut(col).iter_mut().enumerate() {
                        *v = (*v + eqs[s][r % LEVELS]).max(-1.0);
                    }
                }
                y.column_mut(col).assign(&songs[s].targets.column(t));
            }
            total += net.train_step(&x.view(), &y.view(), &mut buf) * chunk.len() as f64;
            adam.apply(&mut net.stack, &cfg.adam);
        }
        progress(epoch + 1, total / order.len().max(1) as f64);
    }
    net
}

/// Training targets `[PARTS, frames]`: for each part's onsets (in frames, fractional), 1 at
/// the nearest frame and 0.5 at its neighbours (the larger where targets overlap).
pub fn targets(frames: usize, onsets: &[Vec<f64>; PARTS]) -> Array2<f32> {
    let mut y = Array2::<f32>::zeros((PARTS, frames));
    for (p, on) in onsets.iter().enumerate() {
        for &f in on {
            let c = f.round();
            for (d, v) in [(-1.0, 0.5f32), (0.0, 1.0), (1.0, 0.5)] {
                let t = c + d;
                if t >= 0.0 && (t as usize) < frames {
                    let cell = &mut y[[p, t as usize]];
                    *cell = cell.max(v);
                }
            }
        }
    }
    y
}

/// Binary cross-entropy of `logits` against `targets` (both `[PARTS, B]`), summed over parts
/// and averaged over the batch; its gradient with respect to the logits goes into `dy`.
pub fn bce_with_logits(
    logits: &ArrayView2<f32>,
    targets: &ArrayView2<f32>,
    dy: &mut ArrayViewMut2<f32>,
) -> f64 {
    let b = logits.ncols() as f32;
    let mut total = 0.0f64;
    Zip::from(dy)
        .and(logits)
        .and(targets)
        .for_each(|d, &l, &t| {
            // log(1 + e^l) - t l, computed without overflow.
            total += (l.max(0.0) - t * l + (-l.abs()).exp().ln_1p()) as f64;
            *d = (sigmoid(l) - t) / b;
        });
    total / b as f64
}

/// Frames where `p` is a local maximum (at least its left neighbour, above its right one) of
/// at least `threshold`; the largest kept first, none closer than `gap` frames to a kept one.
/// In time order.
pub fn peaks(p: &[f32], threshold: f32, gap: usize) -> Vec<usize> {
    let n = p.len();
    let mut cand: Vec<usize> = (0..n)
        .filter(|&t| {
            p[t] >= threshold && (t == 0 || p[t] >= p[t - 1]) && (t + 1 == n || p[t] > p[t + 1])
        })
        .collect();
    cand.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for t in cand {
        if kept.iter().all(|&k| k.abs_diff(t) >= gap) {
            kept.push(t);
        }
    }
    kept.sort_unstable();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::layer::check::rand_array;

    #[test]
    fn bce_gradient_matches_finite_differences() {
        let l = rand_array(PARTS, 5, 3) * 3.0;
        let t = Array2::from_shape_fn((PARTS, 5), |(p, b)| [0.0, 0.5, 1.0][(p + b) % 3]);
        let mut dy = Array2::zeros((PARTS, 5));
        bce_with_logits(&l.view(), &t.view(), &mut dy.view_mut());
        let mut scratch = Array2::zeros((PARTS, 5));
        let h = 1e-2f32;
        for i in 0..PARTS {
            for j in 0..5 {
                let mut a = l.clone();
                a[[i, j]] += h;
                let up = bce_with_logits(&a.view(), &t.view(), &mut scratch.view_mut());
                a[[i, j]] -= 2.0 * h;
                let down = bce_with_logits(&a.view(), &t.view(), &mut scratch.view_mut());
                let fd = (up - down) / (2.0 * h as f64);
                assert!(
                    (fd - dy[[i, j]] as f64).abs() < 1e-4,
                    "({i},{j}): {fd} vs {}",
                    dy[[i, j]]
                );
            }
        }
        // The loss itself against its definition -t log s - (1 - t) log(1 - s).
        let naive: f64 = l
            .iter()
            .zip(t.iter())
            .map(|(&l, &t)| {
                let s = 1.0 / (1.0 + (-(l as f64)).exp());
                -(t as f64) * s.ln() - (1.0 - t as f64) * (1.0 - s).ln()
            })
            .sum::<f64>()
            / 5.0;
        let got = bce_with_logits(&l.view(), &t.view(), &mut dy.view_mut());
        assert!((got - naive).abs() < 1e-5, "{got} vs {naive}");
    }

    #[test]
    fn windows_are_centred_and_clamped_at_the_edges() {
        let mut levels = Spectrogram::zeros(6, LEVELS);
        for t in 0..6 {
            levels.frame_mut(t).fill(t as f32);
        }
        let mut x = Array2::zeros((WINDOW, 2));
        window_into(&levels, &[0, 5], &mut x.view_mut());
        let row = |k: usize| k * LEVELS + 7;
        // Frame 0: frames -4..=4 clamped to 0..=4.
        let first: Vec<f32> = (0..9).map(|k| x[[row(k), 0]]).collect();
        assert_eq!(first, vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        let last: Vec<f32> = (0..9).map(|k| x[[row(k), 1]]).collect();
        assert_eq!(last, vec![1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]);
    }

    #[test]
    fn levels_are_relative_to_the_loudest_band_and_floored() {
        let mut db = Spectrogram::zeros(2, IN_BANDS);
        db.data.fill(-200.0);
        db.frame_mut(0)[0] = -10.0;
        db.frame_mut(0)[1] = -30.0;
        db.frame_mut(1)[2] = -50.0;
        db.frame_mut(1)[3] = -50.0;
        let l = levels(&db);
        // (-20 - -10) / 40 + 1 = 0.75; (-50 - -10) / 40 + 1 = 0; the rest floored at -1.
        assert!((l.frame(0)[0] - 0.75).abs() < 1e-6);
        assert!((l.frame(1)[1] - 0.0).abs() < 1e-6);
        assert_eq!(l.frame(0)[5], -1.0);
    }

    #[test]
    fn targets_mark_the_nearest_frame_and_its_neighbours() {
        let y = targets(6, &[vec![2.4], vec![0.0, 5.6], vec![]]);
        assert_eq!(y.row(0).to_vec(), vec![0.0, 0.5, 1.0, 0.5, 0.0, 0.0]);
        // 5.6 rounds to frame 6, past the end: only its neighbour 5 is marked.
        assert_eq!(y.row(1).to_vec(), vec![1.0, 0.5, 0.0, 0.0, 0.0, 0.5]);
        assert_eq!(y.row(2).sum(), 0.0);
    }

    /// Songs of levels with a low (part 0), middle (part 1) or high (part 2) group of levels
    /// jumping up at random frames and decaying: trained for a few epochs, the network finds
    /// every part's onsets at their frames in a song it was not trained on.
    #[test]
    fn training_learns_to_find_onsets_at_their_frames() {
        let mut rng = SplitMix64::new(7);
        let song = |rng: &mut SplitMix64| {
            let frames = 600;
            let mut levels = Spectrogram::zeros(frames, LEVELS);
            levels.data.fill(-0.8);
            let mut onsets: [Vec<f64>; PARTS] = Default::default();
            let mut t = 10;
            while t < frames - 10 {
                let p = rng.below(PARTS);
                onsets[p].push(t as f64);
                let bands = p * LEVELS / PARTS..(p + 1) * LEVELS / PARTS;
                for u in t..frames {
                    let v = 0.6 - 0.15 * (u - t) as f32;
                    for b in bands.clone() {
                        let l = &mut levels.frame_mut(u)[b];
                        *l = l.max(v);
                    }
                }
                t += 8 + rng.below(12);
            }
            let song = TrainingSong {
                targets: targets(frames, &onsets),
                levels,
            };
            (song, onsets)
        };
        let mut songs: Vec<(TrainingSong, [Vec<f64>; PARTS])> =
            (0..4).map(|_| song(&mut rng)).collect();
        let (test, truth) = songs.pop().unwrap();
        let train_set: Vec<TrainingSong> = songs.into_iter().map(|(s, _)| s).collect();
        let cfg = OnsetTraining {
            epochs: 8,
            ..Default::default()
        };
        let mut losses = Vec::new();
        let net = train(&train_set, &cfg, &mut rng, |_, l| losses.push(l));
        assert!(losses[7] < 0.5 * losses[0], "{losses:?}");
        let p = net.probabilities(&test.levels);
        for (part, truth) in truth.iter().enumerate() {
            let row = p.row(part).to_vec();
            let found: Vec<f64> = peaks(&row, THRESHOLD, 4)
                .iter()
                .map(|&t| t as f64)
                .collect();
            assert_eq!(&found, truth, "part {part}");
        }
    }

    #[test]
    fn equaliser_curves_are_bounded_and_off_at_zero() {
        let mut rng = SplitMix64::new(9);
        let before = rng.clone().next_u64();
        assert_eq!(eq_curve(&mut rng, 0.0), [0.0; LEVELS]);
        // Nothing drawn when off: training without it is as before.
        assert_eq!(rng.next_u64(), before);
        for _ in 0..100 {
            let eq = eq_curve(&mut rng, 12.0);
            // A tilt of at most 6 dB either way at the ends plus a bump of at most 12 dB.
            assert!(eq.iter().all(|&e| e.abs() <= 18.0 / 40.0 + 1e-6), "{eq:?}");
            assert!(eq.iter().any(|&e| e != 0.0));
        }
    }

    #[test]
    fn peaks_keep_the_largest_local_maxima_apart() {
        let p = [0.1, 0.5, 0.45, 0.9, 0.2, 0.3, 0.6, 0.1, 0.39];
        // Maxima at 1, 3, 6 (8 is under the threshold); 1 is within 3 frames of 3.
        assert_eq!(peaks(&p, 0.4, 3), vec![3, 6]);
        assert_eq!(peaks(&p, 0.4, 1), vec![1, 3, 6]);
    }
}
