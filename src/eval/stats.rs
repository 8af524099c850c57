//! Statistics for evaluation: mean and covariance, the Frechet distance between Gaussians, a
//! symmetric eigensolver (cyclic Jacobi), a 2-D PCA projection, and distances.

/// Mean vector of row vectors (zeros of no length for no rows).
pub fn mean(rows: &[Vec<f64>]) -> Vec<f64> {
    let d = rows.first().map_or(0, |r| r.len());
    let n = rows.len().max(1) as f64;
    (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect()
}

/// Mean vector and covariance matrix (divided by n - 1) of row vectors.
pub fn mean_cov(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mean = mean(rows);
    let d = mean.len();
    let mut cov = vec![vec![0.0; d]; d];
    for r in rows {
        for i in 0..d {
            for j in 0..d {
                cov[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]);
            }
        }
    }
    let denom = (rows.len() as f64 - 1.0).max(1.0);
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

/// Frechet distance between two sets of row vectors.
pub fn frechet_between(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
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
    let (mean, cov) = mean_cov(fit_rows);
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
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
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
        let a = cloud(200, 4, 1, &[0.0; 4]);
        assert!(
            frechet_between(&a, &a) < 1e-8,
            "{}",
            frechet_between(&a, &a)
        );
        // Shifting every point by d changes only the mean: FD = |d|^2 exactly.
        let d = [1.0, -2.0, 0.5, 3.0];
        let b: Vec<Vec<f64>> = a
            .iter()
            .map(|r| r.iter().zip(&d).map(|(x, s)| x + s).collect())
            .collect();
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
