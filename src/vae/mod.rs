//! The hand-written VAE: a [`layer::Layer`] trait with manual backprop implemented by dense
//! ([`dense`]), convolution ([`conv`]), reshaping ([`reshape`]) and activation
//! ([`activation`]) layers, composed into stacks ([`stack`]) by the conditional encoder and
//! decoder ([`model`]); the loss ([`loss`]), Adam ([`adam`]) and data-parallel steps
//! ([`shards`]). Maths on arrays only: files
//! are the business of [`crate::model_dir`], random numbers come from the caller.

pub mod activation;
pub mod adam;
pub mod conv;
pub mod dense;
pub mod layer;
pub mod loss;
pub mod matmul;
pub mod model;
pub mod reshape;
pub mod shards;
pub mod stack;
pub mod upconv;
pub mod winograd;

pub use adam::{AdamConfig, AdamState};
pub use loss::ReconLoss;
pub use model::{Architecture, Losses, Objective, Vae, VaeConfig, Workspace};
