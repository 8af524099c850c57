//! The VAE objective and its gradients (all per batch, feature-major `[features, B]`):
//!
//! - reconstruction, summed over the clip and averaged over the batch, either the squared
//!   error `R = (1/B) sum (y - x)^2` (`dR/dy = 2 (y - x) / B`, a Gaussian decoder) or the
//!   absolute error `R = (1/B) sum |y - x|` (`dR/dy = sign(y - x) / B`, a Laplace decoder,
//!   whose optimum is the median rather than the mean of what the decoder cannot place);
//! - KL divergence of `N(mu, exp(logvar))` from `N(0, I)`, per latent dimension `j`:
//!   `K_j = (1/B) sum_b -0.5 (1 + logvar - mu^2 - exp(logvar))`;
//!   `dK_j/dmu = mu / B`, `dK_j/dlogvar = 0.5 (exp(logvar) - 1) / B`;
//! - optionally a flux term on the change between consecutive frames (time steps) of each
//!   band, `F = (w/B) sum_b sum_{t>=1} err((y[b,t] - y[b,t-1]) - (x[b,t] - x[b,t-1]))` with
//!   the reconstruction's per-value error `err`: the decoder is asked for the rises and falls
//!   of the target, not only its levels, so smearing a hit over several frames costs more;
//! - the loss is `R + w F + beta sum_j max(K_j, free_bits)` (beta follows the KL warm-up; with
//!   free bits a dimension whose KL is below the threshold gets no KL gradient, so the encoder
//!   may use it without penalty: Kingma et al. 2016). The KL reported is always `sum_j K_j`.
//!
//! Sums are accumulated in f64 in a fixed order, so results are reproducible.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

/// The reconstruction term (the training default, L1, is in `TrainOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReconLoss {
    /// Squared error (Gaussian decoder).
    Mse,
    /// Absolute error (Laplace decoder).
    L1,
}

impl ReconLoss {
    /// Per-value error.
    fn value(self, e: f32) -> f64 {
        match self {
            ReconLoss::Mse => (e as f64) * (e as f64),
            ReconLoss::L1 => (e as f64).abs(),
        }
    }
    /// Derivative of the per-value error.
    fn slope(self, e: f32) -> f32 {
        match self {
            ReconLoss::Mse => 2.0 * e,
            ReconLoss::L1 => {
                if e > 0.0 {
                    1.0
                } else if e < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// Reconstruction loss and, into `dy`, its gradient with respect to `y`.
pub fn reconstruction(
    kind: ReconLoss,
    y: &ArrayView2<f32>,
    x: &ArrayView2<f32>,
    dy: &mut ArrayViewMut2<f32>,
) -> f64 {
    let b = y.ncols() as f32;
    let mut total = 0.0f64;
    Zip::from(dy).and(y).and(x).for_each(|d, &yv, &xv| {
        let e = yv - xv;
        total += kind.value(e);
        *d = kind.slope(e) / b;
    });
    total / b as f64
}

/// Flux term (see the module doc) of `y`, `x` `[bands * frames, B]` (channel-major: row
/// `b * frames + t`), weight `w`; adds its gradient with respect to `y` into `dy` when given.
pub fn flux(
    kind: ReconLoss,
    y: &ArrayView2<f32>,
    x: &ArrayView2<f32>,
    frames: usize,
    w: f32,
    mut dy: Option<&mut ArrayViewMut2<f32>>,
) -> f64 {
    let b = y.ncols() as f32;
    let mut total = 0.0f64;
    for r in (0..y.nrows()).filter(|r| r % frames != 0) {
        for c in 0..y.ncols() {
            let e = (y[[r, c]] - y[[r - 1, c]]) - (x[[r, c]] - x[[r - 1, c]]);
            total += kind.value(e);
            if let Some(dy) = dy.as_mut() {
                let g = w * kind.slope(e) / b;
                dy[[r, c]] += g;
                dy[[r - 1, c]] -= g;
            }
        }
    }
    w as f64 * total / b as f64
}

/// Reconstruction loss only.
pub fn reconstruction_value(kind: ReconLoss, y: &ArrayView2<f32>, x: &ArrayView2<f32>) -> f64 {
    let mut total = 0.0f64;
    Zip::from(y)
        .and(x)
        .for_each(|&yv, &xv| total += kind.value(yv - xv));
    total / y.ncols() as f64
}

/// KL per latent dimension `K_j` (averaged over the batch) of `mu`, `logvar` `[latent, B]`.
pub fn kl_per_dim(mu: &ArrayView2<f32>, logvar: &ArrayView2<f32>) -> Vec<f64> {
    let b = mu.ncols() as f64;
    mu.axis_iter(Axis(0))
        .zip(logvar.axis_iter(Axis(0)))
        .map(|(m, v)| {
            m.iter()
                .zip(v.iter())
                .map(|(&m, &v)| {
                    -0.5 * (1.0 + v as f64 - (m as f64) * (m as f64) - (v as f64).exp())
                })
                .sum::<f64>()
                / b
        })
        .collect()
}

/// KL term `sum_j K_j`; adds `beta * dK/dmu` and `beta * dK/dlogvar` to `dmu` and `dlogvar`
/// for every dimension whose `K_j` is at least `free_bits` (all of them when it is 0).
pub fn kl(
    mu: &ArrayView2<f32>,
    logvar: &ArrayView2<f32>,
    beta: f32,
    free_bits: f32,
    dmu: &mut ArrayViewMut2<f32>,
    dlogvar: &mut ArrayViewMut2<f32>,
) -> f64 {
    let b = mu.ncols() as f32;
    let per_dim = kl_per_dim(mu, logvar);
    for (j, &kj) in per_dim.iter().enumerate() {
        if free_bits > 0.0 && kj < free_bits as f64 {
            continue;
        }
        Zip::from(dmu.row_mut(j))
            .and(dlogvar.row_mut(j))
            .and(mu.row(j))
            .and(logvar.row(j))
            .for_each(|dm, dl, &m, &lv| {
                *dm += beta * m / b;
                *dl += beta * 0.5 * (lv.exp() - 1.0) / b;
            });
    }
    per_dim.iter().sum()
}

/// The objective's value for the KL part: `sum_j max(K_j, free_bits)`.
pub fn kl_objective(per_dim: &[f64], free_bits: f32) -> f64 {
    per_dim.iter().map(|&k| k.max(free_bits as f64)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn l1_and_mse_values_and_slopes() {
        let y = ndarray::arr2(&[[1.0f32, -2.0], [0.5, 0.0]]);
        let x = ndarray::arr2(&[[0.0f32, 0.0], [1.0, 0.0]]);
        let mut d = Array2::zeros((2, 2));
        // Errors 1, -2, -0.5, 0 over a batch of 2.
        assert_eq!(
            reconstruction(ReconLoss::Mse, &y.view(), &x.view(), &mut d.view_mut()),
            (1.0 + 4.0 + 0.25) / 2.0
        );
        assert_eq!(d, ndarray::arr2(&[[1.0, -2.0], [-0.5, 0.0]]));
        assert_eq!(
            reconstruction(ReconLoss::L1, &y.view(), &x.view(), &mut d.view_mut()),
            3.5 / 2.0
        );
        assert_eq!(d, ndarray::arr2(&[[0.5, -0.5], [-0.5, 0.0]]));
    }

    #[test]
    fn free_bits_stop_the_gradient_of_small_dimensions_only() {
        // Dimension 0 has a large KL (mu = 3), dimension 1 a small one (mu = 0.1).
        let mu = ndarray::arr2(&[[3.0f32, 3.0], [0.1, 0.1]]);
        let lv = Array2::zeros((2, 2));
        let (mut dm, mut dl) = (Array2::zeros((2, 2)), Array2::zeros((2, 2)));
        let k = kl(
            &mu.view(),
            &lv.view(),
            1.0,
            0.5,
            &mut dm.view_mut(),
            &mut dl.view_mut(),
        );
        assert!((k - (4.5 + 0.005)).abs() < 1e-6, "{k}");
        assert_eq!(dm.row(0).to_vec(), vec![1.5, 1.5]);
        assert_eq!(dm.row(1).to_vec(), vec![0.0, 0.0]);
        assert!((kl_objective(&[4.5, 0.005], 0.5) - 5.0).abs() < 1e-12);
    }
}
