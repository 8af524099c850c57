//! The layer abstraction the networks are composed of.
//!
//! Activations are feature-major batches `[features, B]` (a column per sample). A sample's
//! features are a `channels x time` map stored channel-major, feature `c * time + t`: exactly
//! PyTorch's `[C, T]` layout flattened, so a `[C * T, B]` batch is also a `[C, T * B]` matrix
//! (row `c`, column `t * B + b`). Convolutions over time use that view; a dense layer sees the
//! flattened features; reshaping between the two is free.
//!
//! A layer is built from a [`LayerSpec`] (saved in the model's `config.json`) and an input
//! [`Shape`]. Parameters and their gradients are reached through [`Layer::visit`] and
//! [`Layer::visit_mut`]; names follow PyTorch (`weight`, `bias`), and a stack prefixes them
//! with `encoder.{i}` or `decoder.{i}`, `i` counting every layer as `nn.Sequential` does.

use ndarray::{ArrayView2, ArrayViewMut2};
use serde::{Deserialize, Serialize};

use rand::RngCore;

/// One sample's activation shape: `channels x time` (a flat vector is `features x 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub channels: usize,
    pub time: usize,
}

impl Shape {
    pub fn new(channels: usize, time: usize) -> Self {
        Shape { channels, time }
    }
    pub fn flat(features: usize) -> Self {
        Shape {
            channels: features,
            time: 1,
        }
    }
    pub fn features(&self) -> usize {
        self.channels * self.time
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.channels, self.time)
    }
}

/// A parameter tensor and its gradient, as a visitor sees it.
pub struct Param<'a> {
    /// `weight` or `bias`.
    pub name: &'static str,
    /// PyTorch shape (`[out, in]`, `[out, in, kernel]`, `[out]`).
    pub shape: Vec<usize>,
    pub value: &'a [f32],
    pub grad: &'a [f32],
}

/// A parameter tensor to update, and its gradient (mutable too, for combining the gradients
/// of several copies of a network, see [`super::shards`]).
pub struct ParamMut<'a> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub value: &'a mut [f32],
    pub grad: &'a mut [f32],
}

/// How new parameters are filled.
pub enum Init<'a> {
    /// He-uniform `U(-s, s)`, `s = gain * sqrt(6 / fan_in)`, zero bias, drawn from the
    /// caller's generator (beatgen passes its fixed-algorithm, seeded one).
    Random(&'a mut dyn RngCore),
    /// All zero (for loading saved weights: nothing random is drawn).
    Zeros,
}

/// A differentiable layer. `forward` only reads the layer (models are shared across threads
/// for inference); whatever `backward` needs from the forward pass beyond `x` and `y` lives in
/// a caller-owned scratch buffer of [`Layer::scratch_len`] values.
pub trait Layer: Send + Sync {
    fn input_shape(&self) -> Shape;
    fn output_shape(&self) -> Shape;
    /// Scratch values needed for a batch of `batch` samples (0 for most layers).
    fn scratch_len(&self, _batch: usize) -> usize {
        0
    }
    /// `y = f(x)`: `x` is `[input features, B]`, `y` is `[output features, B]`.
    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, scratch: &mut [f32]);
    /// Given the forward pass's `x`, `y`, scratch, and `dy = dL/dy`, overwrite the parameter
    /// gradients with `dL/dparams` (one batch per optimiser step) and write `dx = dL/dx` when
    /// asked (the network's first layer is not).
    fn backward(
        &mut self,
        x: &ArrayView2<f32>,
        y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        scratch: &mut [f32],
    );
    /// Visit every parameter tensor with its gradient, in a fixed order.
    fn visit<'a>(&'a self, _f: &mut dyn FnMut(Param<'a>)) {}
    /// Visit every parameter tensor mutably, in the same order as [`Layer::visit`].
    fn visit_mut<'a>(&'a mut self, _f: &mut dyn FnMut(ParamMut<'a>)) {}
}

/// A layer as declared in a model's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// Fully connected over all input features (PyTorch `nn.Linear` after `nn.Flatten`).
    Dense { out: usize },
    /// 1-D convolution over time with channels in and out, zero padding `(kernel - 1) / 2`
    /// on both sides (PyTorch `nn.Conv1d(in, out, kernel, stride, padding)`).
    Conv1d {
        out: usize,
        kernel: usize,
        stride: usize,
    },
    /// Nearest-neighbour upsampling over time (PyTorch `nn.Upsample(scale_factor, "nearest")`).
    Upsample { factor: usize },
    /// `max(x, slope * x)` elementwise.
    LeakyRelu { slope: f32 },
    /// Flat features to `channels x (features / channels)` (PyTorch `nn.Unflatten`).
    Unflatten { channels: usize },
    /// Keep the first `time` steps (undoes the rounding up of strided convolutions).
    Crop { time: usize },
}

/// Most weights one layer may have (2^26, 256 MB of f32): far above what the presets use (the
/// MLP's largest layer has 16.8M), far below what would exhaust a machine's memory.
pub const MAX_LAYER_WEIGHTS: usize = 1 << 26;

/// Most values one layer may output per sample (2^20; the default network's largest output
/// has 32,768): a batch holds this many per sample for every layer, twice.
pub const MAX_LAYER_OUTPUTS: usize = 1 << 20;

/// Most weights one stack (the encoder, or the decoder) may have in all (2^27, 512 MB of f32,
/// as much again for their gradients): the MLP preset's encoder has 17.6M, its decoder 16.9M.
pub const MAX_STACK_WEIGHTS: usize = 1 << 27;

/// Why a declared stack of layers cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("layer {index} ({spec:?}) cannot take input {input}: {reason}")]
pub struct ShapeError {
    pub index: usize,
    pub spec: LayerSpec,
    pub input: Shape,
    pub reason: String,
}

impl LayerSpec {
    /// Weights (not biases) the layer has on `input` (saturating; 0 for layers without any).
    pub fn weights(&self, input: Shape) -> usize {
        match *self {
            LayerSpec::Dense { out } => out.saturating_mul(input.features()),
            LayerSpec::Conv1d { out, kernel, .. } => {
                out.saturating_mul(input.channels).saturating_mul(kernel)
            }
            _ => 0,
        }
    }

    /// Build the layer for `input`. `gain` scales the random initialisation (small for output
    /// layers, so a new network starts near the prior and a zero reconstruction).
    pub fn build(
        &self,
        input: Shape,
        init: &mut Init,
        gain: f32,
    ) -> Result<Box<dyn Layer>, String> {
        use super::{activation, conv, dense, reshape};
        Ok(match *self {
            LayerSpec::Dense { out } => {
                if out == 0 {
                    return Err("no outputs".into());
                }
                Box::new(dense::Dense::new(input, out, init, gain))
            }
            LayerSpec::Conv1d {
                out,
                kernel,
                stride,
            } => {
                if out == 0 || kernel == 0 || stride == 0 {
                    return Err("out, kernel and stride must be at least 1".into());
                }
                Box::new(conv::Conv1d::new(input, out, kernel, stride, init, gain))
            }
            LayerSpec::Upsample { factor } => {
                if factor == 0 {
                    return Err("factor must be at least 1".into());
                }
                Box::new(reshape::Upsample::new(input, factor))
            }
            LayerSpec::LeakyRelu { slope } => Box::new(activation::LeakyRelu::new(input, slope)),
            LayerSpec::Unflatten { channels } => {
                if channels == 0 || !input.features().is_multiple_of(channels) {
                    return Err(format!(
                        "{} features do not split into {channels} channels",
                        input.features()
                    ));
                }
                Box::new(reshape::Reshape::new(
                    input,
                    Shape::new(channels, input.features() / channels),
                ))
            }
            LayerSpec::Crop { time } => {
                if time == 0 || time > input.time {
                    return Err(format!("cannot crop {} steps to {time}", input.time));
                }
                Box::new(reshape::Crop::new(input, time))
            }
        })
    }

    /// Whether the layer has parameters (the last of those gets the small output gain).
    pub fn has_params(&self) -> bool {
        matches!(self, LayerSpec::Dense { .. } | LayerSpec::Conv1d { .. })
    }
}

/// He-uniform values (see [`Init::Random`]) drawn with `ndarray-rand`'s `random_using` from
/// the caller's generator, or zeros.
pub fn init_weights(
    shape: (usize, usize),
    fan_in: usize,
    init: &mut Init,
    gain: f32,
) -> ndarray::Array2<f32> {
    use ndarray_rand::rand_distr::Uniform;
    use ndarray_rand::RandomExt;
    match init {
        Init::Random(rng) => {
            let s = gain * (6.0 / fan_in.max(1) as f32).sqrt();
            ndarray::Array2::random_using(shape, Uniform::new_inclusive(-s, s), *rng)
        }
        Init::Zeros => ndarray::Array2::zeros(shape),
    }
}

#[cfg(test)]
pub(crate) mod check {
    //! Finite-difference gradient checks shared by the layer tests.
    use super::*;
    use dsp::rng::SplitMix64;
    use ndarray::Array2;

    /// A fixed pseudo-random array in [-1, 1).
    pub fn rand_array(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
        let mut rng = SplitMix64::new(seed);
        Array2::from_shape_simple_fn((rows, cols), || rng.next_signed())
    }

    /// One forward and one backward pass of `layer` in fresh scratch: its output for `x` and
    /// its input gradient for the output gradient `dy` (the parameter gradients stay in the
    /// layer).
    pub fn forward_backward(
        layer: &mut dyn Layer,
        x: &Array2<f32>,
        dy: &Array2<f32>,
    ) -> (Array2<f32>, Array2<f32>) {
        let batch = x.ncols();
        let mut scratch = vec![0.0f32; layer.scratch_len(batch)];
        let mut y = Array2::zeros((layer.output_shape().features(), batch));
        layer.forward(&x.view(), &mut y.view_mut(), &mut scratch);
        let mut dx = Array2::zeros((layer.input_shape().features(), batch));
        layer.backward(
            &x.view(),
            &y.view(),
            &dy.view(),
            Some(&mut dx.view_mut()),
            &mut scratch,
        );
        (y, dx)
    }

    /// Check `backward` of `layer` against central finite differences of the scalar loss
    /// `L = sum(y * r)` (a fixed random `r`, so every output matters), for every input value
    /// and every parameter, in f64 arithmetic of f32 results. `h` is the step; tolerance is
    /// relative with an absolute floor.
    pub fn gradient_check(layer: &mut dyn Layer, batch: usize, seed: u64) {
        let (fi, fo) = (
            layer.input_shape().features(),
            layer.output_shape().features(),
        );
        // Inputs kept 0.05 away from 0, so a step of h never crosses an activation's kink.
        let x = rand_array(fi, batch, seed).mapv(|v| v.signum() * (0.05 + 0.95 * v.abs()));
        let r = rand_array(fo, batch, seed + 1);
        let (_, dx) = forward_backward(layer, &x, &r);
        let mut scratch = vec![0.0f32; layer.scratch_len(batch)];
        let loss = |layer: &dyn Layer, x: &Array2<f32>, scratch: &mut [f32]| -> f64 {
            let mut y = Array2::zeros((fo, batch));
            layer.forward(&x.view(), &mut y.view_mut(), scratch);
            y.iter()
                .zip(r.iter())
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum()
        };
        let h = 1e-2f32;
        let close = |a: f64, n: f64| (a - n).abs() <= 1e-2 * n.abs().max(1e-1) + 2e-3;
        // Inputs.
        for i in 0..x.len() {
            let mut xp = x.clone();
            xp.as_slice_mut().unwrap()[i] += h;
            let plus = loss(layer, &xp, &mut scratch);
            xp.as_slice_mut().unwrap()[i] -= 2.0 * h;
            let minus = loss(layer, &xp, &mut scratch);
            let n = (plus - minus) / (2.0 * h as f64);
            let a = dx.as_slice().unwrap()[i] as f64;
            assert!(close(a, n), "input {i}: analytic {a} vs numeric {n}");
        }
        // Parameters: gradients from the backward above, then perturb each value.
        let mut grads: Vec<Vec<f32>> = Vec::new();
        layer.visit(&mut |p| grads.push(p.grad.to_vec()));
        let mut checked = 0;
        for (pi, g) in grads.iter().enumerate() {
            for (k, &gk) in g.iter().enumerate() {
                let bump = |layer: &mut dyn Layer, d: f32| {
                    let mut idx = 0;
                    layer.visit_mut(&mut |p| {
                        if idx == pi {
                            p.value[k] += d;
                        }
                        idx += 1;
                    });
                };
                bump(layer, h);
                let plus = loss(layer, &x, &mut scratch);
                bump(layer, -2.0 * h);
                let minus = loss(layer, &x, &mut scratch);
                bump(layer, h);
                let n = (plus - minus) / (2.0 * h as f64);
                assert!(
                    close(gk as f64, n),
                    "param {pi}[{k}]: analytic {} vs numeric {n}",
                    gk
                );
                checked += 1;
            }
        }
        let mut total = 0;
        layer.visit(&mut |p| total += p.value.len());
        assert_eq!(checked, total);
    }
}
