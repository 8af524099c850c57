//! From a folder of songs to ready-to-train clips: scan ([`scan`]), decode and resample in
//! parallel, find each song's tempo (from a tag, the file name, or the detector's readings
//! chosen with the genre's other songs: [`tempo_choice`]) and first bar line, cut examples of
//! whole bars from every bar line ([`find_examples`]), compute their band features on the bar
//! grid ([`features`]), cache them per song on disk ([`cache`]), and split train/validation by
//! song ([`split`]). Clips are read back from the cache one at a time, so memory stays bounded
//! however large the corpus is.

pub mod bar_lines;
pub mod cache;
pub mod features;
pub mod scan;
pub mod split;
pub mod tempo_choice;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use cache::SongMeta;
use features::{FeatureConfig, FeatureExtractor, Normalization, SharedFrames};
use split::{SavedSplit, Split};
use tempo_choice::{TempoPlan, TempoSource};

/// Options of the dataset pipeline. Defaults: 20% of songs for validation, seed 0, a new split,
/// the cache in the user's cache directory ([`default_cache_dir`]).
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    pub validation_fraction: f32,
    pub seed: u64,
    /// A saved split (a trained model's): when set, each song takes its side from it and songs
    /// it does not list are left out (see [`Dataset::unlisted`]); `validation_fraction` and
    /// `seed` are then unused.
    pub saved_split: Option<SavedSplit>,
    /// Cache folder; `None` means [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Bar lines the user knows ([`bar_lines`]): a file, paths relative to the songs folder.
    pub bar_lines: Option<PathBuf>,
}

/// What a song is analysed with besides its audio: the tempo to seek (its metadata's or the
/// genre's choice; `None`: the detector's best reading) and a bar line the user gave
/// (seconds; `None`: the detector finds the first bar line).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hint {
    pub bpm: Option<f32>,
    pub bar_line: Option<f64>,
}

/// Where features are cached unless `--cache` says otherwise: `beatgen` in the user's cache
/// directory (`$XDG_CACHE_HOME`, else `~/.cache` on Linux; the platform's equivalent
/// elsewhere), never inside the songs folder, which may be read-only or shared. Cache files
/// are named by a hash of each song's absolute path, size, time and the representation, so
/// one cache serves every songs folder. Without any home directory: `.beatgen-cache` in the
/// current directory.
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .map(|d| d.join("beatgen"))
        .unwrap_or_else(|| PathBuf::from(".beatgen-cache"))
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            validation_fraction: 0.2,
            seed: 0,
            saved_split: None,
            cache_dir: None,
            bar_lines: None,
        }
    }
}

/// One usable song.
#[derive(Debug, Clone)]
pub struct Song {
    pub path: PathBuf,
    pub genre: String,
    pub split: Split,
    pub meta: SongMeta,
    /// Where `meta.tempo_bpm` came from, and how sure its choice is (see [`tempo_choice`]).
    pub tempo_source: TempoSource,
    pub tempo_margin: f32,
    pub cache_file: PathBuf,
    pub data_offset: u64,
}

impl Song {
    /// Whether its tempo choice had another reading nearly as likely (a margin below
    /// [`tempo_choice::UNSURE_MARGIN`]).
    pub fn tempo_unsure(&self) -> bool {
        self.tempo_margin < tempo_choice::UNSURE_MARGIN
    }

    /// Whether its first bar line was found with little to go on (a downbeat confidence below
    /// [`dsp::downbeat::UNSURE_CONFIDENCE`]).
    pub fn bar_lines_unsure(&self) -> bool {
        self.meta.downbeat_seconds.is_some()
            && self.meta.downbeat_confidence < dsp::downbeat::UNSURE_CONFIDENCE
    }
}

/// A song that could not be used, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    /// The reason, without the path (errors that name their file have it taken off).
    pub reason: String,
}

impl Skipped {
    fn new(path: PathBuf, reason: &str) -> Self {
        let prefix = format!("{}: ", path.display());
        let reason = reason.strip_prefix(&prefix).unwrap_or(reason).to_string();
        Skipped { path, reason }
    }
}

/// A clip: song index and clip index within the song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClipRef {
    pub song: usize,
    pub clip: usize,
}

/// The scanned, cached and split dataset.
#[derive(Debug)]
pub struct Dataset {
    pub root: PathBuf,
    pub config: FeatureConfig,
    /// Genres in sorted order; a genre's index is its position here.
    pub genres: Vec<String>,
    pub songs: Vec<Song>,
    pub skipped: Vec<Skipped>,
    /// Genres whose only song was kept in training.
    pub single_song_genres: Vec<String>,
    /// Usable songs left out because the saved split does not list them (added since).
    pub unlisted: Vec<PathBuf>,
    /// Songs decoded in this run vs read from the cache.
    pub decoded: usize,
    pub cached: usize,
}

impl Dataset {
    /// Scan, decode (or read from cache) and split `root`.
    pub fn load(
        root: &Path,
        config: &FeatureConfig,
        opts: &DatasetOptions,
    ) -> anyhow::Result<Self> {
        let files = scan::scan(root)?;
        if files.is_empty() {
            anyhow::bail!(
                "{}: no audio files found (expected {}/<genre>/*.mp3|wav|flac|ogg)",
                root.display(),
                root.display()
            );
        }
        let cache_dir = opts.cache_dir.clone().unwrap_or_else(default_cache_dir);
        std::fs::create_dir_all(&cache_dir).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot create the cache folder: {e}",
                cache_dir.display()
            )
        })?;
        // The file given now, else those the model was trained with.
        let bar_lines = match (&opts.bar_lines, &opts.saved_split) {
            (Some(f), _) => bar_lines::BarLines::read(f, root)?,
            (None, Some(saved)) => bar_lines::BarLines::from_saved(root, &saved.bar_lines),
            (None, None) => bar_lines::BarLines::default(),
        };
        for m in &bar_lines.missing {
            log::warn!("{m}");
        }
        let analysed = analyse_all(&files, config, &cache_dir, &bar_lines)?;
        let n_decoded = analysed.decoded;
        let (mut songs, skipped) = classify(files, analysed.results, config);
        if songs.is_empty() {
            let why: Vec<String> = skipped
                .iter()
                .take(3)
                .map(|s| format!("{}: {}", s.path.display(), s.reason))
                .collect();
            anyhow::bail!(
                "{}: no usable audio ({} files skipped: {})",
                root.display(),
                skipped.len(),
                why.join("; ")
            );
        }
        let mut unlisted = Vec::new();
        let mut single = Vec::new();
        if let Some(saved) = &opts.saved_split {
            songs.retain_mut(|s| match saved.get(&SavedSplit::key(root, &s.path)) {
                Some(sp) => {
                    s.split = sp;
                    true
                }
                None => {
                    unlisted.push(s.path.clone());
                    false
                }
            });
            if songs.is_empty() {
                anyhow::bail!(
                    "{}: none of the songs the model was trained or validated on is here",
                    root.display()
                );
            }
        } else {
            let keys: Vec<(String, String)> = songs
                .iter()
                .map(|s| (s.genre.clone(), SavedSplit::key(root, &s.path)))
                .collect();
            let splits;
            (splits, single) = split::split_by_song(&keys, opts.validation_fraction, opts.seed);
            for (s, sp) in songs.iter_mut().zip(splits) {
                s.split = sp;
            }
        }
        let mut genres: Vec<String> = songs.iter().map(|s| s.genre.clone()).collect();
        genres.sort();
        genres.dedup();
        let cached = songs.len() + unlisted.len() + skipped.len() - n_decoded;
        Ok(Dataset {
            root: root.to_path_buf(),
            config: config.clone(),
            genres,
            songs,
            skipped,
            single_song_genres: single,
            unlisted,
            decoded: n_decoded,
            cached,
        })
    }

    /// The split of these songs, to save with a model.
    pub fn saved_split(&self) -> SavedSplit {
        let mut saved = SavedSplit::default();
        for s in &self.songs {
            let key = SavedSplit::key(&self.root, &s.path);
            if let (true, Some(bar_line)) = (s.meta.downbeat_given, s.meta.downbeat_seconds) {
                let bpm = (s.tempo_source == TempoSource::Given)
                    .then_some(s.meta.tempo_hint)
                    .flatten();
                saved
                    .bar_lines
                    .insert(key.clone(), bar_lines::GivenGrid { bar_line, bpm });
            }
            saved.insert(key, s.split);
        }
        saved
    }

    pub fn genre_index(&self, genre: &str) -> Option<usize> {
        self.genres.iter().position(|g| g == genre)
    }

    /// All clips of one split, in a fixed order (song, then clip).
    pub fn clips(&self, split: Split) -> Vec<ClipRef> {
        self.songs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.split == split)
            .flat_map(|(i, s)| {
                (0..s.meta.clip_starts.len()).map(move |c| ClipRef { song: i, clip: c })
            })
            .collect()
    }

    /// Per-band statistics of the training clips, streamed from the cache.
    pub fn fit_normalization(&self) -> anyhow::Result<Normalization> {
        let mut reader = ClipReader::new(self);
        let mut buf = vec![0.0; self.config.clip_len()];
        let mut fit = features::NormalizationFit::new(self.config.bands());
        for r in self.clips(Split::Train) {
            reader.read(r, &mut buf)?;
            fit.add(&buf);
        }
        Ok(fit.finish())
    }

    /// Songs and clips per genre and split: genre -> (train songs, validation songs, train clips, validation clips).
    pub fn counts(&self) -> BTreeMap<String, [usize; 4]> {
        let mut m: BTreeMap<String, [usize; 4]> = BTreeMap::new();
        for s in &self.songs {
            let e = m.entry(s.genre.clone()).or_default();
            let c = s.meta.clip_starts.len();
            match s.split {
                Split::Train => {
                    e[0] += 1;
                    e[2] += c;
                }
                Split::Validation => {
                    e[1] += 1;
                    e[3] += c;
                }
            }
        }
        m
    }
}

/// Mean (in f64) of `clips`, each read by `read` into a buffer of `clip_len` values.
pub fn mean_clip(
    clips: &[ClipRef],
    clip_len: usize,
    mut read: impl FnMut(ClipRef, &mut [f32]) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<f64>> {
    let mut mean = vec![0.0f64; clip_len];
    let mut buf = vec![0.0f32; clip_len];
    for &r in clips {
        read(r, &mut buf)?;
        mean.iter_mut().zip(&buf).for_each(|(m, &v)| *m += v as f64);
    }
    mean.iter_mut()
        .for_each(|m| *m /= clips.len().max(1) as f64);
    Ok(mean)
}

/// Reads clips from the cache, keeping the song files it has opened.
pub struct ClipReader<'a> {
    ds: &'a Dataset,
    open: BTreeMap<usize, File>,
    bytes: Vec<u8>,
}

impl<'a> ClipReader<'a> {
    pub fn new(ds: &'a Dataset) -> Self {
        ClipReader {
            ds,
            open: BTreeMap::new(),
            bytes: Vec::new(),
        }
    }

    /// Band dB features of a clip (unnormalised), `frames x bands`.
    pub fn read(&mut self, r: ClipRef, out: &mut [f32]) -> anyhow::Result<()> {
        let song = &self.ds.songs[r.song];
        if !self.open.contains_key(&r.song) {
            // Bound the number of open files.
            if self.open.len() >= 64 {
                self.open.clear();
            }
            let f = File::open(&song.cache_file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", song.cache_file.display()))?;
            self.open.insert(r.song, f);
        }
        let f = self.open.get_mut(&r.song).expect("inserted above");
        cache::read_clip(f, song.data_offset, r.clip, out, &mut self.bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot read clip {} ({e}); delete the cache folder to rebuild it",
                song.cache_file.display(),
                r.clip
            )
        })
    }
}

/// A song's analysis and the number of its examples in the cache entry, or why there is none.
type Analysis = anyhow::Result<(SongMeta, u64)>;

/// Every song's analysis (read from the cache or made), with the tempo it is cut at.
struct Analysed {
    /// Per file: cache entry, the analysis (or why it could not be stored), the tempo plan.
    results: Vec<(PathBuf, Analysis, TempoPlan)>,
    /// Songs decoded in this run (the rest came from the cache).
    decoded: usize,
}

/// Analyse every file in parallel, in up to two passes: first each song alone (at the tempo
/// its file name declares, if any), then, once the readings of all songs are known, again for
/// the songs whose tempo the genre's choice or a tag moved (see [`tempo_choice`]).
fn analyse_all(
    files: &[scan::SongFile],
    config: &FeatureConfig,
    cache_dir: &Path,
    bar_lines: &bar_lines::BarLines,
) -> anyhow::Result<Analysed> {
    let hash = config.hash();
    // Bar lines only mean something on the bar grid.
    let given: Vec<Option<bar_lines::GivenGrid>> = files
        .iter()
        .map(|f| config.grid.and_then(|_| bar_lines.get(&f.path)))
        .collect();
    let given_bpm: Vec<Option<f32>> = given.iter().map(|g| g.and_then(|g| g.bpm)).collect();
    let run = |jobs: Vec<(usize, Option<f32>)>, what: &str| {
        let bar = crate::progress::bar(jobs.len() as u64, what);
        let out: Vec<(usize, PathBuf, Analysis, bool)> = jobs
            .into_par_iter()
            .map_init(
                || FeatureExtractor::new(config).expect("valid config"),
                |fx, (i, bpm)| {
                    let path = &files[i].path;
                    let hint = Hint {
                        bpm,
                        bar_line: given[i].map(|g| g.bar_line),
                    };
                    let entry = cache::entry_path(cache_dir, path, hash, &hint);
                    let hit = cache::read_meta(&entry);
                    let decoded = hit.is_none();
                    let res = hit.map(Ok).unwrap_or_else(|| {
                        cache::write_entry(&entry, |sink| analyse_song(path, hint, fx, sink))
                            .and_then(|_| {
                                cache::read_meta(&entry).ok_or_else(|| {
                                    anyhow::anyhow!("cache entry unreadable after writing")
                                })
                            })
                            .map_err(|e| {
                                e.context(format!("{}: cannot write cache entry", entry.display()))
                            })
                    });
                    bar.inc(1);
                    (i, entry, res, decoded)
                },
            )
            .collect();
        bar.finish_and_clear();
        out
    };
    // First each song at the tempo given for it, else the one its file name declares.
    let name_hint = |f: &scan::SongFile| {
        config
            .tempo_metadata
            .then(|| tempo_choice::bpm_in_name(&f.path))
            .flatten()
    };
    let first = run(
        files
            .iter()
            .enumerate()
            .map(|(i, f)| (i, given_bpm[i].or_else(|| name_hint(f))))
            .collect(),
        "decoding",
    );
    let mut decoded: Vec<bool> = first.iter().map(|j| j.3).collect();
    let mut results: Vec<(PathBuf, anyhow::Result<(SongMeta, u64)>)> =
        first.into_iter().map(|(_, e, r, _)| (e, r)).collect();
    let empty = SongMeta::new(0);
    let plans = {
        let songs: Vec<(Option<&str>, &Path, &SongMeta)> = files
            .iter()
            .zip(&results)
            .map(|(f, (_, r))| {
                let genre = (f.genre != scan::UNLABELLED).then_some(f.genre.as_str());
                let meta = r.as_ref().map_or(&empty, |(m, _)| m);
                (genre, f.path.as_path(), meta)
            })
            .collect();
        tempo_choice::plan(&songs, config.tempo_metadata, &given_bpm)
    };
    // Songs decoded but cut at another tempo than the plan's: again, near the planned tempo.
    let again: Vec<(usize, Option<f32>)> = results
        .iter()
        .zip(&plans)
        .enumerate()
        .filter_map(|(i, ((_, r), p))| {
            let (meta, _) = r.as_ref().ok()?;
            let target = p.target?;
            let moved = meta
                .aimed_at()
                .is_none_or(|a| (target / a - 1.0).abs() > MOVED_TEMPO);
            (meta.seconds > 0.0 && moved).then_some((i, Some(target)))
        })
        .collect();
    for (i, entry, res, d) in run(again, "re-reading tempo") {
        results[i] = (entry, res);
        decoded[i] |= d;
    }
    Ok(Analysed {
        results: results
            .into_iter()
            .zip(plans)
            .map(|((e, r), p)| (e, r, p))
            .collect(),
        decoded: decoded.iter().filter(|&&d| d).count(),
    })
}

/// A planned tempo this far (relative) from the one a song was analysed for is analysed again;
/// closer, the same autocorrelation peak would be found.
const MOVED_TEMPO: f32 = 0.02;

/// Usable songs and skipped files, with their reasons.
fn classify(
    files: Vec<scan::SongFile>,
    results: Vec<(PathBuf, Analysis, TempoPlan)>,
    config: &FeatureConfig,
) -> (Vec<Song>, Vec<Skipped>) {
    let mut songs = Vec::new();
    let mut skipped = Vec::new();
    for (f, (entry, res, plan)) in files.into_iter().zip(results) {
        match res {
            Err(e) => skipped.push(Skipped::new(f.path, &format!("{e:#}"))),
            Ok((meta, data_offset)) => {
                for w in &meta.warnings {
                    log::warn!("{}: {w}", f.path.display());
                }
                if let Some(err) = &meta.error {
                    let s = Skipped::new(f.path, err);
                    log::warn!("skipping {}: {}", s.path.display(), s.reason);
                    skipped.push(s);
                } else if meta.clip_starts.is_empty() {
                    let reason = format!(
                        "no usable clip (shorter than {} s or silent)",
                        config.clip_seconds
                    );
                    skipped.push(Skipped::new(f.path, &reason));
                } else {
                    songs.push(Song {
                        path: f.path,
                        genre: f.genre,
                        split: Split::Train,
                        meta,
                        tempo_source: plan.source,
                        tempo_margin: plan.margin,
                        cache_file: entry,
                        data_offset,
                    });
                }
            }
        }
    }
    (songs, skipped)
}

/// Decode a song and cut its clips, pushing each clip's features into `sink` as it is made.
/// Fails only when the cache cannot be written: problems with the song go into `meta.error`.
fn analyse_song(
    path: &Path,
    hint: Hint,
    fx: &mut FeatureExtractor,
    sink: &mut cache::ClipSink,
) -> anyhow::Result<SongMeta> {
    let cfg = fx.config.clone();
    let mut meta = SongMeta::new(cfg.clip_len());
    meta.tempo_hint = hint.bpm;
    let opts = dsp::DecodeOptions {
        sample_rate: cfg.sample_rate,
        ..Default::default()
    };
    let clock = std::time::Instant::now();
    let decoded = match dsp::decode_file(path, &opts) {
        Ok(d) => d,
        Err(e) => {
            meta.error = Some(e.to_string());
            return Ok(meta);
        }
    };
    meta.timing.decode = clock.elapsed().as_secs_f32();
    meta.seconds = decoded.seconds();
    meta.source_rate = decoded.source_rate;
    meta.source_channels = decoded.source_channels;
    meta.codec = decoded.codec.clone();
    meta.warnings = decoded.warnings.clone();
    meta.tagged_bpm = decoded.tagged_bpm;
    let x = decoded.samples;
    let clock = std::time::Instant::now();
    let found = find_examples_at(&x, fx, hint);
    meta.timing.tempo = clock.elapsed().as_secs_f32();
    let examples = match found {
        Ok(e) => e,
        Err(e) => {
            meta.set_evidence(e.evidence);
            meta.error = Some(e.reason);
            return Ok(meta);
        }
    };
    meta.set_evidence(examples.evidence.clone());
    if let Some(t) = examples.tempo {
        meta.tempo_bpm = Some(t.bpm);
        meta.tempo_strength = t.strength;
    }
    if let Some(d) = examples.downbeat {
        meta.downbeat_seconds = Some(d.frame as f64 * cfg.hop as f64 / cfg.sample_rate as f64);
        meta.downbeat_confidence = d.confidence;
        meta.downbeat_given = hint.bar_line.is_some();
    }
    if !examples.off_tempo.is_empty() {
        let sr = cfg.sample_rate as f64;
        let spans: Vec<String> = examples
            .off_tempo
            .iter()
            .map(|&(a, b, bpm)| format!("{:.1}-{:.1} s at {bpm:.1}", a / sr, b / sr))
            .collect();
        meta.warnings.push(format!(
            "the tempo changes ({} BPM, not the bar grid's {:.1}): {} examples there left out",
            spans.join(", "),
            meta.tempo_bpm.unwrap_or(f32::NAN),
            examples.dropped
        ));
    }
    let clock = std::time::Instant::now();
    let silence = 10f32.powf(cfg.silence_dbfs / 20.0);
    let len = examples.samples.round() as usize;
    let mut shared = SharedFrames::default();
    for &s in &examples.starts {
        let a = s.round() as usize;
        let clip = &x[a..(a + len).min(x.len())];
        let rms = (clip.iter().map(|v| v * v).sum::<f32>() / clip.len().max(1) as f32).sqrt();
        if rms < silence {
            meta.silent_clips += 1;
            continue;
        }
        match examples.features(fx, &x, s, &mut shared) {
            Ok(f) => {
                sink.push(&f.data)?;
                meta.clip_starts.push(a);
            }
            Err(e) => meta.warnings.push(format!("clip at {a}: {e}")),
        }
    }
    meta.timing.examples = clock.elapsed().as_secs_f32();
    Ok(meta)
}

/// What a signal says about its tempo, found whether or not it has examples (kept in
/// [`SongMeta`] for the genre folder's joint choice, see [`tempo_choice`]).
#[derive(Debug, Clone, Default)]
pub struct TempoEvidence {
    /// The detector's (BPM, strength) readings, best first.
    pub readings: Vec<(f32, f32)>,
    /// A reading above the detector's range that only a genre folder of several songs may
    /// choose (3/2 of the best, see `dsp::tempo::GROUP_MAX_BPM`).
    pub group_reading: Option<(f32, f32)>,
    /// Hi-hat onsets per second (0 when the signal could not be analysed).
    pub hat_rate: f32,
    /// Period (seconds) and clarity of the snare's onsets, when found.
    pub snare_period: Option<(f32, f32)>,
}

/// The first bar line of a bar grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FirstBar {
    /// Its time in STFT frames (fractional).
    pub frame: f32,
    /// How sure the detector is of it (see [`dsp::downbeat::Downbeat::confidence`]); 1 for a
    /// bar line the user gave.
    pub confidence: f32,
}

/// Where a signal's examples start, and what was found on the way.
pub struct Examples {
    pub tempo: Option<dsp::tempo::Tempo>,
    /// The bar grid's first bar line (bar grid only).
    pub downbeat: Option<FirstBar>,
    /// Example starts (samples, fractional on the bar grid).
    pub starts: Vec<f64>,
    /// Samples per example.
    pub samples: f64,
    pub evidence: TempoEvidence,
    /// Stretches of the signal that move at another tempo than the grid's
    /// ([`dsp::tempo_steady`]): (start, end) samples and their own BPM.
    pub off_tempo: Vec<(f64, f64, f32)>,
    /// Examples left out because they reach into one of those stretches.
    pub dropped: usize,
}

impl Examples {
    /// The band dB features of the example starting at `start`; on the bar grid, frames the
    /// previous example of `x` analysed come from `shared` (see [`SharedFrames`]).
    pub fn features(
        &self,
        fx: &mut FeatureExtractor,
        x: &[f32],
        start: f64,
        shared: &mut SharedFrames,
    ) -> dsp::Result<dsp::Spectrogram> {
        match (fx.config.grid, self.tempo) {
            (Some(g), Some(t)) => fx.grid_band_db(&g, x, start, t.bpm, shared),
            _ => {
                let a = start.round() as usize;
                fx.band_db(&x[a..a + self.samples.round() as usize])
            }
        }
    }
}

/// Why a signal has no examples, with the tempo evidence found on the way.
#[derive(Debug, Clone)]
pub struct NoExamples {
    pub reason: String,
    pub evidence: TempoEvidence,
}

impl std::fmt::Display for NoExamples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// How far before a signal's first sample its first bar line may be found and still be taken
/// to be at sample 0 (seconds). The onset flux of the centred frames rises as soon as a frame's
/// window reaches an attack, so bar lines are found up to about two frames (23 ms) early: a
/// loop that starts on its downbeat would otherwise have its first bar line placed a whole bar
/// later, and that bar left out.
pub const START_SLACK_SECONDS: f32 = 0.025;

/// Detect the tempo (and on the bar grid the downbeat) of `x` and place its examples: on the
/// grid, every `example_hop_bars` bars from the first bar line, whole examples only, none
/// reaching into a stretch that moves at another tempo ([`dsp::tempo_steady`]); with fixed
/// clips, see [`clip_starts`]. The tempo is the detector's best reading, or with `tempo_hint`
/// the reading within 4% of the hint (the hint itself if there is none). On the grid a signal
/// without a steady tempo, too short for one example, or with no example left in its tempo,
/// is an error (the reason, for the skipped-files list).
pub fn find_examples(
    x: &[f32],
    fx: &mut FeatureExtractor,
    tempo_hint: Option<f32>,
) -> Result<Examples, NoExamples> {
    find_examples_at(
        x,
        fx,
        Hint {
            bpm: tempo_hint,
            bar_line: None,
        },
    )
}

/// [`find_examples`] with a bar line the user gave (`hint.bar_line`, seconds): on the bar grid
/// the examples start on the bar lines through it, at the tempo found as usual, instead of
/// from the first bar line the detector finds (its downbeat confidence is then 1).
pub fn find_examples_at(
    x: &[f32],
    fx: &mut FeatureExtractor,
    hint: Hint,
) -> Result<Examples, NoExamples> {
    let tempo_hint = hint.bpm;
    let cfg = fx.config.clone();
    let (tempo, readings, group_reading, bands) = match fx.tempo_analysis(x) {
        Ok(bands) => {
            let env = &bands.envelope;
            let (lo, hi) = dsp::tempo::DEFAULT_BPM_RANGE;
            let fr = cfg.frame_rate();
            let analysis = dsp::tempo::TempoAnalysis::new(env, fr, lo, hi);
            let best = analysis.as_ref().and_then(|a| a.best());
            let (readings, group_reading) = match (&analysis, &best) {
                (Some(a), Some(b)) => {
                    // A fast song whose beat is heard at 2/3 (a dotted-quarter pulse) offers its
                    // genre folder 3/2 of it too, above the range (dsp::tempo::GROUP_MAX_BPM).
                    let fast = Some(1.5 * b.bpm).filter(|&f| f > hi);
                    let group = fast.and_then(|f| a.near_up_to(f, dsp::tempo::GROUP_MAX_BPM));
                    (a.readings(b), group)
                }
                _ => (Vec::new(), None),
            };
            let tempo = match tempo_hint {
                Some(h) => Some(
                    analysis
                        .as_ref()
                        .and_then(|a| a.near(h))
                        .unwrap_or_else(|| dsp::tempo::fixed_tempo(env, fr, h)),
                ),
                None => best,
            };
            let readings = readings.iter().map(|t| (t.bpm, t.strength)).collect();
            let group_reading = group_reading.map(|t| (t.bpm, t.strength));
            (tempo, readings, group_reading, Some(bands))
        }
        Err(_) => (None, Vec::new(), None, None),
    };
    // Rhythm evidence for the tempo's octave (see dsp::tempo_octave).
    let (hat_rate, snare_period) = bands.as_ref().map_or((0.0, None), |b| {
        let fs = 1.0 / cfg.frame_rate();
        let hz = b.mel.centres_hz();
        let r = dsp::drums::rhythm(b.db, hz, fs, &dsp::drums::DrumConfig::default());
        (r.hat_rate, r.snare_period)
    });
    let evidence = TempoEvidence {
        readings,
        group_reading,
        hat_rate,
        snare_period,
    };
    let fail = |reason: String| NoExamples {
        reason,
        evidence: evidence.clone(),
    };
    let Some(grid) = cfg.grid else {
        return Ok(Examples {
            tempo,
            downbeat: None,
            starts: clip_starts(x.len(), &cfg, tempo.filter(|_| cfg.beat_align))
                .into_iter()
                .map(|s| s as f64)
                .collect(),
            samples: cfg.clip_samples() as f64,
            evidence,
            off_tempo: Vec::new(),
            dropped: 0,
        });
    };
    let (Some(t), Some(bands)) = (tempo, bands) else {
        return Err(fail(format!(
            "no steady tempo found (the bar grid needs one; {:.1} s of audio)",
            x.len() as f64 / cfg.sample_rate as f64
        )));
    };
    let bar = features::bar_samples(t.bpm, cfg.sample_rate);
    let downbeat = match hint.bar_line {
        // The first bar line of the grid through the given one.
        Some(at) => {
            let at = at * cfg.sample_rate as f64;
            FirstBar {
                frame: ((at - (at / bar).floor() * bar) / cfg.hop as f64) as f32,
                confidence: 1.0,
            }
        }
        None => {
            let mut d = dsp::downbeat::find_downbeat(bands.db, cfg.sample_rate, &t)
                .ok_or_else(|| fail(format!("too short to find bar lines at {:.1} BPM", t.bpm)))?;
            // A bar line found just before the signal's start is the start (see
            // START_SLACK_SECONDS).
            let before = d.frame - dsp::downbeat::BEATS_PER_BAR as f32 * t.period_frames;
            if before > -START_SLACK_SECONDS * cfg.frame_rate() {
                d.frame = before.max(0.0);
            }
            FirstBar {
                frame: d.frame,
                confidence: d.confidence,
            }
        }
    };
    let samples = cfg.example_samples(t.bpm);
    let first = downbeat.frame as f64 * cfg.hop as f64;
    let step = bar * cfg.example_hop_bars.max(1) as f64;
    let starts: Vec<f64> = (0..)
        .map(|j| first + j as f64 * step)
        .take_while(|s| s + samples <= x.len() as f64)
        .collect();
    if starts.is_empty() {
        return Err(fail(format!(
            "shorter than {} bars at {:.1} BPM after the first bar line",
            grid.bars, t.bpm
        )));
    }
    // Stretches that move at another tempo: the grid does not fit there, so no example that
    // reaches into one is kept.
    let off_tempo: Vec<(f64, f64, f32)> =
        dsp::tempo_steady::off_tempo_spans(&bands.envelope, cfg.frame_rate(), &t)
            .iter()
            .map(|o| {
                let at = |f: usize| f as f64 * cfg.hop as f64;
                (at(o.frames.0), at(o.frames.1), o.bpm)
            })
            .collect();
    let kept: Vec<f64> = starts
        .iter()
        .copied()
        .filter(|&s| {
            off_tempo
                .iter()
                .all(|&(a, b, _)| s + samples <= a || s >= b)
        })
        .collect();
    if kept.is_empty() {
        let sr = cfg.sample_rate as f64;
        let spans: Vec<String> = off_tempo
            .iter()
            .map(|&(a, b, bpm)| format!("{:.1}-{:.1} s at {bpm:.1} BPM", a / sr, b / sr))
            .collect();
        return Err(fail(format!(
            "no {} bars move at {:.1} BPM, the bar grid's tempo ({}): a tempo change, or a \
             wrong tempo in its tag or file name (see --ignore-tempo-metadata)",
            grid.bars,
            t.bpm,
            spans.join(", ")
        )));
    }
    Ok(Examples {
        tempo: Some(t),
        downbeat: Some(downbeat),
        dropped: starts.len() - kept.len(),
        starts: kept,
        samples,
        evidence,
        off_tempo,
    })
}

/// Clip start samples: every `clip_hop_seconds`, each moved to the nearest beat when a tempo is
/// known (so clips start on beats), keeping clips inside the signal and distinct.
pub fn clip_starts(
    len: usize,
    cfg: &FeatureConfig,
    tempo: Option<dsp::tempo::Tempo>,
) -> Vec<usize> {
    let clip_n = cfg.clip_samples();
    let hop_n = (cfg.clip_hop_seconds * cfg.sample_rate as f32) as usize;
    if len < clip_n || hop_n == 0 {
        return Vec::new();
    }
    let last = len - clip_n;
    let mut out: Vec<usize> = Vec::new();
    let mut nominal = 0usize;
    while nominal <= last {
        let s = match tempo {
            Some(t) => {
                let period = t.period_frames as f64 * cfg.hop as f64;
                let phase = t.phase_frames as f64 * cfg.hop as f64;
                let k = ((nominal as f64 - phase) / period).round();
                let mut b = phase + k * period;
                if b > last as f64 {
                    b -= period;
                }
                if b < 0.0 {
                    b += period;
                }
                (b.round() as usize).min(last)
            }
            None => nominal,
        };
        if out.last() != Some(&s) {
            out.push(s);
        }
        nominal += hop_n;
    }
    out
}
