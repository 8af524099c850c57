//! Onset strength, tempo and beat phase.
//!
//! - Onset strength (per STFT frame): the mean over bins of the positive dB increase from the
//!   previous frame (spectral flux on the log-magnitude spectrogram), minus its mean. For tempo,
//!   [`tempo_envelope`] blends the flux of mel bands (kick, snare and bass weigh in, as in
//!   librosa) with the flux of linear bins (hi-hats weigh in), each scaled to unit RMS: on the
//!   bundled corpus either alone mistakes half-time trap and drill for 70 BPM far more often.
//! - Tempo: the autocorrelation `r` of the onset envelope, normalised by `r[0]`. A candidate
//!   beat period `L` (in frames) scores `(r[L] + r[2L]) / 2` (a beat period also repeats at
//!   twice itself, a 3:2 period of a syncopated pattern mostly does not) times a log-normal
//!   tempo prior centred on 120 BPM with a width of [`PRIOR_OCTAVES`]. The best period is
//!   refined to a fraction of a frame from the autocorrelation peaks at its multiples (least
//!   squares through the origin). The period is halved while its half still repeats at least
//!   [`HALF_RATIO`] as strongly (the faster metrical level is the beat).
//! - Strength: the score without the prior, in [0, 1]; below [`MIN_STRENGTH`] (or the noise
//!   level of a short envelope) there is no tempo (white noise, silence, a drone).
//! - Phase: the offset (in frames) of the pulse train with period `L` that collects the most
//!   onset strength, i.e. where the beats fall.
//! - Other readings ([`TempoAnalysis::readings`]): the half, double, 2/3 and 3/2 tempi and the
//!   other autocorrelation peaks, each with its strength, for a choice made with more context
//!   (the other songs of a genre, see [`crate::tempo_octave`]); [`TempoAnalysis::near`] reads
//!   the tempo near a given one (from a tag, a file name or that choice).

use crate::stft::Spectrogram;

/// Width (standard deviation, in octaves) of the log-normal tempo prior around 120 BPM.
pub const PRIOR_OCTAVES: f32 = 0.7;

/// A period is halved while the autocorrelation at its half is at least this fraction of its own.
pub const HALF_RATIO: f32 = 0.5;

/// Default tempo search range in BPM: the range of rap and beat music. Faster music (drum and
/// bass at 174) is reported at half tempo, which is what its beat feels like; a genre folder
/// may agree on 3/2 of a song's best reading above it (see [`GROUP_MAX_BPM`]).
pub const DEFAULT_BPM_RANGE: (f32, f32) = (60.0, 160.0);

/// How fast a song's genre folder may read it: a song whose best reading is over 2/3 of
/// [`DEFAULT_BPM_RANGE`]'s top also offers its folder the reading at 3/2 of it, up to this (a
/// fast song whose beat is heard at 2/3, a dotted-quarter pulse: reggae written at 180 read at
/// 120), never its double (drum and bass stays at half). A song alone keeps to the range. On
/// 72 earlier renders of LMMS's demo songs the genre's choice went from 55 to 62 tempi within
/// 2%, every tempo of eleven other corpora unchanged (README, "Whole songs written by people").
pub const GROUP_MAX_BPM: f32 = 200.0;

/// Autocorrelation strength under which a signal is said to have no tempo (see also
/// [`NOISE_MARGIN`]). Quiet brush kits repeat at 0.06-0.15.
pub const MIN_STRENGTH: f32 = 0.05;

/// A tempo's strength must also exceed this many times the spread of white noise's
/// autocorrelation, `1/sqrt(frames)`: 0.095 for 8 s, 0.055 for 24 s at 86 frames per second.
pub const NOISE_MARGIN: f32 = 2.5;

/// A detected tempo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tempo {
    pub bpm: f32,
    /// Beat period in frames (fractional).
    pub period_frames: f32,
    /// Frame of the first beat, in [0, period).
    pub phase_frames: f32,
    /// Mean normalised autocorrelation at the period's multiples, in [0, 1].
    pub strength: f32,
}

/// Onset strength envelope of a dB spectrogram (one value per frame; frame 0 is 0).
pub fn onset_envelope(db: &Spectrogram) -> Vec<f32> {
    let mut flux = OnsetFlux::default();
    flux.push_frames(db);
    flux.finish()
}

/// [`onset_envelope`] a block of frames at a time, for spectrograms computed block by block:
/// the mean positive dB difference from the previous frame, minus the envelope's mean at the
/// end.
#[derive(Debug, Default, Clone)]
pub struct OnsetFlux {
    /// The last frame of the previous block.
    prev: Vec<f32>,
    env: Vec<f32>,
}

impl OnsetFlux {
    /// Add the frames of `db`, the signal's next frames in order.
    pub fn push_frames(&mut self, db: &Spectrogram) {
        for t in 0..db.frames {
            let frame = db.frame(t);
            let before = match t {
                0 if self.env.is_empty() => None,
                0 => Some(&self.prev[..]),
                _ => Some(db.frame(t - 1)),
            };
            self.env
                .push(before.map_or(0.0, |p| rise_sum(frame, p) / frame.len() as f32));
        }
        if db.frames > 0 {
            self.prev.clear();
            self.prev.extend_from_slice(db.frame(db.frames - 1));
        }
    }

    pub fn finish(mut self) -> Vec<f32> {
        let mean = self.env.iter().sum::<f32>() / self.env.len().max(1) as f32;
        self.env.iter_mut().for_each(|v| *v -= mean);
        self.env
    }
}

/// `sum(max(c - p, 0))` over two frames, in eight interleaved partial sums (which the
/// compiler turns into one vector register) added at the end.
fn rise_sum(now: &[f32], before: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a, b) = (now.chunks_exact(8), before.chunks_exact(8));
    let tail: f32 = a
        .remainder()
        .iter()
        .zip(b.remainder())
        .map(|(c, p)| (c - p).max(0.0))
        .sum();
    for (c, p) in a.zip(b) {
        for i in 0..8 {
            acc[i] += (c[i] - p[i]).max(0.0);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The onset envelope used for tempo: mel-band flux plus linear-bin flux, each at unit RMS.
pub fn tempo_envelope(db: &Spectrogram, mel: &crate::bands::BandProjection) -> Vec<f32> {
    combine_envelopes(&onset_envelope(db), &onset_envelope(&mel.forward(db)))
}

/// [`tempo_envelope`] from its two parts: the linear-bin and the mel-band onset envelopes.
pub fn combine_envelopes(linear: &[f32], mel: &[f32]) -> Vec<f32> {
    let unit = |e: &[f32]| {
        let rms = (e.iter().map(|v| v * v).sum::<f32>() / e.len().max(1) as f32).sqrt();
        let rms = if rms > 0.0 { rms } else { 1.0 };
        e.iter().map(|v| v / rms).collect::<Vec<f32>>()
    };
    unit(linear)
        .iter()
        .zip(&unit(mel))
        .map(|(x, y)| x + y)
        .collect()
}

/// Tempo of a signal's dB spectrogram (frames x bins) with the default range.
pub fn tempo_of_spectrogram(
    db: &Spectrogram,
    mel: &crate::bands::BandProjection,
    frame_rate: f32,
) -> Option<Tempo> {
    estimate_tempo(
        &tempo_envelope(db, mel),
        frame_rate,
        DEFAULT_BPM_RANGE.0,
        DEFAULT_BPM_RANGE.1,
    )
}

/// Normalised autocorrelation `r[0..max_lag]` (`r[0] = 1`), through a zero-padded real FFT in
/// f64 (the power spectrum's inverse): `O(n log n)` where the direct sum over lags is
/// `O(n max_lag)`, and the same values to about 1e-12.
pub fn autocorrelation(env: &[f32], max_lag: usize) -> Vec<f32> {
    let n = env.len();
    let lags = max_lag.min(n);
    let r0: f64 = env.iter().map(|&v| (v as f64) * (v as f64)).sum();
    if r0 <= 0.0 || lags == 0 {
        return vec![0.0; lags];
    }
    // Zero padding to at least n + lags - 1 keeps the circular products from wrapping.
    let size = (n + lags).next_power_of_two();
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let (fwd, inv) = (
        planner.plan_fft_forward(size),
        planner.plan_fft_inverse(size),
    );
    let mut x = fwd.make_input_vec();
    x.iter_mut().zip(env).for_each(|(x, &v)| *x = v as f64);
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut x, &mut spec).expect("sizes from the plan");
    spec.iter_mut()
        .for_each(|c| *c = realfft::num_complex::Complex::new(c.norm_sqr(), 0.0));
    inv.process(&mut spec, &mut x).expect("sizes from the plan");
    // realfft's inverse is unnormalised: a factor `size`.
    let scale = 1.0 / (size as f64 * r0);
    x[..lags].iter().map(|&v| (v * scale) as f32).collect()
}

/// Tempo of an onset envelope at `frame_rate` frames per second, searched in
/// `[min_bpm, max_bpm]`. `None` when the envelope is too short or not periodic enough.
pub fn estimate_tempo(env: &[f32], frame_rate: f32, min_bpm: f32, max_bpm: f32) -> Option<Tempo> {
    TempoAnalysis::new(env, frame_rate, min_bpm, max_bpm)?.best()
}

/// Ratios of the detected tempo offered as other readings of the same song: the octaves
/// (half-time, double-time) and the 3:2 confusions of syncopated patterns.
pub const READING_RATIOS: [f32; 4] = [0.5, 2.0 / 3.0, 1.5, 2.0];

/// Most readings [`TempoAnalysis::readings`] offers.
pub const MAX_READINGS: usize = 8;

/// The shortest beat period (frames, at least 2) searched for tempi up to `max_bpm`.
fn shortest_period(frame_rate: f32, max_bpm: f32) -> usize {
    (frame_rate * 60.0 / max_bpm).floor().max(2.0) as usize
}

/// The autocorrelation of one onset envelope within a tempo range: every tempo question about
/// a signal (its best tempo, the other readings, the tempo near a given one) is answered from it.
pub struct TempoAnalysis<'a> {
    env: &'a [f32],
    /// Normalised autocorrelation, `r[0] = 1`, up to 8 periods of the slowest tempo.
    r: Vec<f32>,
    frame_rate: f32,
    /// Shortest and longest beat period searched, in frames.
    lo: usize,
    hi: usize,
}

impl<'a> TempoAnalysis<'a> {
    /// `None` when two beats of the slowest tempo do not fit in the envelope.
    pub fn new(env: &'a [f32], frame_rate: f32, min_bpm: f32, max_bpm: f32) -> Option<Self> {
        let (lo, hi) = (
            shortest_period(frame_rate, max_bpm),
            (frame_rate * 60.0 / min_bpm).ceil() as usize,
        );
        // Two beats of the slowest tempo must fit (r at L and 2L), or nothing can be said.
        if env.len() < 2 * hi + 2 {
            return None;
        }
        Some(TempoAnalysis {
            env,
            // Lags up to 8 of the slowest beats: the refinement's last multiple.
            r: autocorrelation(env, (8 * hi + 8).min(env.len())),
            frame_rate,
            lo,
            hi,
        })
    }

    /// The strength a period needs to count as a tempo: [`MIN_STRENGTH`], or more for short
    /// envelopes, whose autocorrelation is noisier (white noise's normalised autocorrelation
    /// has a spread of about `1/sqrt(frames)`): [`NOISE_MARGIN`]` / sqrt(frames)`.
    fn min_strength(&self) -> f32 {
        MIN_STRENGTH.max(NOISE_MARGIN / (self.env.len() as f32).sqrt())
    }

    /// How strongly the signal repeats at beat period `l`: a beat period repeats at twice
    /// itself too, a 3:2 or 2:3 "period" of a syncopated pattern mostly does not.
    fn score(&self, l: usize) -> f32 {
        let r = &self.r;
        (0.5 * (r[l] + r.get(2 * l).copied().unwrap_or(0.0))).max(0.0)
    }

    /// How strongly the signal repeats at `bpm` (within a frame of its beat period): the
    /// score a reading there gets before the prior, 0 outside the autocorrelation's lags.
    pub fn repeats_at(&self, bpm: f32) -> f32 {
        let lag = (self.frame_rate * 60.0 / bpm).round() as usize;
        (lag.saturating_sub(1).max(1)..=lag + 1)
            .filter(|&l| l < self.r.len())
            .map(|l| self.score(l))
            .fold(0.0, f32::max)
    }

    /// Local maxima of `r` inside the range (not the shoulder of a peak outside it).
    fn is_peak(&self, l: usize) -> bool {
        self.is_peak_from(l, self.lo)
    }

    /// [`Self::is_peak`] with the shortest period `lo` frames instead of the range's.
    fn is_peak_from(&self, l: usize, lo: usize) -> bool {
        l >= lo.max(1)
            && l <= self.hi.min(self.r.len() - 2)
            && self.r[l] >= self.r[l - 1]
            && self.r[l] >= self.r[l + 1]
    }

    /// Every peak lag in the range with its score under the 120 BPM prior.
    fn peaks(&self) -> impl Iterator<Item = (usize, f32)> + '_ {
        (self.lo.max(1)..=self.hi.min(self.r.len() - 2))
            .filter(|&l| self.is_peak(l))
            .map(|l| (l, self.score(l) * prior(self.frame_rate * 60.0 / l as f32)))
    }

    /// The detected tempo: the best-scoring period under the 120 BPM prior, halved while its
    /// half is still a clear pulse. `None` when nothing repeats strongly enough.
    pub fn best(&self) -> Option<Tempo> {
        let (best, best_score) = self.peaks().max_by(|a, b| a.1.total_cmp(&b.1))?;
        // Prefer the faster metrical level while it is still a clear pulse: a beat period whose
        // half also repeats at least HALF_RATIO as strongly is really two beats.
        let r = &self.r;
        let mut best = best;
        while best / 2 >= self.lo {
            let half = if r[best / 2] >= r[best.div_ceil(2)] {
                best / 2
            } else {
                best.div_ceil(2)
            };
            if r[half] < HALF_RATIO * r[best] {
                break;
            }
            best = half;
        }
        if !(self.score(best) >= self.min_strength()) || best_score <= 0.0 {
            return None;
        }
        Some(self.at_lag(best))
    }

    /// The reading of the signal at about `bpm` (within 4%): the autocorrelation peak there,
    /// refined. `None` when the range has no peak near `bpm` or it repeats too weakly.
    pub fn near(&self, bpm: f32) -> Option<Tempo> {
        self.near_from(bpm, self.lo)
    }

    /// [`Self::near`] with the range's fastest tempo raised to `max_bpm`: the autocorrelation
    /// holds every lag from 0, so a faster reading needs no new analysis.
    pub fn near_up_to(&self, bpm: f32, max_bpm: f32) -> Option<Tempo> {
        self.near_from(bpm, shortest_period(self.frame_rate, max_bpm))
    }

    /// [`Self::near`] among the peaks of periods of at least `lo` frames.
    fn near_from(&self, bpm: f32, lo: usize) -> Option<Tempo> {
        let lag = self.frame_rate * 60.0 / bpm;
        let (a, b) = ((lag / 1.04).floor() as usize, (lag * 1.04).ceil() as usize);
        let l = (a..=b)
            .filter(|&l| self.is_peak_from(l, lo))
            .max_by(|&x, &y| self.r[x].total_cmp(&self.r[y]))?;
        (self.score(l) >= self.min_strength()).then(|| self.at_lag(l))
    }

    /// Every reading of the signal: `best` first, then the tempi at [`READING_RATIOS`] of it
    /// that the autocorrelation supports, then the other autocorrelation peaks in the range
    /// from the strongest (under the prior), at most [`MAX_READINGS`] in all, 2% apart.
    pub fn readings(&self, best: &Tempo) -> Vec<Tempo> {
        let mut out = vec![*best];
        let offer = |t: Tempo, out: &mut Vec<Tempo>| {
            if out.len() < MAX_READINGS && out.iter().all(|o| (o.bpm / t.bpm - 1.0).abs() > 0.02) {
                out.push(t);
            }
        };
        for k in READING_RATIOS {
            if let Some(t) = self.near(best.bpm * k) {
                offer(t, &mut out);
            }
        }
        let mut peaks: Vec<(usize, f32)> = self
            .peaks()
            .filter(|&(l, _)| self.score(l) >= self.min_strength())
            .collect();
        peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (l, _) in peaks {
            offer(self.at_lag(l), &mut out);
        }
        out
    }

    /// Tempo and phase of the peak at lag `l`, the period refined to a fraction of a frame.
    fn at_lag(&self, l: usize) -> Tempo {
        let r = &self.r;
        // Refine the period: peak of r near each multiple, by parabolic interpolation.
        let peak_near = |c: f32| -> Option<f32> {
            let c = c.round() as usize;
            let (a, b) = (c.saturating_sub(2).max(1), (c + 2).min(r.len() - 2));
            let i = (a..=b).max_by(|&x, &y| r[x].total_cmp(&r[y]))?;
            let (y0, y1, y2) = (r[i - 1], r[i], r[i + 1]);
            let d = y0 - 2.0 * y1 + y2;
            let off = if d.abs() > 1e-12 {
                0.5 * (y0 - y2) / d
            } else {
                0.0
            };
            Some(i as f32 + off.clamp(-0.5, 0.5))
        };
        let mut period = l as f32;
        let (mut num, mut den) = (0.0f32, 0.0f32);
        for m in 1..=8usize {
            let c = period * m as f32;
            if c + 3.0 >= self.env.len() as f32 * 0.6 || c as usize + 3 >= r.len() {
                break;
            }
            if let Some(p) = peak_near(c) {
                num += p * m as f32;
                den += (m * m) as f32;
                period = num / den;
            }
        }
        Tempo {
            bpm: self.frame_rate * 60.0 / period,
            period_frames: period,
            phase_frames: beat_phase(self.env, period),
            strength: self.score(l),
        }
    }
}

/// A tempo taken as given (from a tag or a file name) where the signal has no peak near it:
/// the period of `bpm`, the phase that collects the most onset strength, strength 0.
pub fn fixed_tempo(env: &[f32], frame_rate: f32, bpm: f32) -> Tempo {
    let period = frame_rate * 60.0 / bpm;
    Tempo {
        bpm,
        period_frames: period,
        phase_frames: beat_phase(env, period),
        strength: 0.0,
    }
}

/// The log-normal tempo prior around 120 BPM (1 at 120).
pub fn prior(bpm: f32) -> f32 {
    (-0.5 * ((bpm / 120.0).log2() / PRIOR_OCTAVES).powi(2)).exp()
}

/// Phase (frames, in `[0, period)`, half-frame steps): the offset whose pulse train with
/// `period` collects the most onset strength, i.e. where the beats fall.
pub fn beat_phase(env: &[f32], period: f32) -> f32 {
    let sample = |x: f32| {
        let i = x.floor() as usize;
        let f = x - i as f32;
        if i + 1 < env.len() {
            env[i] * (1.0 - f) + env[i + 1] * f
        } else {
            0.0
        }
    };
    let steps = (period * 2.0).ceil() as usize;
    (0..steps)
        .map(|s| s as f32 * 0.5)
        .map(|ph| {
            let mut acc = 0.0;
            let mut x = ph;
            while x < env.len() as f32 - 1.0 {
                acc += sample(x);
                x += period;
            }
            (ph, acc)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0.0, |p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_sum_is_the_sum_of_positive_differences_at_any_length() {
        for n in 0..21 {
            let now: Vec<f32> = (0..n).map(|i| (i as f32 * 1.3).sin() * 10.0).collect();
            let before: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).cos() * 10.0).collect();
            let direct: f64 = now
                .iter()
                .zip(&before)
                .map(|(&c, &p)| ((c - p) as f64).max(0.0))
                .sum();
            assert!(
                (rise_sum(&now, &before) as f64 - direct).abs() < 1e-4,
                "n {n}"
            );
        }
    }

    /// The onset envelope fed in blocks of 1, 3 or 32 frames is the whole spectrogram's, bit
    /// for bit, and that is the mean positive rise from the previous frame (0 for the first),
    /// minus its mean, summed directly in f64.
    #[test]
    fn onset_envelope_in_blocks_is_the_mean_rise() {
        let mut rng = crate::rng::SplitMix64::new(9);
        let mut db = Spectrogram::zeros(70, 21);
        db.data
            .iter_mut()
            .for_each(|v| *v = -80.0 + 80.0 * rng.next_f64() as f32);
        let whole = onset_envelope(&db);
        let mut direct: Vec<f64> = (0..db.frames)
            .map(|t| match t {
                0 => 0.0,
                _ => {
                    let (now, before) = (db.frame(t), db.frame(t - 1));
                    let rise: f64 = now
                        .iter()
                        .zip(before)
                        .map(|(&c, &p)| ((c - p) as f64).max(0.0))
                        .sum();
                    rise / db.bins as f64
                }
            })
            .collect();
        let mean = direct.iter().sum::<f64>() / direct.len() as f64;
        direct.iter_mut().for_each(|v| *v -= mean);
        assert!(whole
            .iter()
            .zip(&direct)
            .all(|(&a, &b)| (a as f64 - b).abs() < 1e-4));
        for block in [1, 3, 32] {
            let mut flux = OnsetFlux::default();
            for t0 in (0..db.frames).step_by(block) {
                let t1 = (t0 + block).min(db.frames);
                let mut part = Spectrogram::zeros(t1 - t0, db.bins);
                part.data
                    .copy_from_slice(&db.data[t0 * db.bins..t1 * db.bins]);
                flux.push_frames(&part);
            }
            let blocks = flux.finish();
            assert!(
                blocks
                    .iter()
                    .zip(&whole)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{block}"
            );
        }
    }

    #[test]
    fn autocorrelation_matches_the_direct_sum_over_lags() {
        let mut rng = crate::rng::SplitMix64::new(7);
        for n in [1usize, 5, 64, 1000, 2067] {
            let env: Vec<f32> = (0..n)
                .map(|i| (i as f32 * 0.37).sin() + 0.5 * rng.next_signed())
                .collect();
            let r0: f64 = env.iter().map(|&v| v as f64 * v as f64).sum();
            for max_lag in [1, n / 3 + 1, n, n + 10] {
                let r = autocorrelation(&env, max_lag);
                assert_eq!(r.len(), max_lag.min(n));
                for (l, &v) in r.iter().enumerate() {
                    let direct: f64 = (0..n - l).map(|i| env[i] as f64 * env[i + l] as f64).sum();
                    assert!((v as f64 - direct / r0).abs() < 1e-6, "n {n} lag {l}");
                }
            }
        }
        assert_eq!(autocorrelation(&[0.0; 8], 4), vec![0.0; 4]);
    }

    fn clicks(bpm: f32, seconds: f32, sr: f32) -> Vec<f32> {
        let n = (seconds * sr) as usize;
        let period = 60.0 / bpm * sr;
        let mut x = vec![0.0f32; n];
        let mut k = 0.0f32;
        while (k * period) as usize + 400 < n {
            let s = (k * period + 1000.0) as usize;
            for i in 0..400.min(n - s) {
                x[s + i] += (i as f32 * 0.7).sin() * (-(i as f32) / 60.0).exp();
            }
            k += 1.0;
        }
        x
    }

    fn tempo_of(x: &[f32]) -> Option<Tempo> {
        let mut plan = crate::StftPlan::new(crate::StftConfig::default()).unwrap();
        let db = crate::spectrogram::log_spectrogram(&mut plan, x).unwrap();
        tempo_of_spectrogram(
            &db,
            &crate::bands::BandProjection::mel(128, 1024, 22050),
            22050.0 / 256.0,
        )
    }

    #[test]
    fn click_tracks_give_their_tempo() {
        for bpm in [72.0, 90.0, 124.0, 140.0] {
            let t = tempo_of(&clicks(bpm, 12.0, 22050.0)).unwrap();
            assert!((t.bpm - bpm).abs() / bpm < 0.01, "{bpm}: {t:?}");
            // Beats start at sample 1000 = frame 3.9.
            let expect = (1000.0 / 256.0) % t.period_frames;
            assert!(
                (t.phase_frames - expect).abs() < 1.5,
                "{bpm}: phase {} vs {expect}",
                t.phase_frames
            );
        }
    }

    #[test]
    fn white_noise_and_silence_have_no_tempo() {
        let mut s = 99u32;
        let noise: Vec<f32> = (0..22050 * 8)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s as f32 / u32::MAX as f32 - 0.5
            })
            .collect();
        assert_eq!(tempo_of(&noise), None);
        assert_eq!(tempo_of(&vec![0.0; 22050 * 8]), None);
        // Too short to say.
        assert_eq!(tempo_of(&clicks(90.0, 1.0, 22050.0)), None);
    }
}
