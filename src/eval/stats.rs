//! Statistics for evaluation: weighted means, covariances and quantiles, the Frechet distance
//! between Gaussians, a symmetric eigensolver (cyclic Jacobi), a 2-D PCA projection, and
//! distances.
//!
//! Weights say how much each row counts; they need not sum to 1. Evaluation's overall row
//! weighs each genre equally (see `genre_weights` in the parent module); every unweighted
//! statistic here is the weighted one with equal weights.

/// Rows (clips' feature vectors) with a weight each.
#[derive(Debug, Clone, Default)]
pub struct Weighted {
    pub rows: Vec<Vec<f64>>,
    pub w: Vec<f64>,
}

impl Weighted {
    /// Every row with weight 1.
    pub fn uniform(rows: Vec<Vec<f64>>) -> Self {
        let w = vec![1.0; rows.len()];
        Weighted { rows, w }
    }
}

/// Mean vector of row vectors (zeros of no length for no rows).
pub fn mean(rows: &[Vec<f64>]) -> Vec<f64> {
    weighted_mean(rows, &vec![1.0; rows.len()])
}

/// Weighted mean vector: `sum(w x) / sum(w)`.
pub fn weighted_mean(rows: &[Vec<f64>], w: &[f64]) -> Vec<f64> {
    let d = rows.first().map_or(0, |r| r.len());
    let total: f64 = w.iter().sum();
    let total = if total > 0.0 { total } else { 1.0 };
    (0..d)
        .map(|j| rows.iter().zip(w).map(|(r, w)| w * r[j]).sum::<f64>() / total)
        .collect()
}

/// Weighted mean vector and covariance matrix, the covariance divided by
/// `sum(w) - sum(w^2) / sum(w)` (unbiased for weights that say how much each row counts;
/// `n - 1` for equal weights).
pub fn mean_cov(set: &Weighted) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mean = weighted_mean(&set.rows, &set.w);
    let d = mean.len();
    let mut cov = vec![vec![0.0; d]; d];
    for (r, &w) in set.rows.iter().zip(&set.w) {
        for i in 0..d {
            for j in 0..d {
                cov[i][j] += w * (r[i] - mean[i]) * (r[j] - mean[j]);
            }
        }
    }
    let total: f64 = set.w.iter().sum();
    let squares: f64 = set.w.iter().map(|w| w * w).sum();
    let denom = if total > 0.0 {
        total - squares / total
    } else {
        0.0
    };
    let denom = if denom > 0.0 { denom } else { 1.0 };
    cov.iter_mut().flatten().for_each(|c| *c /= denom);
    (mean, cov)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut m = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in m.iter_mut() {
                    let (mkp, mkq) = (row[p], row[q]);
                    row[p] = c * mkp - s * mkq;
                    row[q] = s * mkp + c * mkq;
                }
                let (upper, lower) = m.split_at_mut(q);
                for (mpk, mqk) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    let (a, b) = (*mpk, *mqk);
                    *mpk = c * a - s * b;
                    *mqk = s * a + c * b;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i][i]).collect(), v)
}

fn sqrt_psd(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (vals, vecs) = symmetric_eigen(a);
    let n = a.len();
    let mut out = vec![vec![0.0; n]; n];
    for (k, &l) in vals.iter().enumerate() {
        let s = l.max(0.0).sqrt();
        for i in 0..n {
            for j in 0..n {
                out[i][j] += vecs[i][k] * s * vecs[j][k];
            }
        }
    }
    out
}

fn matmul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| (0..n).map(|k| a[i][k] * b[k][j]).sum())
                .collect()
        })
        .collect()
}

/// Frechet distance between N(m1, C1) and N(m2, C2):
/// `|m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1^{1/2} C2 C1^{1/2})^{1/2})`.
pub fn frechet_distance(m1: &[f64], c1: &[Vec<f64>], m2: &[f64], c2: &[Vec<f64>]) -> f64 {
    let d2: f64 = m1.iter().zip(m2).map(|(a, b)| (a - b) * (a - b)).sum();
    let s1 = sqrt_psd(c1);
    let inner = matmul(&matmul(&s1, c2), &s1);
    let (vals, _) = symmetric_eigen(&inner);
    let tr_sqrt: f64 = vals.iter().map(|v| v.max(0.0).sqrt()).sum();
    let tr = |c: &[Vec<f64>]| (0..c.len()).map(|i| c[i][i]).sum::<f64>();
    (d2 + tr(c1) + tr(c2) - 2.0 * tr_sqrt).max(0.0)
}

/// Frechet distance between Gaussians fitted to two weighted sets of row vectors.
pub fn frechet_between(a: &Weighted, b: &Weighted) -> f64 {
    let (m1, c1) = mean_cov(a);
    let (m2, c2) = mean_cov(b);
    frechet_distance(&m1, &c1, &m2, &c2)
}

pub fn euclid(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Projection of rows onto their first two principal components (of `fit_rows`).
pub fn pca2(fit_rows: &[Vec<f64>], rows: &[Vec<f64>]) -> Vec<(f64, f64)> {
    let (mean, cov) = mean_cov(&Weighted::uniform(fit_rows.to_vec()));
    let (vals, vecs) = symmetric_eigen(&cov);
    let mut order: Vec<usize> = (0..vals.len()).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
    let (p1, p2) = (
        order.first().copied().unwrap_or(0),
        order.get(1).copied().unwrap_or(0),
    );
    rows.iter()
        .map(|r| {
            let c: Vec<f64> = r.iter().zip(&mean).map(|(x, m)| x - m).collect();
            let proj = |k: usize| {
                c.iter()
                    .enumerate()
                    .map(|(i, x)| x * vecs[i][k])
                    .sum::<f64>()
            };
            (proj(p1), proj(p2))
        })
        .collect()
}

/// Median and interquartile range.
pub fn median_iqr(v: &[f64]) -> (f64, f64) {
    weighted_median_iqr(v, &vec![1.0; v.len()])
}

/// Weighted median and interquartile range. Sorted by value, value `i` sits at
/// `c_i - w_i / 2 - w_0 / 2` (`c_i`: the weights up to and including it), so that the values
/// span `[0, sum(w) - (w_0 + w_last) / 2]`; quantile `p` is the value nearest to `p` of the
/// span (the later one on a tie). With equal weights this is the value at index
/// `round((n - 1) p)`. Values of zero weight are left out.
pub fn weighted_median_iqr(v: &[f64], w: &[f64]) -> (f64, f64) {
    let mut s: Vec<(f64, f64)> = v
        .iter()
        .zip(w)
        .filter(|(_, &w)| w > 0.0)
        .map(|(&v, &w)| (v, w))
        .collect();
    if s.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let first = s[0].1 / 2.0;
    let mut at = Vec::with_capacity(s.len());
    let mut before = 0.0;
    for &(_, w) in &s {
        at.push(before + w / 2.0 - first);
        before += w;
    }
    let span = at[at.len() - 1];
    // Distances within rounding of each other are a tie.
    let tie = 1e-9 * span;
    let q = |p: f64| {
        let x = p * span;
        let mut best = 0;
        for (i, &a) in at.iter().enumerate() {
            if (a - x).abs() <= (at[best] - x).abs() + tie {
                best = i;
            }
        }
        s[best].0
    };
    (q(0.5), q(0.75) - q(0.25))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp::rng::SplitMix64;

    fn cloud(n: usize, d: usize, seed: u64, shift: &[f64]) -> Vec<Vec<f64>> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                (0..d)
                    .map(|j| rng.normal() as f64 * (1.0 + j as f64 * 0.3) + shift[j])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn identical_sets_have_distance_zero_and_a_shift_gives_its_square() {
        let a = Weighted::uniform(cloud(200, 4, 1, &[0.0; 4]));
        assert!(
            frechet_between(&a, &a) < 1e-8,
            "{}",
            frechet_between(&a, &a)
        );
        // Shifting every point by d changes only the mean: FD = |d|^2 exactly.
        let d = [1.0, -2.0, 0.5, 3.0];
        let b = Weighted::uniform(
            a.rows
                .iter()
                .map(|r| r.iter().zip(&d).map(|(x, s)| x + s).collect())
                .collect(),
        );
        let fd = frechet_between(&a, &b);
        assert!((fd - 14.25).abs() < 1e-6, "{fd}");
    }

    #[test]
    fn frechet_of_known_gaussians() {
        // Diagonal covariances: FD = |dm|^2 + sum (sqrt(s1) - sqrt(s2))^2.
        let c1 = vec![vec![4.0, 0.0], vec![0.0, 1.0]];
        let c2 = vec![vec![1.0, 0.0], vec![0.0, 9.0]];
        let fd = frechet_distance(&[0.0, 0.0], &c1, &[1.0, 1.0], &c2);
        assert!((fd - (2.0 + 1.0 + 4.0)).abs() < 1e-9, "{fd}");
    }

    /// `n` values evenly spaced over `[lo, hi]`.
    fn even(n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect()
    }

    #[test]
    fn equal_weights_give_the_index_rule_quantiles() {
        let mut rng = SplitMix64::new(3);
        for n in 1..30 {
            let v: Vec<f64> = (0..n).map(|_| rng.normal() as f64).collect();
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let q = |p: f64| s[((n - 1) as f64 * p).round() as usize];
            assert_eq!(median_iqr(&v), (q(0.5), q(0.75) - q(0.25)), "n = {n}");
            // Scaling every weight changes nothing.
            assert_eq!(weighted_median_iqr(&v, &vec![0.2; n]), median_iqr(&v));
        }
    }

    #[test]
    fn weights_make_two_unequal_groups_count_equally() {
        // 2000 values over [0, 2] and 200 over [1, 3]: the equal mixture of the two uniform
        // densities has its median at 1.5 and its quartiles at 1 and 2. Pooled unweighted,
        // the larger group pulls the median to 1.08.
        let (a, b) = (even(2000, 0.0, 2.0), even(200, 1.0, 3.0));
        let v: Vec<f64> = a.iter().chain(&b).copied().collect();
        let w: Vec<f64> = a
            .iter()
            .map(|_| 1.0 / 2000.0)
            .chain(b.iter().map(|_| 1.0 / 200.0))
            .collect();
        let (median, iqr) = weighted_median_iqr(&v, &w);
        assert!((median - 1.5).abs() < 0.01, "{median}");
        assert!((iqr - 1.0).abs() < 0.02, "{iqr}");
        assert!((median_iqr(&v).0 - 1.083).abs() < 0.01);
        // Zero weights leave values out.
        assert_eq!(
            weighted_median_iqr(&[5.0, 1.0, 7.0], &[0.0, 1.0, 0.0]),
            (1.0, 0.0)
        );
    }

    #[test]
    fn weighted_sets_of_the_same_mixture_are_at_distance_zero() {
        // Two groups at different places, 1000 + 100 rows in one set and 50 + 50 in the
        // other: weighted to count each group equally both fit the same Gaussian (the
        // mixture's); unweighted they do not.
        let group = |n: usize, at: f64| -> Vec<Vec<f64>> {
            even(n, -1.0, 1.0)
                .iter()
                .zip(even(n, -1.0, 1.0).iter().rev())
                .map(|(x, y)| vec![x + at, 0.5 * y - at])
                .collect()
        };
        let set = |n1: usize, n2: usize| {
            let rows: Vec<Vec<f64>> = group(n1, 0.0).into_iter().chain(group(n2, 3.0)).collect();
            let w = (0..n1)
                .map(|_| 1.0 / n1 as f64)
                .chain((0..n2).map(|_| 1.0 / n2 as f64))
                .collect();
            Weighted { rows, w }
        };
        let (big, small) = (set(1000, 100), set(50, 50));
        let fd = frechet_between(&big, &small);
        assert!(fd < 0.01, "{fd}");
        let unweighted = frechet_between(
            &Weighted::uniform(big.rows.clone()),
            &Weighted::uniform(small.rows.clone()),
        );
        assert!(unweighted > 2.0, "{unweighted}");
        // Equal weights: the usual covariance, divided by n - 1.
        let (m, c) = mean_cov(&Weighted::uniform(vec![vec![0.0], vec![2.0], vec![4.0]]));
        assert_eq!((m[0], c[0][0]), (2.0, 4.0));
    }

    #[test]
    fn jacobi_diagonalises() {
        let a = vec![
            vec![2.0, 1.0, 0.0],
            vec![1.0, 3.0, 1.0],
            vec![0.0, 1.0, 4.0],
        ];
        let (vals, vecs) = symmetric_eigen(&a);
        for (k, &l) in vals.iter().enumerate() {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * vecs[j][k]).sum();
                assert!((av - l * vecs[i][k]).abs() < 1e-9);
            }
        }
        let tr: f64 = vals.iter().sum();
        assert!((tr - 9.0).abs() < 1e-9);
    }
}
