//! Drum bands of a band-dB spectrogram: what a song's hi-hats and snare say about its tempo
//! ([`rhythm`]), the level and kind of drum onsets found by a detector ([`label_onsets`]), and
//! where the bass notes start and what pitch they have.
//!
//! Each instrument listens to its own bands (by centre frequency, see [`DrumConfig`]): kick
//! 30-200 Hz, snare 600 Hz-4 kHz (a snare's noise and a clap's burst), hi-hats from 5.5 kHz,
//! bass 30-150 Hz. Its onset strength at frame `t` is a quantile over its bands of their dB
//! rise from frame `t - lag`: the median for the drums, so that a broadband burst counts and a
//! chord or a bass note rising in a few bands does not; the largest for the bass, a single
//! tone. dB rises do not depend on the mix level. Onsets are the frames whose strength reaches
//! the instrument's threshold, the strongest kept first and none closer than the instrument's
//! gap to a stronger one. Then:
//!
//! - **Rhythm.** The hat onsets that rose at least [`DrumConfig::hat_over_snare_db`] more than
//!   the snare band (a snare's noise reaches above 5.5 kHz too) per second, and the period at
//!   which the snare band's onset strength repeats.
//! - **Open or closed hat.** Open when the hat band is still within
//!   [`DrumConfig::open_hat_drop_db`] of its peak [`DrumConfig::open_hat_seconds`] later.
//! - **Bass.** A bass onset whose band is still within [`DrumConfig::bass_drop_db`] of its
//!   peak [`DrumConfig::bass_hold_seconds`] later: a held low tone (an 808 starts with its kick,
//!   so one onset can be both). Its pitch is the power-weighted mean centre frequency of the
//!   loudest low band and its two neighbours at that time, as a MIDI note number: bands
//!   about 25-45 Hz wide at these frequencies make it a rough pitch (see README). It lasts
//!   until the band falls [`DrumConfig::bass_drop_db`] below its peak or the next bass onset,
//!   and is reported at the centre of its rise (half the lag before the frame of its largest
//!   rise).

use crate::stft::Spectrogram;

/// What a [`Hit`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Instrument {
    Kick,
    /// Snare, clap or rim shot.
    Snare,
    ClosedHat,
    OpenHat,
    /// A pitched low note (808, bass).
    Bass,
}

impl Instrument {
    pub const ALL: [Instrument; 5] = [
        Instrument::Kick,
        Instrument::Snare,
        Instrument::ClosedHat,
        Instrument::OpenHat,
        Instrument::Bass,
    ];
}

/// One transcribed onset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Onset frame (the frame of the largest rise, minus half the lag: where the rise is
    /// centred).
    pub frame: f32,
    pub instrument: Instrument,
    /// The instrument band's mean level at the onset (dB, the spectrogram's scale).
    pub level_db: f32,
    /// MIDI note number (fractional), bass only.
    pub pitch: Option<f32>,
    /// Length in frames (bass; 0 for drums).
    pub frames: f32,
}

/// Every setting of the drum bands. Frequencies in Hz, times in seconds, levels in dB;
/// per-instrument arrays are in the order kick, snare, hat, bass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrumConfig {
    /// Bands each instrument listens to. Default 30-200 Hz, 600-4000 Hz, 5500 Hz and up,
    /// 30-150 Hz.
    pub bands_hz: [(f32, f32); 4],
    /// Which quantile of the bands' rises is the onset strength. Default 0.5 (the median) for
    /// the drums, 1 (the largest) for the bass.
    pub quantile: [f32; 4],
    /// Rise measured over this time (at least one frame); a hit's level is its band's peak
    /// over this time from its onset. Default 0.025 s.
    pub lag_seconds: [f32; 4],
    /// Closest onsets of one instrument (the stronger is kept). Default 0.08, 0.08, 0.04,
    /// 0.15 s.
    pub gap_seconds: [f32; 4],
    /// Smallest rises that are hat onsets ([`rhythm`]) and bass onsets. Default 2.5 and 9 dB.
    pub hat_threshold_db: f32,
    pub bass_threshold_db: f32,
    /// See the module documentation. Default 1.5 dB.
    pub hat_over_snare_db: f32,
    /// Open hat: this long after its onset its band is within `open_hat_drop_db` of its peak.
    /// Default 0.12 s and 12 dB.
    pub open_hat_seconds: f32,
    pub open_hat_drop_db: f32,
    /// A bass note holds this long within `bass_drop_db` of its peak. Default 0.15 s, 10 dB.
    pub bass_hold_seconds: f32,
    pub bass_drop_db: f32,
}

impl Default for DrumConfig {
    fn default() -> Self {
        DrumConfig {
            bands_hz: [
                (30.0, 200.0),
                (600.0, 4000.0),
                (5500.0, f32::INFINITY),
                (30.0, 150.0),
            ],
            quantile: [0.5, 0.5, 0.5, 1.0],
            lag_seconds: [0.025; 4],
            gap_seconds: [0.08, 0.08, 0.04, 0.15],
            hat_threshold_db: 2.5,
            bass_threshold_db: 9.0,
            hat_over_snare_db: 1.5,
            open_hat_seconds: 0.12,
            open_hat_drop_db: 12.0,
            bass_hold_seconds: 0.15,
            bass_drop_db: 10.0,
        }
    }
}

/// One instrument band: its mean level and onset strength per frame (no onset strengths when
/// built by [`Band::levels`]).
struct Band {
    level: Vec<f32>,
    rise: Vec<f32>,
}

impl Band {
    /// The bands of `db` centred in `[lo, hi)` Hz: their mean level, and at each frame the
    /// `quantile` of their dB rises over `lag` frames (0.5: the median band's rise, so that a
    /// broadband burst counts and a rise in a few bands, a chord or a bass note, does not).
    fn new(
        db: &Spectrogram,
        band_hz: &[f32],
        range_hz: (f32, f32),
        quantile: f32,
        lag: usize,
    ) -> Self {
        let bands = bands_in(band_hz, range_hz);
        let mut rises = Vec::with_capacity(bands.len());
        let rise = (0..db.frames)
            .map(|t| {
                if t < lag || bands.is_empty() {
                    return 0.0;
                }
                let (now, before) = (db.frame(t), db.frame(t - lag));
                rises.clear();
                rises.extend(bands.clone().map(|b| now[b] - before[b]));
                let k = ((1.0 - quantile) * (rises.len() - 1) as f32).round() as usize;
                // The k-th largest rise: `quantile` of the bands rose at least this much.
                positive_kth_largest(&mut rises, k)
            })
            .collect();
        Band {
            rise,
            ..Band::levels(db, band_hz, range_hz)
        }
    }

    /// The mean level of the bands of `db` centred in `[lo, hi)` Hz, without onset strengths
    /// (for [`Band::peak`] and [`Band::held`] only).
    fn levels(db: &Spectrogram, band_hz: &[f32], range_hz: (f32, f32)) -> Self {
        let bands = bands_in(band_hz, range_hz);
        let n = bands.len().max(1) as f32;
        let level = (0..db.frames)
            .map(|t| db.frame(t)[bands.clone()].iter().sum::<f32>() / n)
            .collect();
        Band {
            level,
            rise: Vec::new(),
        }
    }

    /// Frames where the rise is at least `threshold`, strongest first kept, none within `gap`
    /// frames of a stronger one (ties: the earlier frame).
    fn onsets(&self, gap: usize, threshold: f32) -> Vec<usize> {
        let r = &self.rise;
        let mut cand: Vec<usize> = (0..r.len()).filter(|&t| r[t] >= threshold).collect();
        cand.sort_by(|&a, &b| r[b].total_cmp(&r[a]).then(a.cmp(&b)));
        // Frames within `gap` of a kept onset.
        let mut blocked = vec![false; r.len()];
        let mut kept: Vec<usize> = Vec::new();
        for t in cand {
            if !blocked[t] {
                kept.push(t);
                blocked[t.saturating_sub(gap)..(t + gap + 1).min(r.len())].fill(true);
            }
        }
        kept.sort_unstable();
        kept
    }

    /// Peak level in the `lag` frames from `t`.
    fn peak(&self, t: usize, lag: usize) -> f32 {
        self.level[t..(t + lag + 1).min(self.level.len())]
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v))
    }

    /// Whether the level `after` frames past `t` is within `drop` dB of the onset's peak.
    fn held(&self, t: usize, lag: usize, after: usize, drop: f32) -> bool {
        let later = self
            .level
            .get(t + after)
            .copied()
            .unwrap_or(f32::NEG_INFINITY);
        later >= self.peak(t, lag) - drop
    }
}

/// `max(v, 0)` of the `k`-th largest `v` of `values` (0: the largest; no NaN) in
/// [`f32::total_cmp`] order, the same bit for bit as selecting among all of them; `values` is
/// reordered. Only the positive values are searched: the k-th largest is above 0 only when more
/// than `k` values are, and is then the k-th largest of those. In a frame of a steady sound
/// about half the bands rise, so the selection is over half as many values, or none.
fn positive_kth_largest(values: &mut Vec<f32>, k: usize) -> f32 {
    let descending = |a: &f32, b: &f32| b.total_cmp(a);
    let negative_zero = (-0.0f32).to_bits();
    if values
        .iter()
        .fold(false, |z, v| z | (v.to_bits() == negative_zero))
    {
        // `max(-0.0, 0.0)` may give either zero: the selection among all values decides.
        return values.select_nth_unstable_by(k, descending).1.max(0.0);
    }
    // Keep the positive values, in place and without a branch per value.
    let mut kept = 0;
    for i in 0..values.len() {
        let v = values[i];
        values[kept] = v;
        kept += (v > 0.0) as usize;
    }
    values.truncate(kept);
    if values.len() <= k {
        return 0.0;
    }
    *values.select_nth_unstable_by(k, descending).1
}

/// The bands (indices) centred in `[lo, hi)` Hz.
fn bands_in(band_hz: &[f32], (lo, hi): (f32, f32)) -> std::ops::Range<usize> {
    let first = band_hz
        .iter()
        .position(|&f| f >= lo)
        .unwrap_or(band_hz.len());
    let last = band_hz
        .iter()
        .rposition(|&f| f < hi)
        .map_or(first, |i| i + 1);
    first..last.max(first)
}

/// Whole frames (at least one) in `seconds`.
fn frames_in(seconds: f32, frame_seconds: f32) -> usize {
    (seconds / frame_seconds).round().max(1.0) as usize
}

/// Hi-hat onsets that rose at least [`DrumConfig::hat_over_snare_db`] more than the snare
/// band in the same frame.
fn hat_onsets(hat: &Band, snare: &Band, frame_seconds: f32, cfg: &DrumConfig) -> Vec<usize> {
    hat.onsets(
        frames_in(cfg.gap_seconds[2], frame_seconds),
        cfg.hat_threshold_db,
    )
    .into_iter()
    .filter(|&t| hat.rise[t] >= snare.rise[t] + cfg.hat_over_snare_db)
    .collect()
}

/// The hits of `db` (frames x bands, dB), whose band `b` is centred at `band_hz[b]` Hz and
/// whose frames are `frame_seconds` apart, at given drum onsets, and its bass notes: `onsets`
/// are the frames where a kick, a snare and a hi-hat start (from a detector of their own, such
/// as beatgen's onset network). Each drum hit gets its band's peak level over the lag from
/// its frame, and a hat is open or closed (see the module documentation). Hits in time order.
pub fn label_onsets(
    db: &Spectrogram,
    band_hz: &[f32],
    frame_seconds: f32,
    cfg: &DrumConfig,
    onsets: [&[usize]; 3],
) -> Vec<Hit> {
    assert_eq!(band_hz.len(), db.bins, "one centre frequency per band");
    let frames = |s: f32| frames_in(s, frame_seconds);
    let lags = cfg.lag_seconds.map(frames);
    let [kick, snare, hat] = [0, 1, 2].map(|i| Band::levels(db, band_hz, cfg.bands_hz[i]));
    let open_after = frames(cfg.open_hat_seconds);
    let hit = |t: usize, instrument, band: &Band, lag: usize| Hit {
        frame: t as f32,
        instrument,
        level_db: band.peak(t, lag),
        pitch: None,
        frames: 0.0,
    };
    let in_range = |t: &&usize| **t < db.frames;
    let mut hits: Vec<Hit> = onsets[0]
        .iter()
        .filter(in_range)
        .map(|&t| hit(t, Instrument::Kick, &kick, lags[0]))
        .chain(
            onsets[1]
                .iter()
                .filter(in_range)
                .map(|&t| hit(t, Instrument::Snare, &snare, lags[1])),
        )
        .chain(onsets[2].iter().filter(in_range).map(|&t| {
            let open = hat.held(t, lags[2], open_after, cfg.open_hat_drop_db);
            let i = if open {
                Instrument::OpenHat
            } else {
                Instrument::ClosedHat
            };
            hit(t, i, &hat, lags[2])
        }))
        .collect();
    hits.extend(bass_notes(db, band_hz, frame_seconds, cfg));
    hits.sort_by(|a, b| {
        a.frame
            .total_cmp(&b.frame)
            .then(a.instrument.cmp(&b.instrument))
    });
    hits
}

/// The bass notes of `db` (see the module documentation), reported at the centre of their
/// rise.
fn bass_notes(db: &Spectrogram, band_hz: &[f32], frame_seconds: f32, cfg: &DrumConfig) -> Vec<Hit> {
    let frames = |s: f32| frames_in(s, frame_seconds);
    let lag = frames(cfg.lag_seconds[3]);
    let bass = Band::new(db, band_hz, cfg.bands_hz[3], cfg.quantile[3], lag);
    let bass_hold = frames(cfg.bass_hold_seconds);
    let bass_on: Vec<usize> = bass
        .onsets(frames(cfg.gap_seconds[3]), cfg.bass_threshold_db)
        .into_iter()
        .filter(|&t| bass.held(t, lag, bass_hold, cfg.bass_drop_db))
        .collect();
    bass_on
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let peak = bass.peak(t, lag);
            let next = bass_on.get(k + 1).copied().unwrap_or(db.frames);
            let end = (t + 1..next)
                .find(|&u| bass.level[u] < peak - cfg.bass_drop_db)
                .unwrap_or(next);
            let at = (t + bass_hold / 2).min(db.frames - 1);
            Hit {
                frame: t as f32 - 0.5 * lag as f32,
                instrument: Instrument::Bass,
                level_db: peak,
                pitch: low_pitch(db.frame(at), band_hz, cfg.bands_hz[3]),
                frames: (end - t) as f32,
            }
        })
        .collect()
}

/// Shortest and longest backbeat period [`Rhythm::snare_period`] looks for (seconds).
pub const SNARE_PERIOD_RANGE: (f32, f32) = (0.3, 2.5);

/// What a song's drums say about its tempo's octave (see [`crate::tempo_octave`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rhythm {
    /// Hi-hat onsets per second that rose more than the snare band: how dense the top layer
    /// is.
    pub hat_rate: f32,
    /// The period (seconds) at which the snare band's onsets repeat, and how clearly (the
    /// normalised autocorrelation of its onset strength there, at most 1): the largest
    /// autocorrelation over [`SNARE_PERIOD_RANGE`]. A backbeat repeats every 2 beats, a
    /// half-time clap every 4. `None` for a signal shorter than twice the longest period or
    /// without snare onsets.
    pub snare_period: Option<(f32, f32)>,
}

/// The [`Rhythm`] of `db` (arguments as for [`label_onsets`]).
pub fn rhythm(db: &Spectrogram, band_hz: &[f32], frame_seconds: f32, cfg: &DrumConfig) -> Rhythm {
    let band = |i: usize| {
        let lag = frames_in(cfg.lag_seconds[i], frame_seconds);
        Band::new(db, band_hz, cfg.bands_hz[i], cfg.quantile[i], lag)
    };
    let (snare, hat) = (band(1), band(2));
    // Hat onsets that rose more than the snare band (a hat on a kick's click not counted):
    // counting those too read 5 more of 80 SoundFont songs at a wrong tempo.
    let hats = hat_onsets(&hat, &snare, frame_seconds, cfg).len();
    let seconds = db.frames as f32 * frame_seconds;
    Rhythm {
        hat_rate: if seconds > 0.0 {
            hats as f32 / seconds
        } else {
            0.0
        },
        snare_period: period(&snare.rise, frame_seconds),
    }
}

/// The lag in [`SNARE_PERIOD_RANGE`] with the largest normalised autocorrelation of `env`
/// (seconds, and the autocorrelation).
fn period(env: &[f32], frame_seconds: f32) -> Option<(f32, f32)> {
    let (lo, hi) = SNARE_PERIOD_RANGE;
    let (lo, hi) = (
        (lo / frame_seconds).round() as usize,
        (hi / frame_seconds).round() as usize,
    );
    if env.len() < 2 * hi || lo == 0 {
        return None;
    }
    let mean = env.iter().sum::<f32>() / env.len() as f32;
    let e: Vec<f32> = env.iter().map(|v| v - mean).collect();
    let energy: f32 = e.iter().map(|v| v * v).sum();
    if energy <= 0.0 {
        return None;
    }
    // Unbiased: each lag's sum is scaled to the whole length.
    let n = e.len() as f32;
    let sums = lagged_products(&e, lo..hi + 1);
    (lo..=hi)
        .zip(sums)
        .map(|(l, sum)| (l, sum / energy * n / (e.len() - l) as f32))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(l, c)| (l as f32 * frame_seconds, c))
}

/// `sum_i e[i] e[i + l]` for each lag `l` in `lags` (all below `e.len()`), each sum added in
/// the order of `i` from -0.0, as `Iterator::sum` does, so the same values bit for bit. Eight
/// lags at a time, one in each lane of a vector: a single sum is a chain of dependent
/// additions, eight side by side take the time of one.
fn lagged_products(e: &[f32], lags: std::ops::Range<usize>) -> Vec<f32> {
    const LANES: usize = 8;
    let mut out = Vec::with_capacity(lags.len());
    for l0 in lags.clone().step_by(LANES) {
        let lanes = LANES.min(lags.end - l0);
        let mut acc = [-0.0f32; LANES];
        // Every lane's lag has these products; the longest lanes' last few are added after.
        let common = e.len().saturating_sub(l0 + LANES - 1);
        for (i, &a) in e[..common].iter().enumerate() {
            let b = &e[i + l0..i + l0 + LANES];
            for (s, &b) in acc.iter_mut().zip(b) {
                *s += a * b;
            }
        }
        for (j, s) in acc[..lanes].iter_mut().enumerate() {
            let l = l0 + j;
            for i in common..e.len() - l {
                *s += e[i] * e[i + l];
            }
        }
        out.extend_from_slice(&acc[..lanes]);
    }
    out
}

/// MIDI note of the loudest band of `frame` (dB) centred in `[lo, hi)` Hz: the power-weighted
/// mean centre of it and its neighbours.
fn low_pitch(frame: &[f32], band_hz: &[f32], (lo, hi): (f32, f32)) -> Option<f32> {
    let in_range = |b: &usize| band_hz[*b] >= lo && band_hz[*b] < hi;
    let best = (0..frame.len())
        .filter(in_range)
        .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))?;
    let around = best.saturating_sub(1)..(best + 2).min(frame.len());
    let (mut wsum, mut fsum) = (0.0f32, 0.0f32);
    for b in around {
        let w = 10f32.powf((frame[b] - frame[best]) / 10.0);
        wsum += w;
        fsum += w * band_hz[b];
    }
    let hz = fsum / wsum;
    (hz > 0.0).then(|| 69.0 + 12.0 * (hz / 440.0).log2())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bands::BandProjection;

    /// The clamped k-th largest of the positive values is that of all values, bit for bit, for
    /// every `k` of vectors of 1 to 70 values with zeros of both signs and negatives.
    #[test]
    fn positive_kth_largest_is_the_clamped_selection() {
        let mut rng = crate::rng::SplitMix64::new(0x2545_f491);
        for n in 1..=70usize {
            let values: Vec<f32> = (0..n)
                .map(|_| match rng.below(11) {
                    0 => 0.0,
                    1 if n % 3 == 0 => -0.0,
                    2 => 1.5,
                    _ => rng.below(2000) as f32 / 100.0 - 10.0,
                })
                .collect();
            for k in 0..n {
                let mut all = values.clone();
                let want = all
                    .select_nth_unstable_by(k, |a, b| b.total_cmp(a))
                    .1
                    .max(0.0);
                let got = positive_kth_largest(&mut values.clone(), k);
                assert_eq!(got.to_bits(), want.to_bits(), "n {n} k {k}: {values:?}");
            }
        }
    }

    /// The lagged products eight lags at a time are each lag's own sum bit for bit, for ranges
    /// that end in a partial group of eight and lags up to the signal's last sample.
    #[test]
    fn lagged_products_are_the_sums_one_lag_at_a_time() {
        let e: Vec<f32> = (0..300)
            .map(|i| ((i * 7919) % 613) as f32 / 300.0 - 1.0)
            .collect();
        for lags in [1..2, 3..40, 26..216, 290..300] {
            let got = lagged_products(&e, lags.clone());
            assert_eq!(got.len(), lags.len());
            for (l, g) in lags.zip(got) {
                let want: f32 = e.iter().zip(&e[l..]).map(|(a, b)| a * b).sum();
                assert_eq!(g.to_bits(), want.to_bits(), "lag {l}");
            }
        }
    }

    /// A spectrogram built by hand (128 mel bands of a 512-point STFT at 22,050 Hz, frames
    /// 128 samples apart) with a quiet floor, and on it: a kick (30-200 Hz up 40 dB, then
    /// decaying), a snare, a closed hat (from 5.5 kHz, gone in 30 ms), an open hat (ringing for
    /// 0.3 s) and a held bass tone at 55 Hz. Given the drum onsets, the hits are labelled at
    /// their frames with their bands' peak levels, the hats open or closed, and the bass note
    /// found with its pitch.
    #[test]
    fn hand_made_hits_are_labelled_and_the_bass_found() {
        let mel = BandProjection::mel(128, 512, 22050);
        let hz = mel.centres_hz().to_vec();
        let fs = 128.0 / 22050.0;
        let frames = 400;
        let mut db = Spectrogram::zeros(frames, 128);
        db.data.fill(-70.0);
        let mut add = |at: usize, bands: &dyn Fn(f32) -> bool, peak: f32, tau_frames: f32| {
            for t in at..frames {
                let level = peak - 8.7 * (t - at) as f32 / tau_frames;
                for (b, &f) in hz.iter().enumerate() {
                    if bands(f) {
                        let v = &mut db.data[t * 128 + b];
                        *v = v.max(level);
                    }
                }
            }
        };
        add(20, &|f| (30.0..200.0).contains(&f), -30.0, 10.0);
        add(120, &|f| f >= 600.0, -35.0, 20.0);
        add(200, &|f| f >= 5500.0, -40.0, 2.0);
        add(240, &|f| f >= 5500.0, -45.0, 60.0);
        add(320, &|f| (50.0..60.0).contains(&f), -20.0, 200.0);
        let hits = label_onsets(
            &db,
            &hz,
            fs,
            &DrumConfig::default(),
            [&[20], &[120], &[200, 240]],
        );
        let got: Vec<(Instrument, i32, i32)> = hits
            .iter()
            .map(|h| {
                (
                    h.instrument,
                    h.frame.round() as i32,
                    h.level_db.round() as i32,
                )
            })
            .collect();
        // The bass note's largest rise is complete at its first frame: it is reported 2 frames
        // early (the centre of the 4-frame rise). Levels: each band's mean at its peak.
        assert_eq!(
            got[..4],
            [
                (Instrument::Kick, 20, -30),
                (Instrument::Snare, 120, -35),
                (Instrument::ClosedHat, 200, -40),
                (Instrument::OpenHat, 240, -45),
            ],
            "{hits:?}"
        );
        assert_eq!(got.len(), 5, "{hits:?}");
        let bass = hits.last().unwrap();
        assert_eq!(bass.instrument, Instrument::Bass);
        assert_eq!(bass.frame.round() as i32, 318);
        let pitch = bass.pitch.unwrap();
        // 55 Hz is A1 (MIDI 33); the band nearest it decides, within a band's width.
        assert!((pitch - 33.0).abs() < 3.0, "{pitch}");
        // Snare bursts every 0.8 s, and the period of its onsets.
        let mut snares = Spectrogram::zeros(frames * 4, 128);
        snares.data.fill(-70.0);
        let period = 0.8 / fs;
        for k in 0..((frames * 4) as f32 / period) as usize {
            let at = (k as f32 * period).round() as usize;
            for t in at..(at + 20).min(frames * 4) {
                for (b, &f) in hz.iter().enumerate() {
                    if f >= 600.0 {
                        snares.data[t * 128 + b] = -30.0 - (t - at) as f32;
                    }
                }
            }
        }
        let r = rhythm(&snares, &hz, fs, &DrumConfig::default());
        let (p, clarity) = r.snare_period.unwrap();
        assert!((p - 0.8).abs() <= fs, "{p}");
        assert!(clarity > 0.9, "{clarity}");
    }
}
