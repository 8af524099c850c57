//! From a folder of songs to ready-to-train clips: scan ([`scan`]), decode and resample in
//! parallel, detect the tempo and the first bar line, cut examples of whole bars from every bar
//! line ([`find_examples`]), compute their band features on the bar grid ([`features`]), cache
//! them per song on disk ([`cache`]), and split train/validation by song ([`split`]). Clips are read back from the cache one at a time, so memory stays bounded
//! however large the corpus is.

pub mod cache;
pub mod features;
pub mod scan;
pub mod split;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use cache::SongMeta;
use features::{FeatureConfig, FeatureExtractor, Normalization};
use split::{SavedSplit, Split};

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
    pub cache_file: PathBuf,
    pub data_offset: u64,
}

/// A song that could not be used, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
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
        let hash = config.hash();
        let decoded = AtomicUsize::new(0);
        let bar = crate::progress::bar(files.len() as u64, "decoding");
        let results: Vec<(scan::SongFile, PathBuf, anyhow::Result<(SongMeta, u64)>)> = files
            .into_par_iter()
            .map_init(
                || FeatureExtractor::new(config).expect("valid config"),
                |fx, f| {
                    let entry = cache::entry_path(&cache_dir, &f.path, hash);
                    let res = match cache::read_meta(&entry) {
                        Some(hit) => Ok(hit),
                        None => {
                            decoded.fetch_add(1, Ordering::Relaxed);
                            cache::write_entry(&entry, |sink| analyse_song(&f.path, fx, sink))
                                .and_then(|_| {
                                    cache::read_meta(&entry).ok_or_else(|| {
                                        anyhow::anyhow!("cache entry unreadable after writing")
                                    })
                                })
                                .map_err(|e| {
                                    e.context(format!(
                                        "{}: cannot write cache entry",
                                        entry.display()
                                    ))
                                })
                        }
                    };
                    bar.inc(1);
                    (f, entry, res)
                },
            )
            .collect();
        bar.finish_and_clear();
        let n_decoded = decoded.into_inner();
        let mut songs = Vec::new();
        let mut skipped = Vec::new();
        for (f, entry, res) in results {
            match res {
                Err(e) => skipped.push(Skipped {
                    path: f.path,
                    reason: format!("{e:#}"),
                }),
                Ok((meta, data_offset)) => {
                    for w in &meta.warnings {
                        log::warn!("{}: {w}", f.path.display());
                    }
                    if let Some(err) = &meta.error {
                        let path = f.path.display().to_string();
                        if err.contains(&path) {
                            log::warn!("skipping {err}");
                        } else {
                            log::warn!("skipping {path}: {err}");
                        }
                        skipped.push(Skipped {
                            path: f.path,
                            reason: err.clone(),
                        });
                    } else if meta.clip_starts.is_empty() {
                        let reason = format!(
                            "no usable clip (shorter than {} s or silent)",
                            config.clip_seconds
                        );
                        skipped.push(Skipped {
                            path: f.path,
                            reason,
                        });
                    } else {
                        songs.push(Song {
                            path: f.path,
                            genre: f.genre,
                            split: Split::Train,
                            meta,
                            cache_file: entry,
                            data_offset,
                        });
                    }
                }
            }
        }
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
            saved.insert(SavedSplit::key(&self.root, &s.path), s.split);
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

/// Decode a song and cut its clips, pushing each clip's features into `sink` as it is made.
/// Fails only when the cache cannot be written: problems with the song go into `meta.error`.
fn analyse_song(
    path: &Path,
    fx: &mut FeatureExtractor,
    sink: &mut cache::ClipSink,
) -> anyhow::Result<SongMeta> {
    let cfg = fx.config.clone();
    let mut meta = SongMeta {
        seconds: 0.0,
        source_rate: 0,
        source_channels: 0,
        codec: String::new(),
        tempo_bpm: None,
        tempo_strength: 0.0,
        downbeat_seconds: None,
        downbeat_confidence: 0.0,
        clip_starts: Vec::new(),
        silent_clips: 0,
        warnings: Vec::new(),
        error: None,
        clip_len: cfg.clip_len(),
    };
    let opts = dsp::DecodeOptions {
        sample_rate: cfg.sample_rate,
        ..Default::default()
    };
    let decoded = match dsp::decode_file(path, &opts) {
        Ok(d) => d,
        Err(e) => {
            meta.error = Some(e.to_string());
            return Ok(meta);
        }
    };
    meta.seconds = decoded.seconds();
    meta.source_rate = decoded.source_rate;
    meta.source_channels = decoded.source_channels;
    meta.codec = decoded.codec.clone();
    meta.warnings = decoded.warnings.clone();
    let x = decoded.samples;
    let examples = match find_examples(&x, fx) {
        Ok(e) => e,
        Err(reason) => {
            meta.error = Some(reason);
            return Ok(meta);
        }
    };
    if let Some(t) = examples.tempo {
        meta.tempo_bpm = Some(t.bpm);
        meta.tempo_strength = t.strength;
    }
    if let Some(d) = examples.downbeat {
        meta.downbeat_seconds = Some(d.frame as f64 * cfg.hop as f64 / cfg.sample_rate as f64);
        meta.downbeat_confidence = d.confidence;
    }
    let silence = 10f32.powf(cfg.silence_dbfs / 20.0);
    let len = examples.samples.round() as usize;
    for &s in &examples.starts {
        let a = s.round() as usize;
        let clip = &x[a..(a + len).min(x.len())];
        let rms = (clip.iter().map(|v| v * v).sum::<f32>() / clip.len().max(1) as f32).sqrt();
        if rms < silence {
            meta.silent_clips += 1;
            continue;
        }
        match examples.features(fx, &x, s) {
            Ok(f) => {
                sink.push(&f.data)?;
                meta.clip_starts.push(a);
            }
            Err(e) => meta.warnings.push(format!("clip at {a}: {e}")),
        }
    }
    Ok(meta)
}

/// Where a signal's examples start, and what was found on the way.
pub struct Examples {
    pub tempo: Option<dsp::tempo::Tempo>,
    pub downbeat: Option<dsp::downbeat::Downbeat>,
    /// Example starts (samples, fractional on the bar grid).
    pub starts: Vec<f64>,
    /// Samples per example.
    pub samples: f64,
}

impl Examples {
    /// The band dB features of the example starting at `start`.
    pub fn features(
        &self,
        fx: &mut FeatureExtractor,
        x: &[f32],
        start: f64,
    ) -> dsp::Result<dsp::Spectrogram> {
        match (fx.config.grid, self.tempo) {
            (Some(g), Some(t)) => fx.grid_band_db(&g, x, start, t.bpm),
            _ => {
                let a = start.round() as usize;
                fx.band_db(&x[a..a + self.samples.round() as usize])
            }
        }
    }
}

/// Detect the tempo (and on the bar grid the downbeat) of `x` and place its examples: on the
/// grid, every `example_hop_bars` bars from the first bar line, whole examples only; with fixed
/// clips, see [`clip_starts`]. On the grid a signal without a steady tempo, or too short for
/// one example, is an error (the reason, for the skipped-files list).
pub fn find_examples(x: &[f32], fx: &mut FeatureExtractor) -> Result<Examples, String> {
    let cfg = fx.config.clone();
    let mel = cfg.projection_for_tempo();
    let (tempo, mel_db) = match fx.tempo_analysis(x, &mel) {
        Ok((env, mel_db)) => {
            let (lo, hi) = dsp::tempo::DEFAULT_BPM_RANGE;
            let tempo = dsp::tempo::estimate_tempo(&env, cfg.frame_rate(), lo, hi);
            (tempo, Some(mel_db))
        }
        Err(_) => (None, None),
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
        });
    };
    let (Some(t), Some(mel_db)) = (tempo, mel_db) else {
        return Err(format!(
            "no steady tempo found (the bar grid needs one; {:.1} s of audio)",
            x.len() as f64 / cfg.sample_rate as f64
        ));
    };
    let downbeat = dsp::downbeat::find_downbeat(&mel_db, cfg.sample_rate, &t)
        .ok_or_else(|| format!("too short to find bar lines at {:.1} BPM", t.bpm))?;
    let bar = features::bar_samples(t.bpm, cfg.sample_rate);
    let samples = cfg.example_samples(t.bpm);
    let first = downbeat.frame as f64 * cfg.hop as f64;
    let step = bar * cfg.example_hop_bars.max(1) as f64;
    let starts: Vec<f64> = (0..)
        .map(|j| first + j as f64 * step)
        .take_while(|s| s + samples <= x.len() as f64)
        .collect();
    if starts.is_empty() {
        return Err(format!(
            "shorter than {} bars at {:.1} BPM after the first bar line",
            grid.bars, t.bpm
        ));
    }
    Ok(Examples {
        tempo: Some(t),
        downbeat: Some(downbeat),
        starts,
        samples,
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
