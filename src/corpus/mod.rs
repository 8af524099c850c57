//! A synthesised, genre-labelled beat corpus: `make-corpus DIR` writes `DIR/<genre>/<name>.mp3`
//! and `DIR/manifest.tsv`. Every song has its own tempo (in the genre's range), swing, kit
//! (timbres), key, humanised velocities and timing, fills every fourth bar, and mix levels; all
//! of it follows from the seed, so the corpus is reproducible byte for byte.

pub mod filter;
pub mod genre;
pub mod instruments;
pub mod pattern;
pub mod soundfont;

use std::path::{Path, PathBuf};

use anyhow::Context;
use dsp::rng::SplitMix64;
use rand::Rng;
use rayon::prelude::*;

pub use genre::Genre;
use instruments::{bass808, clap, hat, keys, kick, midi_hz, rim, snare, Kit};
use pattern::{song_events, Voice};

/// Options of `make-corpus`. Defaults: 8 songs per genre, 24 s each, seed 1, every genre,
/// 64 kb/s MP3 (small enough to commit; the synthesiser's content sits below 11 kHz anyway).
#[derive(Debug, Clone)]
pub struct CorpusOptions {
    pub per_genre: usize,
    pub seconds: f32,
    pub seed: u64,
    pub genres: Vec<Genre>,
    pub mp3_kbps: u32,
    /// Render through this SoundFont (General MIDI) instead of the built-in synthesiser.
    pub soundfont: Option<PathBuf>,
    /// Also write each song's notes as `NAME.mid` beside it (see [`RenderedSong::groove`]),
    /// timed as rendered, which is the MP3 as gapless decoders play it (see
    /// [`dsp::encode::encode_mp3`]).
    pub midi: bool,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        CorpusOptions {
            per_genre: 8,
            seconds: 24.0,
            seed: 1,
            genres: Genre::ALL.to_vec(),
            mp3_kbps: 64,
            soundfont: None,
            midi: false,
        }
    }
}

/// Everything that defines one song.
#[derive(Debug, Clone)]
pub struct SongSpec {
    pub genre: Genre,
    pub bpm: f32,
    pub swing: f32,
    pub kit_seed: u64,
    pub seconds: f32,
    /// Rendering rate: songs alternate between 22050 and 44100 Hz, as real folders mix rates.
    pub sample_rate: u32,
    /// Key root as a MIDI note (around A1..G#2 for the bass register).
    pub root: f32,
}

impl SongSpec {
    /// The `index`-th song of `genre` for a corpus seed.
    pub fn new(genre: Genre, index: usize, seconds: f32, corpus_seed: u64) -> Self {
        let g = Genre::ALL.iter().position(|&x| x == genre).unwrap_or(0) as u64;
        let kit_seed = corpus_seed
            .wrapping_mul(1_000_003)
            .wrapping_add(g * 10_007 + index as u64);
        let mut rng = SplitMix64::new(kit_seed);
        let (lo, hi) = genre.bpm_range();
        let (slo, shi) = genre.swing_range();
        SongSpec {
            genre,
            bpm: (rng.gen_range(lo..=hi) * 2.0f32).round() / 2.0,
            swing: if shi > slo {
                rng.gen_range(slo..shi)
            } else {
                slo
            },
            kit_seed,
            seconds,
            sample_rate: if index.is_multiple_of(2) {
                22050
            } else {
                44100
            },
            root: rng.gen_range(45.0f32..57.0).round(),
        }
    }

    pub fn file_name(&self, index: usize) -> String {
        format!(
            "{}-{:02}-{}bpm.mp3",
            self.genre.name(),
            index + 1,
            self.bpm.round()
        )
    }
}

/// A rendered song and the notes it plays (its true groove).
#[derive(Debug, Clone)]
pub struct RenderedSong {
    /// Mono samples at the song's rate.
    pub audio: Vec<f32>,
    /// Every note that starts within the song, drums, bass and keys, in time order.
    pub groove: crate::groove::Groove,
}

impl RenderedSong {
    fn new(audio: Vec<f32>, mut notes: Vec<crate::groove::Note>, spec: &SongSpec) -> Self {
        notes.sort_by(|a, b| a.seconds.total_cmp(&b.seconds).then(a.key.cmp(&b.key)));
        RenderedSong {
            audio,
            groove: crate::groove::Groove {
                bpm: spec.bpm as f64,
                notes,
            },
        }
    }
}

/// The note an event plays at `t` seconds (velocity: the event's, scaled to 1..=127).
pub(crate) fn true_note(
    e: &pattern::Event,
    t: f32,
    channel: u8,
    key: u8,
    hold: f32,
) -> crate::groove::Note {
    crate::groove::Note {
        seconds: t as f64,
        length: hold as f64,
        channel,
        key,
        velocity: (e.velocity * 127.0).round().clamp(1.0, 127.0) as u8,
    }
}

/// Render a song to mono samples at `spec.sample_rate`, peak at -1 dBFS, with the notes it
/// plays.
pub fn render_song(spec: &SongSpec) -> RenderedSong {
    let sr = spec.sample_rate as f32;
    let mut rng = SplitMix64::new(spec.kit_seed ^ 0x5EED);
    let kit = Kit::random(&mut rng);
    let n = (spec.seconds * sr) as usize;
    let beat_s = 60.0 / spec.bpm;
    let bars = (spec.seconds / (4.0 * beat_s)).ceil() as usize + 1;
    let events = song_events(spec.genre, bars, spec.root, &mut rng);
    // Three takes of each drum one-shot so repeated hits are not identical.
    let takes = |f: &mut dyn FnMut(&mut SplitMix64) -> Vec<f32>,
                 rng: &mut SplitMix64|
     -> Vec<Vec<f32>> { (0..3).map(|_| f(rng)).collect() };
    let kicks = takes(&mut |r| kick(&kit, sr, r), &mut rng);
    let snares = takes(&mut |r| snare(&kit, sr, r), &mut rng);
    let claps = takes(&mut |r| clap(&kit, sr, r), &mut rng);
    let hats = takes(&mut |r| hat(&kit, sr, false, r), &mut rng);
    let open_hats = takes(&mut |r| hat(&kit, sr, true, r), &mut rng);
    let rims = [rim(&kit, sr)];
    // Mix levels: genre defaults, +-3 dB per song.
    let mut lvl = |base: f32| base * 10f32.powf(rng.gen_range(-3.0..3.0) / 20.0);
    let (g_kick, g_snare, g_clap, g_hat, g_bass, g_keys) = match spec.genre {
        Genre::LoFi => (lvl(0.8), lvl(0.5), lvl(0.5), lvl(0.35), lvl(0.5), lvl(0.5)),
        Genre::House => (lvl(0.9), lvl(0.5), lvl(0.6), lvl(0.45), lvl(0.5), lvl(0.35)),
        Genre::Trap => (lvl(0.8), lvl(0.5), lvl(0.6), lvl(0.5), lvl(0.8), lvl(0.35)),
        // Drill's hats carry the pulse under a half-time, syncopated kick and snare.
        Genre::Drill => (lvl(0.7), lvl(0.5), lvl(0.55), lvl(0.75), lvl(0.7), lvl(0.3)),
        Genre::BoomBap => (lvl(1.0), lvl(0.8), lvl(0.5), lvl(0.4), lvl(0.5), lvl(0.4)),
    };
    let mut out = vec![0.0f32; n];
    let mut notes = Vec::with_capacity(events.len());
    let mut last_bass: Option<f32> = None;
    for e in &events {
        let t = event_seconds(spec, e, &mut rng);
        let start = (t.max(0.0) * sr) as usize;
        if start >= n {
            continue;
        }
        let (channel, key, hold) = e.voice.midi(beat_s);
        notes.push(true_note(e, start as f32 / sr, channel, key, hold));
        let take = rng.gen_range(0..3usize);
        let (sound, gain): (std::borrow::Cow<[f32]>, f32) = match e.voice {
            Voice::Kick => (kicks[take].as_slice().into(), g_kick),
            Voice::Snare => (snares[take].as_slice().into(), g_snare),
            Voice::Clap => (claps[take].as_slice().into(), g_clap),
            Voice::Hat => (hats[take].as_slice().into(), g_hat),
            Voice::OpenHat => (open_hats[take].as_slice().into(), g_hat),
            Voice::Rim => (rims[0].as_slice().into(), g_snare),
            Voice::Bass { note, len, glide } => {
                let f = midi_hz(note);
                let from = if glide { last_bass } else { None };
                last_bass = Some(f);
                (bass808(&kit, sr, f, from, len * beat_s).into(), g_bass)
            }
            Voice::Keys { note, len } => (
                keys(&kit, sr, midi_hz(note), len * beat_s, kit.keys_decay_s).into(),
                g_keys,
            ),
        };
        let g = gain * e.velocity;
        for (o, &s) in out[start..].iter_mut().zip(sound.iter()) {
            *o += g * s;
        }
    }
    finish_mix(spec, &mut out, &mut rng);
    RenderedSong::new(out, notes, spec)
}

/// When an event sounds, in seconds from the start: swing delays every second note of the
/// genre's grid (16ths; lo-fi swings its 8ths and plays 12 ms behind the beat), then a little
/// random timing (one draw from `rng`).
pub(crate) fn event_seconds(spec: &SongSpec, e: &pattern::Event, rng: &mut impl Rng) -> f32 {
    let lofi = spec.genre == Genre::LoFi;
    let (grid, laid_back, jitter) = if lofi {
        (0.5, 0.012, 0.008)
    } else {
        (0.25, 0.0, 0.003)
    };
    let steps = e.beat / grid;
    let swung = (steps - steps.round()).abs() < 1e-3 && (steps.round() as i64) % 2 == 1;
    let beat = e.beat + if swung { spec.swing * grid } else { 0.0 };
    beat * (60.0 / spec.bpm) + laid_back + rng.gen_range(-jitter..=jitter)
}

/// The end of every mix: lo-fi's dull top end and vinyl crackle, gentle saturation, and the
/// peak at -1 dBFS.
pub(crate) fn finish_mix(spec: &SongSpec, out: &mut [f32], rng: &mut impl Rng) {
    let sr = spec.sample_rate as f32;
    if spec.genre == Genre::LoFi {
        // Dull the top end and add vinyl crackle: sparse clicks over faint hiss.
        filter::Biquad::lowpass(rng.gen_range(2500.0..4500.0), 0.7, sr).run(out);
        for v in out.iter_mut() {
            *v += rng.gen_range(-1.0..1.0f32) * 0.004;
            if rng.gen_bool(0.0004) {
                *v += rng.gen_range(-0.15..0.15f32);
            }
        }
    }
    // Gentle saturation, then peak at -1 dBFS.
    let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-9);
    let drive = 1.5 / peak;
    out.iter_mut().for_each(|v| *v = (*v * drive).tanh());
    let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-9);
    let target = 10f32.powf(-1.0 / 20.0);
    out.iter_mut().for_each(|v| *v *= target / peak);
}

/// One line of `manifest.tsv`.
#[derive(Debug, Clone)]
pub struct ManifestRow {
    pub path: PathBuf,
    pub spec: SongSpec,
}

pub const MANIFEST_HEADER: &str =
    "path\tgenre\tbpm\tswing\tkit_seed\tseconds\tsample_rate\tsoundfont";

/// Most songs per genre one corpus has.
pub const MAX_PER_GENRE: usize = 1000;
/// Longest song rendered, in seconds (each is rendered whole in memory: 10 minutes of 44.1 kHz
/// audio is 106 MB).
pub const MAX_SONG_SECONDS: f32 = 600.0;

/// Write the corpus into `dir` (created if needed); returns the manifest rows.
pub fn make_corpus(
    dir: &Path,
    opts: &CorpusOptions,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<ManifestRow>> {
    // A NaN --seconds is in no range: refused too.
    if !(1..=MAX_PER_GENRE).contains(&opts.per_genre)
        || !(3.0..=MAX_SONG_SECONDS).contains(&opts.seconds)
    {
        anyhow::bail!(
            "--per-genre must be in 1..={MAX_PER_GENRE} and --seconds in 3..={MAX_SONG_SECONDS} \
             (got {} and {})",
            opts.per_genre,
            opts.seconds
        );
    }
    let jobs: Vec<(SongSpec, PathBuf)> = opts
        .genres
        .iter()
        .flat_map(|&g| (0..opts.per_genre).map(move |i| (g, i)))
        .map(|(g, i)| {
            let spec = SongSpec::new(g, i, opts.seconds, opts.seed);
            let rel = PathBuf::from(g.name()).join(spec.file_name(i));
            (spec, rel)
        })
        .collect();
    for g in &opts.genres {
        let d = dir.join(g.name());
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    let font = opts.soundfont.as_deref().map(soundfont::load).transpose()?;
    progress.set_length(jobs.len() as u64);
    jobs.par_iter()
        .try_for_each(|(spec, rel)| -> anyhow::Result<()> {
            let song = match &font {
                Some(f) => soundfont::render_song(spec, f)?,
                None => render_song(spec),
            };
            let path = dir.join(rel);
            if opts.midi {
                crate::groove::midi::write(&path.with_extension("mid"), &song.groove)?;
            }
            dsp::write_audio(
                &path,
                &song.audio,
                spec.sample_rate,
                &dsp::EncodeOptions {
                    mp3_kbps: opts.mp3_kbps,
                    ..Default::default()
                },
            )?;
            progress.inc(1);
            Ok(())
        })?;
    let mut tsv = String::from(MANIFEST_HEADER);
    tsv.push('\n');
    for (spec, rel) in &jobs {
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{:.3}\t{}\t{}\t{}\t{}\n",
            rel.display(),
            spec.genre.name(),
            spec.bpm,
            spec.swing,
            spec.kit_seed,
            spec.seconds,
            spec.sample_rate,
            opts.soundfont
                .as_deref()
                .and_then(|p| p.file_name())
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        ));
    }
    dsp::atomic::write_atomically(&dir.join("manifest.tsv"), tsv.as_bytes())?;
    Ok(jobs
        .into_iter()
        .map(|(spec, path)| ManifestRow { path, spec })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected_bpm(spec: &SongSpec) -> Option<f32> {
        let audio = render_song(spec).audio;
        let x = dsp::resample::resample(&audio, spec.sample_rate, 22050).unwrap();
        let mut plan = dsp::StftPlan::new(dsp::StftConfig::default()).unwrap();
        let db = dsp::spectrogram::log_spectrogram(&mut plan, &x).unwrap();
        let mel = dsp::bands::BandProjection::mel(128, 1024, 22050);
        dsp::tempo::tempo_of_spectrogram(&db, &mel, 22050.0 / 256.0).map(|t| t.bpm)
    }

    /// The tempo detector on 3 synthesised songs of every genre: at least 13 of the 15 within
    /// 2% of the true tempo, and every miss at a simple ratio of it (an octave or a 2/3 error,
    /// the detector's known weakness: see README), never an unrelated tempo.
    #[test]
    fn every_genre_tempo_is_recovered_within_2_percent_or_at_a_simple_ratio() {
        let mut failures = Vec::new();
        let mut unrelated = Vec::new();
        for g in Genre::ALL {
            for i in 0..3 {
                let spec = SongSpec::new(g, i, 16.0, 1);
                let (lo, hi) = g.bpm_range();
                assert!((lo..=hi).contains(&spec.bpm), "{g:?} {}", spec.bpm);
                match detected_bpm(&spec) {
                    Some(b) if (b - spec.bpm).abs() / spec.bpm < 0.02 => {}
                    other => {
                        let miss =
                            format!("{} #{i}: {} BPM, detected {other:?}", g.name(), spec.bpm);
                        let simple = other.is_some_and(|b| {
                            [0.5f32, 2.0, 2.0 / 3.0, 1.5]
                                .iter()
                                .any(|r| (b - r * spec.bpm).abs() / (r * spec.bpm) < 0.02)
                        });
                        if !simple {
                            unrelated.push(miss.clone());
                        }
                        failures.push(miss);
                    }
                }
            }
        }
        assert!(failures.len() <= 2 && unrelated.is_empty(), "{failures:#?}");
    }

    /// Every genre at the ends and the middle of its tempo range: the detector's readings of
    /// the three songs, with their rhythm evidence (hi-hat density, snare period), chosen
    /// together as the dataset pipeline chooses them for a genre folder (no metadata), give
    /// every song its tempo within 2% (an octave error on any of the 15 fails). Without the
    /// rhythm evidence drill's three are read at half tempo and trap's 150 at 120.
    #[test]
    fn tempo_extremes_are_chosen_right_with_the_genre() {
        use crate::dataset::tempo_choice::plan;
        let cfg = crate::dataset::features::FeatureConfig::default();
        let mut fx = crate::dataset::features::FeatureExtractor::new(&cfg).unwrap();
        let mut failures = Vec::new();
        for g in Genre::ALL {
            let (lo, hi) = g.bpm_range();
            let mut metas = Vec::new();
            let mut truth = Vec::new();
            for (i, bpm) in [lo, 0.5 * (lo + hi), hi].into_iter().enumerate() {
                let spec = SongSpec {
                    bpm,
                    ..SongSpec::new(g, i, 16.0, 3)
                };
                let audio = render_song(&spec).audio;
                let x = dsp::resample::resample(&audio, spec.sample_rate, 22050).unwrap();
                let mut meta = crate::dataset::cache::SongMeta::new(0);
                meta.set_evidence(match crate::dataset::find_examples(&x, &mut fx, None) {
                    Ok(e) => e.evidence,
                    Err(e) => e.evidence,
                });
                metas.push(meta);
                truth.push(bpm);
            }
            let path = std::path::Path::new("song.mp3");
            let songs: Vec<_> = metas.iter().map(|m| (Some(g.name()), path, m)).collect();
            for ((p, bpm), m) in plan(&songs, false, &[]).iter().zip(&truth).zip(&metas) {
                if !p.target.is_some_and(|t| (t - bpm).abs() / bpm < 0.02) {
                    failures.push(format!(
                        "{} at {bpm}: chose {:?} from {:?} (hats {:.2}/s, snare period {:?})",
                        g.name(),
                        p.target,
                        m.tempo_readings,
                        m.hat_rate,
                        m.snare_period
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    /// The dataset pipeline's bar lines on synthesised songs, whose first bar starts at 0 s
    /// (lo-fi is laid back by 12 ms): the first example must start within a 16th note of a
    /// true bar line, for 3 songs of every genre, and it is the song's first (at its start,
    /// not a bar later: see `START_SLACK_SECONDS`); one miss in the 15 is tolerated (on the
    /// bundled corpus 37 of 40 are found, see README), more fails.
    #[test]
    fn every_genre_downbeat_is_found_within_a_16th() {
        let cfg = crate::dataset::features::FeatureConfig::default();
        let mut fx = crate::dataset::features::FeatureExtractor::new(&cfg).unwrap();
        let mut failures = Vec::new();
        for g in Genre::ALL {
            for i in 0..3 {
                let spec = SongSpec::new(g, i, 16.0, 1);
                let audio = render_song(&spec).audio;
                let x = dsp::resample::resample(&audio, spec.sample_rate, 22050).unwrap();
                let ex = crate::dataset::find_examples(&x, &mut fx, None).unwrap();
                let bar = crate::dataset::features::bar_samples(spec.bpm, 22050);
                let truth = if g == Genre::LoFi {
                    0.012 * 22050.0
                } else {
                    0.0
                };
                // The song starts on its first bar line: that one, not the next.
                let d = ex.starts[0] - truth;
                let err = d.abs();
                if err >= bar / 16.0 {
                    failures.push(format!(
                        "{} #{i}: first bar line at {:.0}, {:.2} beats off",
                        g.name(),
                        ex.starts[0],
                        err / (bar / 4.0)
                    ));
                }
            }
        }
        assert!(failures.len() <= 1, "{failures:#?}");
    }

    /// Songs that do not start on a bar line: each genre's first two songs with their first
    /// beat cut off (a 3-beat pickup), 2.5 beats cut off (starting off the beat), and 3 bars
    /// and 2 beats cut off (starting halfway through a fill bar, the 4th), at their tempo (as
    /// the pipeline has it from a file name or its genre). The first bar line found must be
    /// within a 16th note of a true one: all 30 are, one miss is tolerated. (With the
    /// detector's own tempo 27 are: a drill song is read at a wrong tempo.)
    #[test]
    fn downbeats_are_found_after_pickups_and_fills() {
        let cfg = crate::dataset::features::FeatureConfig::default();
        let mut fx = crate::dataset::features::FeatureExtractor::new(&cfg).unwrap();
        let mut failures = Vec::new();
        for g in Genre::ALL {
            for i in 0..2 {
                let spec = SongSpec::new(g, i, 20.0, 1);
                let audio = render_song(&spec).audio;
                let x = dsp::resample::resample(&audio, spec.sample_rate, 22050).unwrap();
                let bar = crate::dataset::features::bar_samples(spec.bpm, 22050);
                let beat = bar / 4.0;
                let laid_back = if g == Genre::LoFi {
                    0.012 * 22050.0
                } else {
                    0.0
                };
                for cut_beats in [1.0, 2.5, 14.0] {
                    let cut = (cut_beats * beat).round() as usize;
                    let hint = Some(spec.bpm);
                    let ex = crate::dataset::find_examples(&x[cut..], &mut fx, hint).unwrap();
                    // True bar lines in the cut signal: n * bar + laid_back - cut.
                    let d = (ex.starts[0] + cut as f64 - laid_back).rem_euclid(bar);
                    let err = d.min(bar - d);
                    if err >= bar / 16.0 {
                        failures.push(format!(
                            "{} #{i} cut {cut_beats} beats: {:.2} beats off",
                            g.name(),
                            err / beat
                        ));
                    }
                }
            }
        }
        assert!(failures.len() <= 1, "{failures:#?}");
    }

    #[test]
    fn seeds_make_different_songs_and_the_same_seed_the_same() {
        let a = render_song(&SongSpec::new(Genre::Trap, 0, 4.0, 1)).audio;
        let b = render_song(&SongSpec::new(Genre::Trap, 0, 4.0, 1)).audio;
        let c = render_song(&SongSpec::new(Genre::Trap, 0, 4.0, 2)).audio;
        let d = render_song(&SongSpec::new(Genre::Trap, 1, 4.0, 1)).audio;
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        let peak = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.891).abs() < 0.01, "peak {peak}");
    }
}
