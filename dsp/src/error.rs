//! Errors of the `dsp` crate. Each names the file (where there is one) and the problem, with the
//! expected and actual values, so the binary can print it as one clear line.

use std::path::PathBuf;

/// Everything that can go wrong while reading, transforming or writing audio.
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: is a directory, not an audio file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: file is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path}: not a recognised audio file ({detail})")]
    UnknownFormat { path: PathBuf, detail: String },
    #[error("{path}: no audio track in the file")]
    NoAudioTrack { path: PathBuf },
    #[error("{path}: cannot decode audio: {detail}")]
    Decode { path: PathBuf, detail: String },
    #[error("{path}: no audio could be decoded ({detail})")]
    NoAudio { path: PathBuf, detail: String },
    #[error("{path}: unsupported output format {extension:?} (expected .wav or .mp3)")]
    UnsupportedOutput { path: PathBuf, extension: String },
    #[error("{path}: cannot encode: {detail}")]
    Encode { path: PathBuf, detail: String },
    #[error("resampler: {0}")]
    Resample(String),
    #[error("shape mismatch: expected {expected}, got {actual}")]
    Shape { expected: String, actual: String },
    #[error("invalid parameter {name}: {detail}")]
    Parameter { name: &'static str, detail: String },
}

pub type Result<T> = std::result::Result<T, DspError>;

impl DspError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        DspError::Io {
            path: path.to_path_buf(),
            err: source,
        }
    }
}

/// Seconds for a message: two decimals, or three significant digits in scientific notation
/// when that would be long (`1.00e300`, not three hundred digits).
pub fn short_seconds(s: f64) -> String {
    if s.abs() < 1e6 {
        format!("{s:.2}")
    } else {
        format!("{s:.2e}")
    }
}
