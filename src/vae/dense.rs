//! A dense (fully connected) layer with its forward and backward passes side by side.
//!
//! Layout: weights `w` are `[out, in]` (PyTorch's `nn.Linear` layout, so safetensors load
//! directly), bias `b` is `[out]`. Activations are feature-major, `[features, batch]`: a
//! column per sample. That makes every product `W . X` with the large dimension contiguous,
//! which the gemm kernels run fastest (see `benches/training.rs`).

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

use super::matmul::matmul;
use dsp::rng::SplitMix64;

#[derive(Debug, Clone)]
pub struct Dense {
    pub w: Array2<f32>,
    pub b: Array1<f32>,
    pub gw: Array2<f32>,
    pub gb: Array1<f32>,
}

impl Dense {
    /// He-uniform initialisation scaled for LeakyReLU (`U(-s, s)`, `s = sqrt(6 / in)`), zero
    /// bias, from a seeded stream.
    pub fn new(inp: usize, out: usize, rng: &mut SplitMix64, gain: f32) -> Self {
        let s = gain * (6.0 / inp as f32).sqrt();
        Dense {
            w: Array2::from_shape_simple_fn((out, inp), || rng.next_signed() * s),
            b: Array1::zeros(out),
            gw: Array2::zeros((out, inp)),
            gb: Array1::zeros(out),
        }
    }

    /// `y = W x + b` for a batch: `x: [in, B]`, `y: [out, B]`.
    pub fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>) {
        matmul(y, &self.w.view(), x, false);
        for (mut row, &b) in y.axis_iter_mut(Axis(0)).zip(&self.b) {
            row.mapv_inplace(|v| v + b);
        }
    }

    /// Given `dy = dL/dy: [out, B]` and the forward input `x`, set the gradients to `dL/dW`
    /// and `dL/db` (one batch per step: overwriting saves a pass over the weights), and write
    /// `dL/dx: [in, B]` when `dx` is given (the first layer skips it).
    pub fn backward(
        &mut self,
        x: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
    ) {
        matmul(&mut self.gw.view_mut(), dy, &x.t(), false);
        for (g, row) in self.gb.iter_mut().zip(dy.axis_iter(Axis(0))) {
            *g = row.sum();
        }
        if let Some(dx) = dx {
            matmul(dx, &self.w.t(), dy, false);
        }
    }
}

/// LeakyReLU with slope `alpha` for negative inputs (0 gives ReLU), in place.
pub fn leaky_relu(x: &mut ArrayViewMut2<f32>, alpha: f32) {
    x.mapv_inplace(|v| if v > 0.0 { v } else { alpha * v });
}

/// Backward of [`leaky_relu`] given its *output* `y` (the sign is the same as the input's
/// for `alpha > 0`, and for ReLU `y > 0` exactly where the input was): `dx = dy * f'(x)`.
pub fn leaky_relu_backward(y: &ArrayView2<f32>, dy: &mut ArrayViewMut2<f32>, alpha: f32) {
    ndarray::Zip::from(dy).and(y).for_each(|d, &v| {
        if v <= 0.0 {
            *d *= alpha;
        }
    });
}
