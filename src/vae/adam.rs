//! Adam (Kingma and Ba 2015) with bias correction, as `torch.optim.Adam` (no weight decay,
//! no amsgrad):
//!
//! ```text
//! m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//! w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//! ```
//!
//! The update of a tensor is one fused pass over weight, gradient, m and v, parallel over
//! fixed chunks (memory-bound: this is as costly as a big matrix product).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::layer::{Param, ParamMut};

/// Something with parameters Adam can update: visited in a fixed order, read-only and
/// mutably (the same order both ways).
pub trait Params {
    fn each_param<'a>(&'a self, f: &mut dyn FnMut(Param<'a>));
    fn each_param_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>));

    /// The global L2 norm of the gradients, in a fixed summation order.
    fn grad_norm(&self) -> f64 {
        let mut s = 0.0;
        self.each_param(&mut |p| s += sum_squares(p.grad));
        s.sqrt()
    }
}

/// Adam hyper-parameters. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, no clipping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Clip the global gradient norm to this value before the update (`None`: no clipping).
    pub clip_norm: Option<f32>,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip_norm: None,
        }
    }
}

/// Values per parallel task in the passes over parameters and gradients. The gradient norm
/// sums per chunk of this size, so its rounding does not depend on the number of threads.
pub const CHUNK: usize = 1 << 14;

/// One fused Adam update of `w` from `g` at step `t` (1-based), scaling the gradient by
/// `g_scale` (for clipping).
pub fn adam_update(
    cfg: &AdamConfig,
    t: u64,
    g_scale: f32,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let bc1 = 1.0 - (cfg.beta1 as f64).powi(t as i32);
    let bc2 = 1.0 - (cfg.beta2 as f64).powi(t as i32);
    let step = (cfg.lr as f64 / bc1) as f32;
    let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
    let (b1, b2, eps) = (cfg.beta1, cfg.beta2, cfg.eps);
    w.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((w, g), m), v)| {
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g * g_scale;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *w -= step * *m / ((*v).sqrt() * inv_sqrt_bc2 + eps);
            }
        });
}

/// The optimiser's state: the step count and, per parameter tensor (in [`Params`] order), the
/// first and second moments.
#[derive(Debug, Clone)]
pub struct AdamState {
    pub step: u64,
    pub m: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
}

impl AdamState {
    pub fn new<P: Params + ?Sized>(net: &P) -> Self {
        let mut sizes = Vec::new();
        net.each_param(&mut |p| sizes.push(p.value.len()));
        AdamState {
            step: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// One optimiser step from the gradients in `net` (clipped to `cfg.clip_norm` if set).
    /// Returns the gradient norm before clipping.
    pub fn apply<P: Params + ?Sized>(&mut self, net: &mut P, cfg: &AdamConfig) -> f64 {
        let norm = net.grad_norm();
        self.apply_with_norm(net, cfg, norm)
    }

    /// [`AdamState::apply`] when the gradients' norm, `net.grad_norm()`, is already known
    /// (see [`super::shards::ShardedStep::grad_norm`]): one pass over the parameters fewer.
    pub fn apply_with_norm<P: Params + ?Sized>(
        &mut self,
        net: &mut P,
        cfg: &AdamConfig,
        norm: f64,
    ) -> f64 {
        let scale = match cfg.clip_norm {
            Some(c) if norm > c as f64 => (c as f64 / norm) as f32,
            _ => 1.0,
        };
        self.step += 1;
        let t = self.step;
        let mut i = 0;
        net.each_param_mut(&mut |p| {
            adam_update(
                cfg,
                t,
                scale,
                p.value,
                p.grad,
                &mut self.m[i],
                &mut self.v[i],
            );
            i += 1;
        });
        norm
    }
}

/// Sum of squares of `g` in a fixed summation order (reproducible whatever the thread count):
/// [`chunk_squares`] of each chunk of [`CHUNK`] values, the chunks summed in order.
pub fn sum_squares(g: &[f32]) -> f64 {
    let parts: Vec<f64> = g.par_chunks(CHUNK).map(chunk_squares).collect();
    parts.iter().sum()
}

/// Sum of squares of one chunk, in `f64`, in order.
pub fn chunk_squares(c: &[f32]) -> f64 {
    c.iter().map(|&x| (x as f64) * (x as f64)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference trajectory from PyTorch 2.15 (CPU, float32), produced by:
    ///
    /// ```python
    /// import torch
    /// w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    /// opt = torch.optim.Adam([w], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    /// for t in range(5):
    ///     opt.zero_grad()
    ///     loss = (w ** 2 * torch.tensor([1.0, 3.0, 0.5])).sum() + w[0] * w[2]
    ///     loss.backward()
    ///     opt.step()
    ///     print([f"{x:.7f}" for x in w.tolist()])
    /// ```
    #[test]
    fn matches_pytorch_trajectory() {
        let expected: [[f32; 3]; 5] = [
            [0.4, -0.9, 1.9],
            [0.3004122, -0.8004122, 1.8003037],
            [0.2015866, -0.7015862, 1.7011551],
            [0.103_941, -0.6039389, 1.6028333],
            [0.0079712, -0.5079635, 1.5056553],
        ];
        let cfg = AdamConfig {
            lr: 0.1,
            ..Default::default()
        };
        let mut w = vec![0.5f32, -1.0, 2.0];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        for (t, exp) in expected.iter().enumerate() {
            let g = vec![2.0 * w[0] + w[2], 6.0 * w[1], 1.0 * w[2] + w[0]];
            adam_update(&cfg, t as u64 + 1, 1.0, &mut w, &g, &mut m, &mut v);
            for (a, b) in w.iter().zip(exp) {
                assert!((a - b).abs() < 2e-6, "step {}: {w:?} vs {exp:?}", t + 1);
            }
        }
    }
}
