//! The VAE objective and its gradients (all per batch, feature-major `[features, B]`):
//!
//! - reconstruction `R = (1/B) sum_b sum_i (y_ib - x_ib)^2` (sum of squared error over the
//!   clip, averaged over the batch); `dR/dy = 2 (y - x) / B`;
//! - KL divergence of `N(mu, exp(logvar))` from `N(0, I)`:
//!   `K = (1/B) sum_b sum_j -0.5 (1 + logvar - mu^2 - exp(logvar))`;
//!   `dK/dmu = mu / B`, `dK/dlogvar = 0.5 (exp(logvar) - 1) / B`;
//! - the loss is `R + beta K` (beta follows the KL warm-up).
//!
//! Sums are accumulated in f64 in a fixed order, so results are reproducible.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// Reconstruction loss and, into `dy`, its gradient with respect to `y`.
pub fn reconstruction(
    y: &ArrayView2<f32>,
    x: &ArrayView2<f32>,
    dy: &mut ArrayViewMut2<f32>,
) -> f64 {
    let b = y.ncols() as f32;
    let mut total = 0.0f64;
    Zip::from(dy).and(y).and(x).for_each(|d, &yv, &xv| {
        let e = yv - xv;
        total += (e as f64) * (e as f64);
        *d = 2.0 * e / b;
    });
    total / b as f64
}

/// Reconstruction loss only.
pub fn reconstruction_value(y: &ArrayView2<f32>, x: &ArrayView2<f32>) -> f64 {
    let mut total = 0.0f64;
    Zip::from(y)
        .and(x)
        .for_each(|&yv, &xv| total += ((yv - xv) as f64).powi(2));
    total / y.ncols() as f64
}

/// KL term; adds `beta * dK/dmu` and `beta * dK/dlogvar` to `dmu` and `dlogvar`.
pub fn kl(
    mu: &ArrayView2<f32>,
    logvar: &ArrayView2<f32>,
    beta: f32,
    dmu: &mut ArrayViewMut2<f32>,
    dlogvar: &mut ArrayViewMut2<f32>,
) -> f64 {
    let b = mu.ncols() as f32;
    let mut total = 0.0f64;
    Zip::from(dmu)
        .and(dlogvar)
        .and(mu)
        .and(logvar)
        .for_each(|dm, dl, &m, &lv| {
            let e = lv.exp();
            total += -0.5 * (1.0 + lv as f64 - (m as f64) * (m as f64) - e as f64);
            *dm += beta * m / b;
            *dl += beta * 0.5 * (e - 1.0) / b;
        });
    total / b as f64
}
