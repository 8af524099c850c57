//! The hand-written VAE: dense layers with manual backprop ([`dense`]), the loss
//! ([`loss`]), Adam ([`adam`]), the conditional encoder/decoder ([`model`]), and the model
//! directory on disk ([`checkpoint`]).

pub mod adam;
pub mod checkpoint;
pub mod dense;
pub mod loss;
pub mod matmul;
pub mod model;

pub use adam::AdamConfig;
pub use model::{AdamState, Losses, Vae, VaeConfig, Workspace};
