//! beatgen's signal processing: audio decoding and encoding, resampling, STFT/ISTFT, fast
//! Griffin-Lim with PGHI initialisation, log-magnitude spectrograms, band projections and PNG
//! dumps. Everything numeric is `f32`; audio is mono at [`SAMPLE_RATE`] unless said otherwise.

// Checks are written `if !(x > 0.0) { refuse }` on purpose: a NaN fails every comparison, so
// `if x <= 0.0 { refuse }` would let it through.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod atomic;
pub mod bands;
pub mod decode;
pub mod downbeat;
pub mod drums;
pub mod encode;
pub mod error;
pub mod griffin_lim;
pub mod image;
pub mod limiter;
pub mod metronome;
pub mod pghi;
pub mod resample;
pub mod rng;
pub mod spectrogram;
pub mod stft;
pub mod tempo;
pub mod tempo_octave;
pub mod tempo_steady;
pub mod wide;
pub mod window;

pub use decode::{decode_file, DecodeOptions, Decoded};
pub use encode::{write_audio, AudioFormat, EncodeOptions};
pub use error::{DspError, Result};
pub use griffin_lim::{spectral_convergence_db, GriffinLim, GriffinLimConfig, PhaseInit};
pub use stft::{ComplexSpec, Padding, Spectrogram, StftConfig, StftPlan, TfGrid};

/// The one sample rate every input is resampled to, in Hz.
pub const SAMPLE_RATE: u32 = 22050;
