//! The representation: how a clip of audio becomes the model's input, and back.
//!
//! Bar-synchronous (the default, [`BarGrid`]): an example is `bars` whole 4/4 bars starting on
//! a bar line of the song, analysed on a grid of `frames_per_16th` STFT frames per 16th note:
//! frame `t` is centred at `start + t * bar_samples * bars / frames` (a fractional sample
//! position; zeros outside the song), so the same step of the bar is the same frame whatever
//! the song's tempo. With the defaults an example is 2 bars = 256 frames.
//!
//! Fixed clips (the first version, `grid: None`): a 3.0 s clip, STFT frames every `hop`
//! samples (centred, `pad` padding), 259 frames.
//!
//! Either way, frames are periodic-Hann windowed `n_fft`-point magnitudes -> dB (reference: a
//! full-scale sine = 0 dB, floor `-80 dB`, see [`dsp::spectrogram`]) -> `bands` mel bands
//! (the triangle-weighted mean of the bins' power, in dB; models of the first versions averaged
//! the dB levels: [`dsp::bands::BandAverage`]) -> per-band standardisation with
//! training-split statistics ([`Normalization`]). A clip's features are `frames x bands`
//! values, frame-major (`data[t * bands + b]`); with the defaults 256 x 128 = 32,768 values.

use dsp::bands::{BandAverage, BandProjection};
use dsp::spectrogram::{db_reference, log_spectrogram_into, FLOOR_DB};
use dsp::{ComplexSpec, Spectrogram, StftConfig, StftPlan};
use serde::{Deserialize, Serialize};

use crate::detail::{DetailFit, SpectralDetail};

/// The bar-synchronous grid. Defaults: 2 bars, 8 frames per 16th note (256 frames).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BarGrid {
    /// Whole 4/4 bars per example.
    pub bars: usize,
    /// STFT frames per 16th note.
    pub frames_per_16th: usize,
}

impl Default for BarGrid {
    fn default() -> Self {
        BarGrid {
            bars: 2,
            frames_per_16th: 8,
        }
    }
}

impl BarGrid {
    /// 16th notes per 4/4 bar.
    pub const STEPS_PER_BAR: usize = 16;

    pub fn frames(&self) -> usize {
        self.bars * Self::STEPS_PER_BAR * self.frames_per_16th
    }

    /// Frames of one bar.
    pub fn frames_per_bar(&self) -> usize {
        Self::STEPS_PER_BAR * self.frames_per_16th
    }
}

/// Samples in one 4/4 bar at `bpm` and `sample_rate` (fractional).
pub fn bar_samples(bpm: f32, sample_rate: u32) -> f64 {
    4.0 * 60.0 / bpm as f64 * sample_rate as f64
}

/// Every numeric choice of the representation. Saved with the model, so a model always
/// generates with the representation it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Bar-synchronous examples (the default); `None`: fixed clips of `clip_seconds`.
    pub grid: Option<BarGrid>,
    /// Sample rate all audio is resampled to (Hz). Default 22050.
    pub sample_rate: u32,
    /// FFT/window length (samples). Default 1024.
    pub n_fft: usize,
    /// Hop between frames (samples). Default 256.
    pub hop: usize,
    /// Padding of centred edge frames, for analysis with fixed clips and for Griffin-Lim when
    /// rendering. Default: see [`dsp::Padding`]'s default. (Bar-grid examples are framed
    /// inside their song; frames past its ends see zeros.) Absent in a saved config: the default.
    #[serde(default)]
    pub pad: dsp::Padding,
    /// Fixed clips: clip length (seconds). Default 3.0 (66,150 samples, 259 frames).
    pub clip_seconds: f32,
    /// Fixed clips: hop between clip starts before beat alignment (seconds). Default 1.5.
    pub clip_hop_seconds: f32,
    /// Number of mel bands; `n_fft/2 + 1` (513) keeps the linear STFT. Default 128.
    pub bands: usize,
    /// How a band's level is formed from its bins. Default: [`BandAverage`]'s default (the
    /// power); absent in a saved config (a model of an earlier version): the mean dB level.
    #[serde(default = "legacy_band_average")]
    pub band_average: BandAverage,
    /// Clips whose RMS is below this level (dBFS) are dropped as silent. Default -50.
    pub silence_dbfs: f32,
    /// Fixed clips: start clips on detected beats. Default true.
    pub beat_align: bool,
    /// Bar grid: bars between example starts. Default 1 (examples overlap by all but a bar).
    pub example_hop_bars: usize,
    /// Use the tempo a song's tag or file name declares (see `dataset::tempo_choice`).
    /// Default true; absent in a saved config: true.
    #[serde(default = "yes")]
    pub tempo_metadata: bool,
}

fn yes() -> bool {
    true
}

fn legacy_band_average() -> BandAverage {
    BandAverage::Db
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            grid: Some(BarGrid::default()),
            sample_rate: dsp::SAMPLE_RATE,
            n_fft: 1024,
            hop: 256,
            pad: dsp::Padding::default(),
            clip_seconds: 3.0,
            clip_hop_seconds: 1.5,
            bands: 128,
            band_average: BandAverage::default(),
            silence_dbfs: -50.0,
            beat_align: true,
            example_hop_bars: 1,
            tempo_metadata: true,
        }
    }
}

impl FeatureConfig {
    /// Whether every value is one the pipeline can run with (a `config.json` may have been
    /// edited by hand): the reason when not.
    pub fn validate(&self) -> Result<(), String> {
        let bins = self.n_fft / 2 + 1;
        let checks = [
            (
                (8000..=192_000).contains(&self.sample_rate),
                format!("sample_rate {} is not in 8000..=192000", self.sample_rate),
            ),
            (
                self.n_fft >= 4 && self.n_fft.is_multiple_of(2) && self.n_fft <= 1 << 16,
                format!("n_fft {} is not an even number in 4..=65536", self.n_fft),
            ),
            (
                self.hop >= 1 && self.hop <= self.n_fft,
                format!("hop {} is not in 1..=n_fft", self.hop),
            ),
            (
                self.bands >= 1 && self.bands <= bins,
                format!("bands {} is not in 1..={bins}", self.bands),
            ),
            (
                self.clip_seconds > 0.0 && self.clip_seconds <= 60.0,
                format!("clip_seconds {} is not in (0, 60]", self.clip_seconds),
            ),
            (
                self.clip_hop_seconds > 0.0 && self.clip_hop_seconds <= 60.0,
                format!(
                    "clip_hop_seconds {} is not in (0, 60]",
                    self.clip_hop_seconds
                ),
            ),
            (
                self.example_hop_bars >= 1,
                "example_hop_bars must be at least 1".to_string(),
            ),
            (
                self.grid.is_none_or(|g| {
                    (1..=64).contains(&g.bars) && (1..=64).contains(&g.frames_per_16th)
                }),
                "grid bars and frames_per_16th must be in 1..=64".to_string(),
            ),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err(why),
            None => Ok(()),
        }
    }

    pub fn stft(&self) -> StftConfig {
        StftConfig {
            n_fft: self.n_fft,
            hop: self.hop,
            pad: self.pad,
        }
    }
    pub fn clip_samples(&self) -> usize {
        (self.clip_seconds * self.sample_rate as f32).round() as usize
    }
    pub fn frames(&self) -> usize {
        match self.grid {
            Some(g) => g.frames(),
            None => self.stft().frames(self.clip_samples()),
        }
    }
    /// Samples of one example: `bars` bars at `bpm` on the grid, else the fixed clip.
    pub fn example_samples(&self, bpm: f32) -> f64 {
        match self.grid {
            Some(g) => g.bars as f64 * bar_samples(bpm, self.sample_rate),
            None => self.clip_samples() as f64,
        }
    }
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }
    pub fn bands(&self) -> usize {
        self.bands.min(self.bins())
    }
    /// Values per clip: frames x bands.
    pub fn clip_len(&self) -> usize {
        self.frames() * self.bands()
    }
    /// STFT frames per second.
    pub fn frame_rate(&self) -> f32 {
        self.sample_rate as f32 / self.hop as f32
    }
    pub fn projection(&self) -> BandProjection {
        BandProjection::mel(self.bands(), self.n_fft, self.sample_rate)
    }
    /// The 128 mel bands the tempo detector uses (whatever the model's own bands are).
    pub fn projection_for_tempo(&self) -> BandProjection {
        BandProjection::mel(128.min(self.bins()), self.n_fft, self.sample_rate)
    }
    /// A stable 64-bit hash of the configuration (FNV-1a over its JSON), used by the cache.
    pub fn hash(&self) -> u64 {
        fnv1a(
            serde_json::to_string(self)
                .expect("config serialises")
                .as_bytes(),
        )
    }
}

/// FNV-1a, 64 bit: stable across runs and platforms (unlike `std`'s hasher).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The band frames of the last grid example of one signal, by the sample each is centred on.
/// Examples that start every bar overlap by a bar (two-bar examples): the next example takes
/// the frames it shares from here instead of analysing them again, which halves the work. A
/// frame depends only on its centre sample, so the values are the same. Keep one per signal.
#[derive(Debug, Default)]
pub struct SharedFrames {
    /// Centre sample of each frame, ascending.
    centres: Vec<i64>,
    /// The frames (frame-major bands).
    bands: Vec<f32>,
    /// Frames analysed so far (not taken from the previous example).
    pub analysed: usize,
}

/// Turns audio into band dB features and back to magnitudes; owns its plans and its STFT
/// buffers (large fresh allocations cost page faults on every call otherwise).
pub struct FeatureExtractor {
    pub config: FeatureConfig,
    plan: StftPlan,
    projection: BandProjection,
    complex: ComplexSpec,
    db: Spectrogram,
    /// The tempo detector's mel bands ([`FeatureConfig::projection_for_tempo`]), built on the
    /// first [`FeatureExtractor::tempo_analysis`].
    tempo_mel: Option<BandProjection>,
    /// The detector's band dB of the last song analysed (the next song reuses its memory).
    tempo_db: Spectrogram,
}

/// What [`FeatureExtractor::tempo_analysis`] finds in a whole song; borrows the extractor's
/// buffers until the next analysis.
pub struct TempoBands<'a> {
    /// The tempo envelope ([`dsp::tempo::tempo_envelope`]), one value per STFT frame.
    pub envelope: Vec<f32>,
    /// The detector's mel band dB (frames x bands).
    pub db: &'a Spectrogram,
    /// The detector's mel bands.
    pub mel: &'a BandProjection,
}

impl FeatureExtractor {
    pub fn new(config: &FeatureConfig) -> dsp::Result<Self> {
        Ok(FeatureExtractor {
            config: config.clone(),
            plan: StftPlan::new(config.stft())?,
            projection: config.projection(),
            complex: ComplexSpec::zeros(0, 0),
            db: Spectrogram::zeros(0, 0),
            tempo_mel: None,
            tempo_db: Spectrogram::zeros(0, 0),
        })
    }

    /// Centre frequency (Hz) of each band.
    pub fn band_centres_hz(&self) -> &[f32] {
        self.projection.centres_hz()
    }

    /// Band dB features (frames x bands) of a fixed clip.
    pub fn band_db(&mut self, clip: &[f32]) -> dsp::Result<Spectrogram> {
        log_spectrogram_into(&mut self.plan, clip, &mut self.complex, &mut self.db)?;
        Ok(self
            .projection
            .forward_with(&self.db, self.config.band_average))
    }

    /// The bin dB spectrogram of a whole signal a block of frames at a time: `f(first frame,
    /// the block's dB, the extractor's band projection)` for each block in order. Memory holds
    /// one block, not the signal's STFT, and a block is small enough (32 frames: 130 kB of
    /// complex bins, 65 kB of dB) to stay in the processor's cache between the transform, the
    /// dB and what `f` reads: blocks of 1024 frames gave the same output and made the tempo
    /// analysis a quarter slower.
    fn each_block(
        &mut self,
        signal: &[f32],
        mut f: impl FnMut(usize, &Spectrogram, &BandProjection),
    ) -> dsp::Result<()> {
        const BLOCK: usize = 32;
        let frames = self.config.stft().frames(signal.len());
        for t0 in (0..frames).step_by(BLOCK) {
            let t1 = (t0 + BLOCK).min(frames);
            dsp::spectrogram::log_spectrogram_frames_into(
                &mut self.plan,
                signal,
                t0..t1,
                &mut self.complex,
                &mut self.db,
            )?;
            f(t0, &self.db, &self.projection);
        }
        Ok(())
    }

    /// Band dB features (frames x bands) of a whole signal of any length, the same as
    /// [`FeatureExtractor::band_db`], computed in blocks of frames: memory holds the bands, not
    /// the signal's STFT (for 10 minutes, 26 MB of bands instead of 320 MB of complex and dB
    /// bins).
    pub fn band_db_blocks(&mut self, signal: &[f32]) -> dsp::Result<Spectrogram> {
        let frames = self.config.stft().frames(signal.len());
        let (bands, average) = (self.projection.n_bands, self.config.band_average);
        let mut out = Spectrogram::zeros(frames, bands);
        self.each_block(signal, |t0, db, projection| {
            out.data[t0 * bands..(t0 + db.frames) * bands]
                .copy_from_slice(&projection.forward_with(db, average).data);
        })?;
        Ok(out)
    }

    /// Band dB features (frames x bands) of the example of `signal` that starts at sample
    /// `start` (fractional) at `bpm`, on the bar grid. Frames whose centre sample `shared`
    /// holds (from the previous example of the same signal) are taken from it; the others are
    /// analysed, and `shared` then holds this example's frames.
    pub fn grid_band_db(
        &mut self,
        grid: &BarGrid,
        signal: &[f32],
        start: f64,
        bpm: f32,
        shared: &mut SharedFrames,
    ) -> dsp::Result<Spectrogram> {
        let frames = grid.frames();
        let hop = self.config.example_samples(bpm) / frames as f64;
        let centres: Vec<f64> = (0..frames).map(|t| start + t as f64 * hop).collect();
        let samples: Vec<i64> = centres.iter().map(|c| c.round() as i64).collect();
        let bands = self.projection.n_bands;
        // Each frame's source: a frame of `shared`, or the next of the frames analysed now.
        let found: Vec<Option<usize>> = samples
            .iter()
            .map(|c| shared.centres.binary_search(c).ok())
            .collect();
        let missing: Vec<f64> = centres
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(&c, _)| c)
            .collect();
        let analysed = self.band_frames_at(signal, &missing)?;
        let mut out = Spectrogram::zeros(frames, bands);
        let mut fresh = analysed.data.chunks_exact(bands);
        for (t, f) in found.iter().enumerate() {
            let row = match f {
                Some(i) => &shared.bands[i * bands..(i + 1) * bands],
                None => fresh.next().expect("one analysed frame per missing one"),
            };
            out.frame_mut(t).copy_from_slice(row);
        }
        shared.analysed += missing.len();
        shared.centres = samples;
        shared.bands.clone_from(&out.data);
        Ok(out)
    }

    /// Band dB frames centred at `centres` (samples of `signal`, rounded to the nearest).
    fn band_frames_at(&mut self, signal: &[f32], centres: &[f64]) -> dsp::Result<Spectrogram> {
        if centres.is_empty() {
            return Ok(Spectrogram::zeros(0, self.projection.n_bands));
        }
        let mut mag = Spectrogram::zeros(0, 0);
        self.plan.magnitudes_at(signal, centres, &mut mag)?;
        let reference = db_reference(self.config.stft());
        Ok(match self.config.band_average {
            BandAverage::Power => {
                dsp::spectrogram::magnitude_to_power_in_place(&mut mag, reference);
                self.projection.forward_power(&mag)
            }
            BandAverage::Db => self
                .projection
                .forward(&dsp::spectrogram::magnitude_to_db(&mag, reference)),
        })
    }

    /// Full dB spectrogram (frames x bins) of any signal (for tempo and PNGs), in a buffer the
    /// extractor keeps.
    pub fn bin_db(&mut self, signal: &[f32]) -> dsp::Result<&Spectrogram> {
        log_spectrogram_into(&mut self.plan, signal, &mut self.complex, &mut self.db)?;
        Ok(&self.db)
    }

    /// The tempo envelope ([`dsp::tempo::tempo_envelope`]) and the detector's mel band dB
    /// spectrogram of a whole song, computed in blocks of frames: memory holds the bands, not
    /// the song's STFT (for 20 minutes, 53 MB of bands instead of 640 MB of complex and dB
    /// bins). The bands and their projection stay with the extractor for the next song.
    pub fn tempo_analysis(&mut self, signal: &[f32]) -> dsp::Result<TempoBands<'_>> {
        let frames = self.config.stft().frames(signal.len());
        let mel = self
            .tempo_mel
            .take()
            .unwrap_or_else(|| self.config.projection_for_tempo());
        let mut mel_db = std::mem::replace(&mut self.tempo_db, Spectrogram::zeros(0, 0));
        // Every frame is written below.
        mel_db.reshape(frames, mel.n_bands);
        let mut linear = dsp::tempo::OnsetFlux::default();
        let done = self.each_block(signal, |t0, db, _| {
            linear.push_frames(db);
            mel_db.data[t0 * mel.n_bands..(t0 + db.frames) * mel.n_bands]
                .copy_from_slice(&mel.forward(db).data);
        });
        self.tempo_db = mel_db;
        let (mel, mel_db) = (&*self.tempo_mel.insert(mel), &self.tempo_db);
        done?;
        Ok(TempoBands {
            envelope: dsp::tempo::combine_envelopes(
                &linear.finish(),
                &dsp::tempo::onset_envelope(mel_db),
            ),
            db: mel_db,
            mel,
        })
    }

    /// Band dB features back to STFT magnitudes (frames x bins) for Griffin-Lim: the bin dB of
    /// [`FeatureExtractor::band_db_to_bin_db`], clamped to `FLOOR_DB..=6`.
    pub fn band_db_to_magnitude(
        &self,
        bands: &Spectrogram,
        detail: Option<&SpectralDetail>,
    ) -> Spectrogram {
        let mut db = self.band_db_to_bin_db(bands, detail);
        db.data.iter_mut().for_each(|v| *v = v.clamp(FLOOR_DB, 6.0));
        dsp::spectrogram::db_to_magnitude(&db, db_reference(self.config.stft()))
    }

    /// Band dB back to full-resolution dB (frames x bins): the smooth inverse of the bands,
    /// with `detail` the fine structure inside them ([`crate::detail::bin_db`]).
    pub fn band_db_to_bin_db(
        &self,
        bands: &Spectrogram,
        detail: Option<&SpectralDetail>,
    ) -> Spectrogram {
        crate::detail::bin_db(&self.projection, detail, self.config.band_average, bands)
    }

    /// Add every STFT frame of `signal` to the spectral detail's fit: its band levels
    /// (averaged as the features are) against its bins' levels.
    pub fn add_to_detail_fit(&mut self, signal: &[f32], fit: &mut DetailFit) -> dsp::Result<()> {
        let average = self.config.band_average;
        self.each_block(signal, |_, db, projection| {
            fit.add(projection, &projection.forward_with(db, average), db);
        })
    }
}

/// Per-band standardisation: `x = (db - mean[b]) / std[b]`, statistics from the training
/// split only (all frames of all its clips).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalization {
    pub fn normalize(&self, clip: &mut [f32]) {
        let b = self.mean.len();
        for frame in clip.chunks_exact_mut(b) {
            for ((v, m), s) in frame.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }

    pub fn denormalize(&self, clip: &mut [f32]) {
        let b = self.mean.len();
        for frame in clip.chunks_exact_mut(b) {
            for ((v, m), s) in frame.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = *v * s + m;
            }
        }
    }
}

/// Streaming accumulator for [`Normalization`]: add clips one at a time, then `finish`. The
/// standard deviation is floored at 1 dB so that near-constant bands do not blow up.
pub struct NormalizationFit {
    sum: Vec<f64>,
    sq: Vec<f64>,
    frames: u64,
}

impl NormalizationFit {
    pub fn new(bands: usize) -> Self {
        NormalizationFit {
            sum: vec![0.0; bands],
            sq: vec![0.0; bands],
            frames: 0,
        }
    }

    pub fn add(&mut self, clip: &[f32]) {
        for frame in clip.chunks_exact(self.sum.len()) {
            for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sq).zip(frame) {
                *s += v as f64;
                *q += (v as f64) * (v as f64);
            }
            self.frames += 1;
        }
    }

    pub fn finish(self) -> Normalization {
        let n = self.frames.max(1) as f64;
        let mean: Vec<f32> = self.sum.iter().map(|s| (s / n) as f32).collect();
        let std = self
            .sq
            .iter()
            .zip(&mean)
            .map(|(q, &m)| ((q / n - (m as f64) * (m as f64)).max(0.0).sqrt() as f32).max(1.0))
            .collect();
        Normalization { mean, std }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A saved config of an earlier version has no `band_average`: it keeps the mean-dB bands
    /// its model was trained on, while a new config takes the power bands.
    #[test]
    fn configs_without_a_band_average_keep_the_db_bands() {
        let mut v = serde_json::to_value(FeatureConfig::default()).unwrap();
        assert_eq!(v["band_average"], "power");
        v.as_object_mut().unwrap().remove("band_average");
        let old: FeatureConfig = serde_json::from_value(v).unwrap();
        assert_eq!(old.band_average, BandAverage::Db);
        assert_eq!(FeatureConfig::default().band_average, BandAverage::Power);
    }

    /// Bands computed in blocks of frames equal those of the whole signal at once, for a
    /// signal of several blocks with a partial last one.
    #[test]
    fn band_db_in_blocks_equals_band_db() {
        let mut fx = FeatureExtractor::new(&FeatureConfig::default()).unwrap();
        let mut rng = dsp::rng::SplitMix64::new(4);
        let x: Vec<f32> = (0..256 * 2500 + 77)
            .map(|i| 0.3 * (i as f32 * 0.05).sin() + 0.1 * rng.next_signed())
            .collect();
        let blocks = fx.band_db_blocks(&x).unwrap();
        let whole = fx.band_db(&x).unwrap();
        assert_eq!((blocks.frames, blocks.bins), (whole.frames, whole.bins));
        assert!(blocks.frames > 2048);
        let worst = blocks
            .data
            .iter()
            .zip(&whole.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }

    #[test]
    fn default_shapes_match_the_design() {
        let c = FeatureConfig::default();
        assert_eq!(c.frames(), 256);
        assert_eq!(c.bands(), 128);
        assert_eq!(c.clip_len(), 32768);
        // 2 bars at 120 BPM: 4 s.
        assert_eq!(c.example_samples(120.0), 4.0 * 22050.0);
        let clips = FeatureConfig {
            grid: None,
            ..Default::default()
        };
        assert_eq!(clips.clip_samples(), 66150);
        assert_eq!(clips.frames(), 259);
        assert_eq!(clips.clip_len(), 33152);
        let linear = FeatureConfig {
            bands: 513,
            ..clips.clone()
        };
        assert_eq!(linear.clip_len(), 259 * 513);
        assert_ne!(c.hash(), linear.hash());
        assert_ne!(c.hash(), clips.hash());
        assert_eq!(c.hash(), FeatureConfig::default().hash());
    }

    /// A click on every 16th note at 97 BPM (a tempo whose 16th is 3,409.8 samples, not a
    /// whole number): on the grid every click lands on its own frame (the first of its 16th),
    /// whatever the fractional drift.
    #[test]
    fn click_track_on_the_bar_grid_puts_each_click_on_its_frame() {
        let cfg = FeatureConfig::default();
        let grid = cfg.grid.unwrap();
        let bpm = 97.0;
        let sixteenth = bar_samples(bpm, 22050) / 16.0;
        let start = 5000.3;
        let n = (start + 3.0 * bar_samples(bpm, 22050)) as usize;
        let mut x = vec![0.0f32; n];
        for k in 0..40 {
            let s = (start + k as f64 * sixteenth).round() as usize;
            for i in 0..64.min(n - s) {
                x[s + i] = (i as f32 * 0.9).sin() * (1.0 - i as f32 / 64.0);
            }
        }
        let mut fx = FeatureExtractor::new(&cfg).unwrap();
        let db = fx
            .grid_band_db(&grid, &x, start, bpm, &mut SharedFrames::default())
            .unwrap();
        assert_eq!((db.frames, db.bins), (256, 128));
        let level: Vec<f32> = (0..db.frames)
            .map(|t| db.frame(t).iter().sum::<f32>() / 128.0)
            .collect();
        for step in 0..32 {
            let f = step * grid.frames_per_16th;
            let cell = &level[f..f + grid.frames_per_16th];
            let loudest = (0..cell.len())
                .max_by(|&a, &b| cell[a].total_cmp(&cell[b]))
                .unwrap();
            // The frame centred on the click is the loudest of its 16th, well above the gap
            // between clicks.
            assert_eq!(loudest, 0, "16th {step}: levels {cell:?}");
            assert!(cell[0] > cell[4] + 20.0, "16th {step}: levels {cell:?}");
        }
    }

    /// Examples a bar apart share a bar of frames: with one `SharedFrames` for the signal,
    /// the second and third examples analyse only their new bar, and every example comes out
    /// exactly as when it is analysed alone.
    #[test]
    fn overlapping_examples_share_their_frames_exactly() {
        let cfg = FeatureConfig::default();
        let grid = cfg.grid.unwrap();
        let bpm = 97.0;
        let bar = bar_samples(bpm, 22050);
        let mut rng = dsp::rng::SplitMix64::new(5);
        let x: Vec<f32> = (0..(5.0 * bar) as usize)
            .map(|i| rng.normal() * 0.1 + if i % 3000 < 40 { 0.8 } else { 0.0 })
            .collect();
        let mut fx = FeatureExtractor::new(&cfg).unwrap();
        let mut shared = SharedFrames::default();
        for j in 0..3 {
            let start = 1234.6 + j as f64 * bar;
            let together = fx.grid_band_db(&grid, &x, start, bpm, &mut shared).unwrap();
            let alone = fx
                .grid_band_db(&grid, &x, start, bpm, &mut SharedFrames::default())
                .unwrap();
            assert_eq!(together.data, alone.data, "example {j}");
        }
        // 256 frames, then 128 new ones twice (a frame whose centre rounds the other way
        // across a bar line would be analysed again).
        assert!(
            (512..=516).contains(&shared.analysed),
            "{} frames analysed",
            shared.analysed
        );
    }

    #[test]
    fn normalization_standardises_and_inverts() {
        let clips: Vec<Vec<f32>> = (0..4)
            .map(|i| (0..6).map(|j| (i * 6 + j) as f32 * 3.0 - 40.0).collect())
            .collect();
        let mut fit = NormalizationFit::new(2);
        clips.iter().for_each(|c| fit.add(c));
        let norm = fit.finish();
        let mut all: Vec<f32> = clips.concat();
        norm.normalize(&mut all);
        for b in 0..2 {
            let col: Vec<f32> = all.iter().skip(b).step_by(2).copied().collect();
            let m = col.iter().sum::<f32>() / col.len() as f32;
            let v = col.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / col.len() as f32;
            assert!(
                m.abs() < 1e-5 && (v - 1.0).abs() < 1e-4,
                "band {b}: mean {m} var {v}"
            );
        }
        norm.denormalize(&mut all);
        assert!(all
            .iter()
            .zip(clips.concat())
            .all(|(a, b)| (a - b).abs() < 1e-4));
    }
}
