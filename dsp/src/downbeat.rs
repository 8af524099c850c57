//! Where bars start: given a song's beat grid (tempo and beat phase from [`crate::tempo`]),
//! which of the four beats of a 4/4 bar is the downbeat.
//!
//! First the beat phase is checked against the drums ([`beats_on_the_drums`]): the tempo's
//! phase is where the most onset strength falls, and in a song whose open hi-hats on the
//! off-beats are louder than its kicks (house) that is half a beat off. The kick and snare
//! bands' onsets are summed on the tempo's beats and on the half-beats between them; when the
//! half-beats collect [`OFFBEAT_RATIO`] times as much, the beats move there. The drums' onsets,
//! here and below, are their bands' rises in dB above a floor [`ONSET_FLOOR_DB`] under the
//! drum's loud level (`DrumOnsets`, below).
//!
//! Beat `k` sits at frame `phase + k * period`. For each bar position `m` in 0..4 the beats
//! `k = m (mod 4)` are scored with five kinds of evidence, each averaged over the song and
//! scaled to sum to 1 over the four positions:
//!
//! - `kick[m]`: onset strength of the low bands (below 150 Hz: kick, 808) at the beat. Nearly
//!   every beat genre puts a kick on the one.
//! - `snare[m]`: onset strength of the 1-5 kHz bands (snare, clap, rim) at the beat. The one
//!   rarely carries the snare; the backbeat does, on beats 2 and 4, or on 3 in half-time
//!   (trap, drill).
//! - `bass[m]`: how much the 60-300 Hz bands (bass notes, chord roots) rise from the beat
//!   before to the beat (mean positive dB difference).
//! - `shape[m]`: how much the shape of the 150-2000 Hz spectrum (chords, bass and melody)
//!   changes from the beat before to the beat: one minus the cosine of the two beats' dB
//!   spectra, each less its own mean, so that a change of level alone does not count.
//!   Harmony changes on bar lines.
//! - `sections[m]`: how far the whole spectrum of the two beats from the beat on lies from
//!   that of the two beats before it (Euclidean distance of mean dB): sections start, and
//!   instruments come in or drop out, on bar lines.
//!
//! For `bass` and `shape` each beat's spectrum is averaged over its last three quarters (a
//! drum hit on the beat has mostly decayed by then, a bass note or chord has not). The snare
//! evidence is matched against the two templates of the genres (indices mod 4): backbeat
//! `min(snare[m+1], snare[m+3]) - max(snare[m], snare[m+2])` and half-time
//! `snare[m+2] - max(snare[m], snare[m+1], snare[m+3])`, and the better fit is the snare's
//! term. The score is `2 kick + fit + 0.5 bass + 2 shape + 3 sections` and the downbeat is the
//! best `m`. The drums alone cannot tell the one from the three when the kick falls on every
//! beat (house, techno, the Bo Diddley beat), and in whole songs the 1-5 kHz bands carry
//! synthesiser stabs and crashes on the one that read as a half-time snare; the harmony and
//! the sections tell them apart. The weights were chosen on three sets together (README,
//! "Whole songs written by people"); with them the first bar lines within a 16th went from 28
//! to 48 of 54 earlier renders of LMMS's demo songs (those where one bar position was right,
//! with the tempi of then), from 27 to 32 of 35 Hydrogen drum songs and from 354 to 357 of 360
//! synthesised songs, and they held on songs not used to choose them.
//! The confidence is the margin between the best and second-best score, divided by the best
//! (0: a tie; near 1: unambiguous).

use crate::bands::hz_to_mel;
#[cfg(test)]
use crate::bands::BandProjection;
use crate::stft::Spectrogram;
use crate::tempo::Tempo;

/// Beats per bar (4/4).
pub const BEATS_PER_BAR: usize = 4;

/// Beats on each side of a beat whose spectra the section-change evidence compares.
const NOVELTY_BEATS: usize = 2;

/// Weights of the evidence in a bar position's score (see the module docs).
const KICK_WEIGHT: f32 = 2.0;
const SNARE_WEIGHT: f32 = 1.0;
const BASS_WEIGHT: f32 = 0.5;
const SHAPE_WEIGHT: f32 = 2.0;
const SECTION_WEIGHT: f32 = 3.0;

/// How many times the kick and snare onset strength of the tempo's beats the half-beats
/// between them must collect for the beats to move there. Of 392 readings of nine corpora's
/// 360 songs (bundled, synthesiser seeds 2-5, FluidR3 seeds 1-3, TimGM6mb; a song is read again
/// at its genre's choice of tempo) 5 read 1.89-8.04 and moved, the others at most 1.12; of 35
/// drum songs written by people 2 read 1.54 and 1.67 and moved, the others at most 0.99.
pub const OFFBEAT_RATIO: f32 = 1.25;

/// A confidence below this marks a song's bar lines as unsure (`dataset-info` lists it). With
/// the detector's tempi: of the 72 renders of LMMS's demo songs (`bench/lmms_corpus.py`), 18
/// fall below it, among them 11 of the 22 whose first bar line is missed (more than a 16th
/// off, or on a wrong tempo); of nine corpora of 360 synthesised songs (bundled, synthesiser
/// seeds 2-5, FluidR3 seeds 1-3, TimGM6mb), 17, among them all 3 misses; of 35 drum songs
/// written by people, none, and none of their 3 misses (a swung jazz ride whose beats are read
/// on the swung 8th); in another render of them, 1, one of its 4 misses.
pub const UNSURE_CONFIDENCE: f32 = 0.1;

/// The bar phase of a song.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Downbeat {
    /// Which detected beat (0..4, counting from the tempo's phase) starts the first bar.
    pub beat: usize,
    /// Frame of the first downbeat, in `[0, bar)` frames.
    pub frame: f32,
    /// Margin of the best bar position over the next, in [0, 1].
    pub confidence: f32,
    /// The score of each bar position.
    pub scores: [f32; BEATS_PER_BAR],
}

/// Mel bands (of `mel`, covering 0 Hz to `sample_rate / 2`) whose centres lie in `[lo, hi)` Hz.
fn bands_between(n_bands: usize, sample_rate: u32, lo: f64, hi: f64) -> std::ops::Range<usize> {
    let top = hz_to_mel(sample_rate as f64 / 2.0);
    let idx =
        |hz: f64| ((hz_to_mel(hz) / top * (n_bands + 1) as f64).round() as usize).saturating_sub(1);
    let (a, b) = (idx(lo).min(n_bands - 1), idx(hi).min(n_bands));
    a..b.max(a + 1)
}

/// How far below the loud level of a drum's bands (dB) their rises still count as onsets (see
/// `DrumOnsets`). First bar lines within a 16th with the floor 20, 30, 40 and 60 dB down (at
/// 60 no rise reaches it: as without a floor): 353, 354, 354 and 347 of nine corpora's 360
/// songs (bundled, synthesiser seeds 2-5, FluidR3 seeds 1-3, TimGM6mb; the detector's tempi),
/// and 25, 27, 27 and 17 of 35 drum songs written by people (README, "Drum songs written by
/// people").
pub const ONSET_FLOOR_DB: f32 = 30.0;

/// A drum's loud level: the level its loudest band reaches in the loudest 1% of frames.
const LOUD_QUANTILE: f32 = 0.99;

/// Which drum's bands of [`DrumOnsets`].
#[derive(Debug, Clone, Copy)]
enum Drum {
    /// Below 150 Hz.
    Kick = 0,
    /// 1-5 kHz.
    Snare = 1,
}

/// Onsets in the kick and snare bands of a song's mel band dB: the positive dB flux of each
/// band, both frames raised to a floor [`ONSET_FLOOR_DB`] under the drum's loud level (the
/// [`LOUD_QUANTILE`] quantile over the song's frames of the loudest of its bands in each
/// frame). Without a floor, a hit that barely reaches a silent band rises as far in dB as one
/// that fills it: a rimshot's faint low end in the kick bands, silent once the kick had died
/// away, counted as much as a kick, and the bar lines of drum songs moved by a beat.
struct DrumOnsets<'a> {
    db: &'a Spectrogram,
    /// The bands of each [`Drum`].
    bands: [std::ops::Range<usize>; 2],
    /// The floor (dB) of each [`Drum`].
    floor: [f32; 2],
}

impl<'a> DrumOnsets<'a> {
    /// The drum bands of `db` (mel bands from 0 Hz to `sample_rate / 2`) and their floors.
    fn new(db: &'a Spectrogram, sample_rate: u32) -> Self {
        let bands = [
            bands_between(db.bins, sample_rate, 0.0, 150.0),
            bands_between(db.bins, sample_rate, 1000.0, 5000.0),
        ];
        let mut levels = Vec::with_capacity(db.frames);
        let floor = bands.clone().map(|range| {
            levels.clear();
            levels.extend((0..db.frames).map(|t| {
                db.frame(t)[range.clone()]
                    .iter()
                    .fold(f32::NEG_INFINITY, |a, &v| a.max(v))
            }));
            if levels.is_empty() {
                return f32::NEG_INFINITY;
            }
            let k = ((levels.len() - 1) as f32 * LOUD_QUANTILE) as usize;
            *levels.select_nth_unstable_by(k, f32::total_cmp).1 - ONSET_FLOOR_DB
        });
        DrumOnsets { db, bands, floor }
    }

    /// Mean positive dB flux over the bands of `drum` at frame `t`, above its floor (0 at
    /// frame 0 and past the end).
    fn flux(&self, t: usize, drum: Drum) -> f32 {
        if t == 0 || t >= self.db.frames {
            return 0.0;
        }
        let (cur, prev) = (self.db.frame(t), self.db.frame(t - 1));
        let (bands, floor) = (&self.bands[drum as usize], self.floor[drum as usize]);
        bands
            .clone()
            .map(|b| (cur[b].max(floor) - prev[b].max(floor)).max(0.0))
            .sum::<f32>()
            / bands.len() as f32
    }

    /// Strongest flux of `drum` within a frame of frame `f` (onsets are humanised and windows
    /// smear).
    fn peak(&self, f: usize, drum: Drum) -> f32 {
        (f.saturating_sub(1)..=f + 1)
            .map(|t| self.flux(t, drum))
            .fold(0.0f32, f32::max)
    }
}

/// `tempo` with its beats on the drums: moved by half a beat when the kick and snare bands'
/// onsets on the half-beats between its beats sum to [`OFFBEAT_RATIO`] times those on its
/// beats (see the module docs); else as it is. The phase stays in `[0, period)`.
pub fn beats_on_the_drums(mel_db: &Spectrogram, sample_rate: u32, tempo: &Tempo) -> Tempo {
    if mel_db.bins < 8 {
        return *tempo;
    }
    on_the_drums(&DrumOnsets::new(mel_db, sample_rate), tempo)
}

/// [`beats_on_the_drums`] from the song's drum onsets.
fn on_the_drums(drums: &DrumOnsets, tempo: &Tempo) -> Tempo {
    let period = tempo.period_frames;
    if period.is_nan() || period <= 0.0 {
        return *tempo;
    }
    let beats = ((drums.db.frames as f32 - tempo.phase_frames) / period).floor() as usize;
    let strength = |phase: f32| -> f32 {
        (1..beats.saturating_sub(1))
            .map(|k| {
                let f = (phase + k as f32 * period).round() as usize;
                drums.peak(f, Drum::Kick) + drums.peak(f, Drum::Snare)
            })
            .sum()
    };
    let (on, off) = (
        strength(tempo.phase_frames),
        strength(tempo.phase_frames + 0.5 * period),
    );
    log::debug!("beat phase: kick and snare onsets on the beats {on}, between them {off}");
    if off > OFFBEAT_RATIO * on {
        Tempo {
            phase_frames: (tempo.phase_frames + 0.5 * period) % period,
            ..*tempo
        }
    } else {
        *tempo
    }
}

/// The downbeat of a song from its mel-band dB spectrogram (`frames x n_bands`, mel bands
/// from 0 Hz to `sample_rate / 2` as [`crate::bands::BandProjection::mel`] makes them) and its
/// tempo, whose beats are first put on the drums ([`beats_on_the_drums`]). `None` when fewer
/// than two bars fit.
pub fn find_downbeat(mel_db: &Spectrogram, sample_rate: u32, tempo: &Tempo) -> Option<Downbeat> {
    let n = mel_db.bins;
    if n < 8 {
        return None;
    }
    let drums = DrumOnsets::new(mel_db, sample_rate);
    let tempo = &on_the_drums(&drums, tempo);
    let period = tempo.period_frames;
    let beats = ((mel_db.frames as f32 - tempo.phase_frames) / period).floor() as usize;
    if beats < 2 * BEATS_PER_BAR {
        return None;
    }
    let frame_of = |k: usize| (tempo.phase_frames + k as f32 * period).round() as usize;
    let onsets = |drum: Drum| -> Vec<Option<f32>> {
        (0..beats)
            .map(|k| (k > 0).then(|| drums.peak(frame_of(k), drum)))
            .collect()
    };
    let evidence = |per_beat: Vec<Option<f32>>| shares(per_position(&per_beat));
    let kick = evidence(onsets(Drum::Kick));
    let snare = evidence(onsets(Drum::Snare));
    let bass = evidence(bass_rises(mel_db, tempo, beats, sample_rate));
    let shape = evidence(shape_changes(mel_db, tempo, beats, sample_rate));
    let sections = evidence(section_changes(mel_db, tempo, beats));
    log::debug!(
        "downbeat evidence per bar position: kick {kick:?} snare {snare:?} bass {bass:?} \
         shape {shape:?} sections {sections:?}"
    );
    let scores: [f32; 4] = std::array::from_fn(|m| {
        let s = |d: usize| snare[(m + d) % 4];
        let backbeat = s(1).min(s(3)) - s(0).max(s(2));
        let half_time = s(2) - s(0).max(s(1)).max(s(3));
        KICK_WEIGHT * kick[m]
            + SNARE_WEIGHT * backbeat.max(half_time)
            + BASS_WEIGHT * bass[m]
            + SHAPE_WEIGHT * shape[m]
            + SECTION_WEIGHT * sections[m]
    });
    let mut order = [0usize, 1, 2, 3];
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (best, second) = (scores[order[0]], scores[order[1]]);
    let confidence = if best > 0.0 {
        ((best - second) / best).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let beat = order[0];
    Some(Downbeat {
        beat,
        frame: tempo.phase_frames + beat as f32 * period,
        confidence,
        scores,
    })
}

/// Mean dB of the mel bands `bands` of each beat `k` in `0..beats`, over the frames from
/// `from` (a fraction of a beat) after the beat to the next beat.
fn beat_means(
    db: &Spectrogram,
    tempo: &Tempo,
    beats: usize,
    from: f32,
    bands: std::ops::Range<usize>,
) -> Vec<Vec<f32>> {
    let frame = |beat: f32| {
        ((tempo.phase_frames + beat * tempo.period_frames)
            .round()
            .max(0.0) as usize)
            .min(db.frames)
    };
    (0..beats)
        .map(|k| {
            let start = frame(k as f32 + from);
            let end = frame(k as f32 + 1.0).max(start + 1).min(db.frames);
            let mut mean = vec![0.0f32; bands.len()];
            for t in start..end {
                for (acc, &v) in mean.iter_mut().zip(&db.frame(t)[bands.clone()]) {
                    *acc += v;
                }
            }
            let n = (end.saturating_sub(start)).max(1) as f32;
            mean.iter_mut().for_each(|v| *v /= n);
            mean
        })
        .collect()
}

/// How much the 60-300 Hz bands (bass notes, chord roots) rise from each beat to the next: the
/// mean over the bands of the positive difference of the two beats' mean dB over their last
/// three quarters (a drum hit on the beat has mostly decayed by then, a bass note or chord
/// has not). `None` for beat 0.
fn bass_rises(db: &Spectrogram, tempo: &Tempo, beats: usize, sample_rate: u32) -> Vec<Option<f32>> {
    let bands = bands_between(db.bins, sample_rate, 60.0, 300.0);
    let levels = beat_means(db, tempo, beats, 0.25, bands);
    from_the_beat_before(&levels, |before, after| {
        let rise: f32 = before
            .iter()
            .zip(after)
            .map(|(a, b)| (b - a).max(0.0))
            .sum();
        rise / before.len() as f32
    })
}

/// How much the shape of the 150-2000 Hz spectrum (chords, bass notes and melody) changes from
/// each beat to the next: one minus the cosine of the two beats' mean dB spectra over their
/// last three quarters, each less its own mean, so that a change of level alone does not
/// count. `None` for beat 0.
fn shape_changes(
    db: &Spectrogram,
    tempo: &Tempo,
    beats: usize,
    sample_rate: u32,
) -> Vec<Option<f32>> {
    let bands = bands_between(db.bins, sample_rate, 150.0, 2000.0);
    let spectra: Vec<Vec<f32>> = beat_means(db, tempo, beats, 0.25, bands)
        .into_iter()
        .map(|mut s| {
            let mean = s.iter().sum::<f32>() / s.len().max(1) as f32;
            s.iter_mut().for_each(|v| *v -= mean);
            s
        })
        .collect();
    from_the_beat_before(&spectra, |a, b| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norms = a.iter().map(|x| x * x).sum::<f32>().sqrt()
            * b.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norms > 0.0 {
            1.0 - dot / norms
        } else {
            0.0
        }
    })
}

/// `change(the beat before's values, the beat's values)` for each beat of `per_beat`; `None`
/// for beat 0.
fn from_the_beat_before(
    per_beat: &[Vec<f32>],
    change: impl Fn(&[f32], &[f32]) -> f32,
) -> Vec<Option<f32>> {
    std::iter::once(None)
        .chain(per_beat.windows(2).map(|w| Some(change(&w[0], &w[1]))))
        .collect()
}

/// How far the whole spectrum of the [`NOVELTY_BEATS`] beats from each beat on lies from that
/// of the [`NOVELTY_BEATS`] beats before it (Euclidean distance of their mean dB, over all
/// bands): sections, and instruments coming in or dropping out, start on bar lines. `None`
/// where either side runs past the song.
fn section_changes(db: &Spectrogram, tempo: &Tempo, beats: usize) -> Vec<Option<f32>> {
    const L: usize = NOVELTY_BEATS;
    let spectra = beat_means(db, tempo, beats, 0.0, 0..db.bins);
    let mean = |r: std::ops::Range<usize>| -> Vec<f32> {
        let mut m = vec![0.0f32; db.bins];
        for s in &spectra[r] {
            m.iter_mut().zip(s).for_each(|(a, v)| *a += v / L as f32);
        }
        m
    };
    (0..beats)
        .map(|k| {
            if k < L || k + L > beats {
                return None;
            }
            let (before, after) = (mean(k - L..k), mean(k..k + L));
            Some(
                before
                    .iter()
                    .zip(&after)
                    .map(|(a, b)| (b - a) * (b - a))
                    .sum::<f32>()
                    .sqrt(),
            )
        })
        .collect()
}

/// `v` scaled to sum to 1 (all 1/4 when it sums to 0).
fn shares(v: [f32; BEATS_PER_BAR]) -> [f32; BEATS_PER_BAR] {
    let total: f32 = v.iter().sum();
    v.map(|x| {
        if total > 0.0 {
            x / total
        } else {
            1.0 / BEATS_PER_BAR as f32
        }
    })
}

/// The mean of `values` (one per beat) over the beats of each bar position (`k mod 4`), the
/// `None`s left out.
fn per_position(values: &[Option<f32>]) -> [f32; BEATS_PER_BAR] {
    let (mut sum, mut count) = ([0f32; BEATS_PER_BAR], [0f32; BEATS_PER_BAR]);
    for (k, v) in values.iter().enumerate() {
        if let Some(v) = v {
            sum[k % BEATS_PER_BAR] += v;
            count[k % BEATS_PER_BAR] += 1.0;
        }
    }
    std::array::from_fn(|m| sum[m] / count[m].max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kick drum `t` seconds after its hit: a sine falling from 150 to 50 Hz, decaying.
    fn kick(t: f32) -> f32 {
        (2.0 * std::f32::consts::PI * (50.0 + 100.0 * (-t * 30.0).exp()) * t).sin()
            * (-t * 8.0).exp()
    }

    /// White noise in [-0.5, 0.5) from a xorshift32 state.
    fn xorshift(state: &mut u32) -> f32 {
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        *state as f32 / u32::MAX as f32 - 0.5
    }

    /// Bars of a kick on 1, a snare on 2 and 4 (on 3 with `half_time`), hats on 8ths, and a
    /// bass note changing every bar, starting `offset` seconds in (so the first downbeat is
    /// there).
    fn song(bpm: f32, offset: f32, seconds: f32, half_time: bool) -> Vec<f32> {
        let sr = 22050.0;
        let beat = 60.0 / bpm;
        let mut x = vec![0.0f32; (seconds * sr) as usize];
        let mut add = |t: f32, f: &dyn Fn(f32) -> f32, len: f32| {
            let s = (t * sr) as usize;
            for i in 0..(len * sr) as usize {
                if s + i < x.len() {
                    x[s + i] += f(i as f32 / sr);
                }
            }
        };
        let mut noise = 12345u32;
        let hiss: Vec<f32> = (0..22050).map(|_| xorshift(&mut noise)).collect();
        let snare = |t: f32| hiss[(t * 22050.0) as usize % 22050] * 1.5 * (-t * 25.0).exp();
        let hat = |t: f32| hiss[(t * 44100.0) as usize % 22050] * 0.3 * (-t * 80.0).exp();
        let mut bar = 0;
        let mut t0 = offset - 4.0 * beat; // a pickup bar before the offset
        while t0 < seconds {
            let note = [55.0, 65.4, 49.0, 73.4][bar % 4];
            let bass = move |t: f32| 0.3 * (2.0 * std::f32::consts::PI * note * t).sin();
            if t0 >= 0.0 {
                add(t0, &bass, 4.0 * beat * 0.95);
            }
            for b in 0..4 {
                let t = t0 + b as f32 * beat;
                if t < 0.0 {
                    continue;
                }
                if b == 0 {
                    add(t, &kick, 0.4);
                }
                if (half_time && b == 2) || (!half_time && b % 2 == 1) {
                    add(t, &snare, 0.25);
                }
                add(t, &hat, 0.05);
                add(t + beat / 2.0, &hat, 0.05);
            }
            t0 += 4.0 * beat;
            bar += 1;
        }
        x
    }

    /// Four on the floor at 124 BPM: a kick on every beat and a louder open hi-hat (noise
    /// differenced twice, so mostly above 5 kHz, ringing for a quarter of a second) on every
    /// off-beat, the first beat at `offset` s.
    fn house(offset: f32, seconds: f32) -> Vec<f32> {
        let (sr, beat) = (22050.0, 60.0 / 124.0);
        let mut x = vec![0.0f32; (seconds * sr) as usize];
        let mut state = 99u32;
        let mut t = offset;
        while t < seconds {
            let s = (t * sr) as usize;
            for i in 0..(0.4 * sr) as usize {
                let u = i as f32 / sr;
                if let Some(v) = x.get_mut(s + i) {
                    *v += kick(u);
                }
            }
            let h = ((t + beat / 2.0) * sr) as usize;
            let (mut n1, mut n2) = (0.0f32, 0.0f32);
            for i in 0..(0.25 * sr) as usize {
                let noise = xorshift(&mut state);
                let high = noise - 2.0 * n1 + n2;
                (n2, n1) = (n1, noise);
                if let Some(v) = x.get_mut(h + i) {
                    *v += 1.5 * high * (-(i as f32 / sr) * 8.0).exp();
                }
            }
            t += beat;
        }
        x
    }

    /// Four on the floor at `bpm` from 0 s (a kick on every beat, a clap on every other beat,
    /// hats on the 8ths) and, from `offset` s, a chord in 349-784 Hz (over the bass bands)
    /// changing every bar: C, A minor, F, G. The claps fall on 2 and 4 of the chords' bars.
    fn four_on_the_floor_with_chords(bpm: f32, offset: f32, seconds: f32) -> Vec<f32> {
        let (sr, beat) = (22050.0, 60.0 / bpm);
        let mut x = vec![0.0f32; (seconds * sr) as usize];
        let mut add = |t: f32, len: f32, f: &dyn Fn(f32) -> f32| {
            let s = (t * sr) as usize;
            for i in 0..(len * sr) as usize {
                if let Some(v) = x.get_mut(s + i) {
                    *v += f(i as f32 / sr);
                }
            }
        };
        let mut noise = 777u32;
        let hiss: Vec<f32> = (0..22050).map(|_| xorshift(&mut noise)).collect();
        let clap = |t: f32| hiss[(t * 22050.0) as usize % 22050] * 1.5 * (-t * 25.0).exp();
        let hat = |t: f32| hiss[(t * 44100.0) as usize % 22050] * 0.3 * (-t * 80.0).exp();
        // Beats before the offset (a whole number of them) keep the claps on its 2 and 4.
        let first = offset - (offset / beat).floor() * beat;
        let lead_in = ((offset - first) / beat).round() as usize;
        let mut k = 0;
        while first + k as f32 * beat < seconds {
            let t = first + k as f32 * beat;
            add(t, 0.4, &kick);
            if (k + 4 - lead_in % 4) % 2 == 1 {
                add(t, 0.25, &clap);
            }
            add(t, 0.05, &hat);
            add(t + beat / 2.0, 0.05, &hat);
            k += 1;
        }
        let chords = [
            [523.3, 659.3, 784.0],
            [440.0, 523.3, 659.3],
            [349.2, 440.0, 523.3],
            [392.0, 493.9, 587.3],
        ];
        let (mut bar, mut t0) = (0, offset);
        while t0 < seconds {
            let notes = chords[bar % 4];
            add(t0, 4.0 * beat * 0.95, &move |t: f32| {
                notes
                    .iter()
                    .map(|f| 0.08 * (2.0 * std::f32::consts::PI * f * t).sin())
                    .sum::<f32>()
            });
            t0 += 4.0 * beat;
            bar += 1;
        }
        x
    }

    #[test]
    fn the_chords_tell_the_one_from_the_three_when_the_drums_cannot() {
        let mut plan = crate::StftPlan::new(crate::StftConfig::default()).unwrap();
        let mel = BandProjection::mel(128, 1024, 22050);
        let fr = 22050.0 / 256.0;
        for (bpm, offset) in [
            (124.0, 0.0),
            (124.0, 2.0 * 60.0 / 124.0),
            (118.0, 0.6),
            (128.0, 1.4),
        ] {
            let x = four_on_the_floor_with_chords(bpm, offset, 20.0);
            let mdb = mel.forward(&crate::spectrogram::log_spectrogram(&mut plan, &x).unwrap());
            let period = 60.0 / bpm * fr;
            let tempo = Tempo {
                bpm,
                period_frames: period,
                phase_frames: (offset * fr) % period,
                strength: 0.5,
            };
            let d = find_downbeat(&mdb, 22050, &tempo).unwrap();
            let bar = 4.0 * period;
            let truth = (offset * fr) % bar;
            let err = (d.frame - truth)
                .rem_euclid(bar)
                .min((truth - d.frame).rem_euclid(bar));
            assert!(
                err < bar / 16.0,
                "{bpm} BPM, chords from {offset} s: bar line at frame {} (truth {truth}, scores {:?})",
                d.frame,
                d.scores
            );
        }
    }

    #[test]
    fn a_rise_far_under_a_drum_band_s_loud_level_is_no_onset() {
        // 64 mel bands at 22.05 kHz, silent (-100 dB) but for the kick bands: a kick (0 dB)
        // over frames 10-13 and a faint leak (-45 dB, 45 dB under the kick) at frame 30.
        let mut db = Spectrogram::zeros(200, 64);
        db.data.fill(-100.0);
        let kick_bands = DrumOnsets::new(&db, 22050).bands[Drum::Kick as usize].clone();
        assert!(!kick_bands.is_empty());
        for t in 10..14 {
            kick_bands.clone().for_each(|b| db.frame_mut(t)[b] = 0.0);
        }
        kick_bands.clone().for_each(|b| db.frame_mut(30)[b] = -45.0);
        let drums = DrumOnsets::new(&db, 22050);
        // The kick bands' loud level is the kick's 0 dB (its 4 frames reach into the top 1%),
        // so the kick rises from the floor to 0 dB and the leak stays under the floor.
        assert!((drums.flux(10, Drum::Kick) - ONSET_FLOOR_DB).abs() < 1e-4);
        assert_eq!(drums.flux(11, Drum::Kick), 0.0);
        assert_eq!(
            drums.peak(30, Drum::Kick),
            0.0,
            "the leak counted as a kick"
        );
        assert_eq!(drums.peak(11, Drum::Snare), 0.0);
    }

    #[test]
    fn beats_move_onto_the_kicks_from_loud_off_beat_hats() {
        let mut plan = crate::StftPlan::new(crate::StftConfig::default()).unwrap();
        let mel = BandProjection::mel(128, 1024, 22050);
        let fr = 22050.0 / 256.0;
        let db = crate::spectrogram::log_spectrogram(&mut plan, &house(0.2, 16.0)).unwrap();
        let mdb = mel.forward(&db);
        let period = 60.0 / 124.0 * fr;
        let on_beat = 0.2 * fr;
        let tempo = |phase: f32| Tempo {
            bpm: 124.0,
            period_frames: period,
            phase_frames: phase,
            strength: 0.5,
        };
        // Phase on the off-beats (where the hats are): moved half a beat, onto the kicks.
        let moved = beats_on_the_drums(&mdb, 22050, &tempo(on_beat + period / 2.0));
        assert!((moved.phase_frames - on_beat).abs() < 1.0, "{moved:?}");
        // Phase on the kicks: left where it is.
        let kept = beats_on_the_drums(&mdb, 22050, &tempo(on_beat));
        assert_eq!(kept.phase_frames, on_beat);
        // Through the detector: its phase falls on the hats (the most onset strength); the
        // bar lines found from it fall on a kick.
        let detected = crate::tempo::tempo_of_spectrogram(&db, &mel, fr).unwrap();
        let beats_off = |frame: f32| {
            let b = (frame - on_beat) / period;
            (b - b.round()).abs()
        };
        assert!(beats_off(detected.phase_frames) > 0.4, "{detected:?}");
        let d = find_downbeat(&mdb, 22050, &detected).unwrap();
        assert!(beats_off(d.frame) < 0.1, "{d:?}");
    }

    #[test]
    fn finds_the_bar_line_of_backbeat_and_half_time_patterns() {
        let mut plan = crate::StftPlan::new(crate::StftConfig::default()).unwrap();
        let mel = BandProjection::mel(128, 1024, 22050);
        let fr = 22050.0 / 256.0;
        // (At 75 BPM the 8th-note hats of this song read as 150 BPM: the tempo's octave is the
        // tempo detector's business, see crate::tempo; the tempi here are read right.)
        for (bpm, offset, half) in [
            (90.0, 0.7, false),
            (140.0, 0.25, true),
            (124.0, 1.3, false),
            (95.0, 0.0, false),
            (132.0, 0.0, true),
        ] {
            let x = song(bpm, offset, 16.0, half);
            let db = crate::spectrogram::log_spectrogram(&mut plan, &x).unwrap();
            let mdb = mel.forward(&db);
            let tempo = crate::tempo::tempo_of_spectrogram(&db, &mel, fr).unwrap();
            assert!(
                (tempo.bpm - bpm).abs() < 0.02 * bpm,
                "{bpm}: tempo {tempo:?}"
            );
            let d = find_downbeat(&mdb, 22050, &tempo).unwrap();
            let bar = 4.0 * 60.0 / bpm * fr;
            let truth = (offset * fr) % bar;
            let err = ((d.frame - truth).rem_euclid(bar)).min((truth - d.frame).rem_euclid(bar));
            let sixteenth = bar / 16.0;
            assert!(
                err < sixteenth,
                "{bpm} BPM, downbeat at {offset} s: found frame {} (truth {truth}, scores {:?})",
                d.frame,
                d.scores
            );
            assert!(d.confidence > 0.1, "{bpm}: {d:?}");
        }
    }
}
