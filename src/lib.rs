//! beatgen: learn short beat loops from a folder of songs and generate new ones per genre.
//!
//! The pipeline (see README.md): decode and resample songs ([`dsp`]), cut 3 s clips and turn them
//! into normalised log-magnitude band spectrograms ([`dataset`]), train a conditional VAE written
//! by hand on ndarray ([`vae`]), and turn decoded spectrograms back into audio with Griffin-Lim
//! ([`generate`]).

pub mod cli;
pub mod commands;
pub mod corpus;
pub mod dataset;
pub mod eval;
pub mod generate;
pub mod logging;
pub mod loops;
pub mod plot;
pub mod progress;
pub mod train;
pub mod vae;
