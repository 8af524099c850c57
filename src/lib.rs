//! beatgen: learn short beat loops from a folder of songs and generate new ones per genre.
//!
//! The pipeline (see README.md): decode and resample songs ([`dsp`]), find their tempo and bar
//! lines, cut examples of whole bars and turn them into normalised log-magnitude band
//! spectrograms on a bar grid ([`dataset`]), train a conditional convolutional VAE written by
//! hand on ndarray ([`vae`]), and turn decoded bar grids back into audio at any tempo with
//! Griffin-Lim ([`generate`]).

// Checks are written `if !(x > 0.0) { refuse }` on purpose: a NaN fails every comparison, so
// `if x <= 0.0 { refuse }` would let it through.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod calibration;
pub mod cli;
pub mod commands;
pub mod corpus;
pub mod dataset;
pub mod detail;
pub mod eval;
pub mod generate;
pub mod groove;
pub mod listen_page;
pub mod logging;
pub mod loops;
pub mod model_dir;
pub mod plot;
pub mod postfilter;
pub mod progress;
pub mod train;
pub mod transient_shaper;
pub mod vae;
