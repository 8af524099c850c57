//! The on-disk clip cache: one file per song, keyed by the song's path, size and modification
//! time, the hash of the [`FeatureConfig`](super::features::FeatureConfig) and
//! [`PIPELINE_VERSION`]. A second run
//! reads features instead of decoding; a changed file or a changed config is a miss.
//!
//! File layout (little-endian): `b"BGCACHE2"`, `clips x clip_len` f32 band-dB values, the JSON
//! [`SongMeta`], then the JSON's length as a u64. The header comes last so that clips are
//! written as they are computed ([`write_entry`]): memory does not grow with the length of a
//! song. Files are written atomically; a file whose size does not match its header is treated
//! as a miss and rewritten.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::features::fnv1a;

const MAGIC: &[u8; 8] = b"BGCACHE2";

/// Bumped whenever decoding, resampling or feature code changes what a cached clip holds, so
/// that old caches are rebuilt rather than silently mixed in.
pub const PIPELINE_VERSION: u32 = 13;

/// What the pipeline learned about one song. `error` is set (and there are no clips) when the
/// song could not be used; that is cached too, so a broken file is not decoded every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongMeta {
    pub seconds: f64,
    pub source_rate: u32,
    pub source_channels: usize,
    pub codec: String,
    /// The tempo the examples were cut at (BPM) and its autocorrelation strength.
    pub tempo_bpm: Option<f32>,
    pub tempo_strength: f32,
    /// The detector's readings of the song, (BPM, strength): its best tempo first, then the
    /// other readings its autocorrelation supports (see `dsp::tempo::TempoAnalysis::readings`).
    pub tempo_readings: Vec<(f32, f32)>,
    /// A reading above the detector's range that only a genre folder of several songs may
    /// choose, (BPM, strength) (see `dsp::tempo::GROUP_MAX_BPM`).
    #[serde(default)]
    pub group_reading: Option<(f32, f32)>,
    /// The tempo the file's tags declare.
    pub tagged_bpm: Option<f32>,
    /// Hi-hat onsets per second (see `dsp::drums::Rhythm`), evidence for the tempo's octave.
    #[serde(default)]
    pub hat_rate: f32,
    /// Period (seconds) and clarity of the snare's onsets (see `dsp::drums::Rhythm`).
    #[serde(default)]
    pub snare_period: Option<(f32, f32)>,
    /// The tempo was sought near this (from metadata or the genre's choice); `None`: the
    /// detector's best reading.
    pub tempo_hint: Option<f32>,
    /// Time of the first bar line (bar grid only).
    pub downbeat_seconds: Option<f64>,
    /// Margin of the chosen bar phase over the next (see `dsp::downbeat`), 0 when not found;
    /// 1 for a bar line the user gave.
    pub downbeat_confidence: f32,
    /// The bar grid goes through a bar line the user gave (`--bar-lines`), not the detector's.
    #[serde(default)]
    pub downbeat_given: bool,
    /// First sample of each clip (at the model's sample rate).
    pub clip_starts: Vec<usize>,
    /// Clips dropped as silent.
    pub silent_clips: usize,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    /// Values per clip (frames x bands), to validate the data block.
    pub clip_len: usize,
    /// Where the time went when the song was analysed (it is cached with the rest).
    pub timing: AnalysisTiming,
}

/// Seconds of one thread spent on one song's analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisTiming {
    /// Decoding, downmixing and resampling.
    pub decode: f32,
    /// Tempo and bar lines: the song's spectrogram and onset envelope, its tempo readings, the
    /// first bar line and the example starts.
    pub tempo: f32,
    /// The examples' features on the bar grid, written to the cache.
    pub examples: f32,
}

impl SongMeta {
    /// Keep what the signal said about its tempo.
    pub fn set_evidence(&mut self, e: super::TempoEvidence) {
        self.tempo_readings = e.readings;
        self.group_reading = e.group_reading;
        self.hat_rate = e.hat_rate;
        self.snare_period = e.snare_period;
    }

    /// Nothing known yet, for clips of `clip_len` values.
    pub fn new(clip_len: usize) -> Self {
        SongMeta {
            seconds: 0.0,
            source_rate: 0,
            source_channels: 0,
            codec: String::new(),
            tempo_bpm: None,
            tempo_strength: 0.0,
            tempo_readings: Vec::new(),
            group_reading: None,
            tagged_bpm: None,
            hat_rate: 0.0,
            snare_period: None,
            tempo_hint: None,
            downbeat_seconds: None,
            downbeat_confidence: 0.0,
            downbeat_given: false,
            clip_starts: Vec::new(),
            silent_clips: 0,
            warnings: Vec::new(),
            error: None,
            clip_len,
            timing: AnalysisTiming::default(),
        }
    }

    /// The tempo this analysis was aimed at: its hint, else the detector's best reading.
    pub fn aimed_at(&self) -> Option<f32> {
        self.tempo_hint
            .or_else(|| self.tempo_readings.first().map(|r| r.0))
    }
}

/// Cache file for a song, from its identity, the config hash and the hint (tempo, bar line)
/// the song was analysed with.
pub fn entry_path(cache_dir: &Path, song: &Path, config_hash: u64, hint: &super::Hint) -> PathBuf {
    let (size, mtime) = std::fs::metadata(song)
        .map(|m| {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            (m.len(), t)
        })
        .unwrap_or((0, 0));
    let abs = std::fs::canonicalize(song).unwrap_or_else(|_| song.to_path_buf());
    let key = format!(
        "{}\u{0}{size}\u{0}{mtime}\u{0}{config_hash:016x}\u{0}{PIPELINE_VERSION}{}",
        abs.display(),
        hint.bpm.map_or(String::new(), |b| format!("\u{0}{b:.3}"))
    );
    // Keys of songs without a given bar line are as they were before there could be one.
    let key = match hint.bar_line {
        Some(b) => format!("{key}\u{0}bar line {b:.6}"),
        None => key,
    };
    cache_dir.join(format!("{:016x}.clips", fnv1a(key.as_bytes())))
}

/// Read and validate an entry's header; `None` on a miss (absent, corrupt or truncated).
/// Returns the metadata and the offset of the first clip.
pub fn read_meta(path: &Path) -> Option<(SongMeta, u64)> {
    let mut f = File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic).ok()?;
    if &magic != MAGIC || size < 16 {
        return None;
    }
    let mut len = [0u8; 8];
    f.seek(SeekFrom::End(-8)).ok()?;
    f.read_exact(&mut len).ok()?;
    let hlen = u64::from_le_bytes(len);
    if hlen > (1 << 30) || hlen + 16 > size {
        return None;
    }
    let mut json = vec![0u8; hlen as usize];
    f.seek(SeekFrom::Start(size - 8 - hlen)).ok()?;
    f.read_exact(&mut json).ok()?;
    let meta: SongMeta = serde_json::from_slice(&json).ok()?;
    let data = (meta.clip_starts.len() * meta.clip_len * 4) as u64;
    (size == 8 + data + hlen + 8).then_some((meta, 8))
}

/// Where [`write_entry`]'s producer puts clips, straight into the file being written.
pub struct ClipSink<'a> {
    w: &'a mut dyn Write,
    bytes: Vec<u8>,
    clips: usize,
}

impl ClipSink<'_> {
    /// Append one clip's values.
    pub fn push(&mut self, clip: &[f32]) -> std::io::Result<()> {
        self.bytes.clear();
        clip.iter()
            .for_each(|v| self.bytes.extend_from_slice(&v.to_le_bytes()));
        self.clips += 1;
        self.w.write_all(&self.bytes)
    }
}

/// Write an entry atomically (not synced: a cache entry damaged by a power cut fails its size
/// check and is rebuilt): `produce` pushes each clip into the sink as it computes it and
/// returns the song's metadata, whose `clip_starts` must count the clips pushed.
pub fn write_entry(
    path: &Path,
    produce: impl FnOnce(&mut ClipSink) -> anyhow::Result<SongMeta>,
) -> anyhow::Result<SongMeta> {
    let mut result = None;
    let mut failure = None;
    dsp::atomic::write_atomically_unsynced_with(path, |w| {
        w.write_all(MAGIC)?;
        let mut sink = ClipSink {
            w,
            bytes: Vec::new(),
            clips: 0,
        };
        let meta = match produce(&mut sink) {
            Ok(m) => m,
            Err(e) => {
                failure = Some(e);
                return Err(std::io::Error::other("the song's analysis failed"));
            }
        };
        if meta.clip_starts.len() != sink.clips {
            failure = Some(anyhow::anyhow!("cache entry size mismatch"));
            return Err(std::io::Error::other("cache entry size mismatch"));
        }
        let json = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        w.write_all(&json)?;
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        result = Some(meta);
        Ok(())
    })
    .map_err(|e| failure.take().unwrap_or_else(|| e.into()))?;
    Ok(result.expect("written"))
}

/// Read clip `index` of an entry into `out` (length `clip_len`), through the caller's byte
/// buffer `buf` (resized as needed, so repeated reads do not allocate).
pub fn read_clip(
    file: &mut File,
    data_offset: u64,
    index: usize,
    out: &mut [f32],
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    let bytes_per = out.len() * 4;
    file.seek(SeekFrom::Start(data_offset + (index * bytes_per) as u64))?;
    buf.resize(bytes_per, 0);
    file.read_exact(buf)?;
    for (o, c) in out.iter_mut().zip(buf.chunks_exact(4)) {
        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    Ok(())
}
