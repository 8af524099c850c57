//! Winograd's minimal filtering F(2, 3) for 3-tap convolutions over time: two output steps
//! from four transformed products instead of six multiply-adds (Lavin and Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016).
//!
//! A 3-tap convolution `y[t] = sum_d g_d x[t + lo + d]` is cut into tiles of two output steps
//! `t = 2j, 2j + 1`, each reading the four inputs `z_s = x[2j + lo + s]`, `s = 0..4` (0
//! outside the signal). With
//!
//! - the input transform `V = (z0 - z2, z1 + z2, z2 - z1, z1 - z3)`,
//! - the kernel transform `U = (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)`,
//! - the products `M_i = U_i V_i` (for channels: four matrix products),
//! - the output transform `y[2j] = M0 + M1 + M2`, `y[2j + 1] = M1 - M2 - M3` (one row at a
//!   time, written at any stride: the caller interleaves rows as its layout needs),
//!
//! the result is the convolution's, up to rounding. Each transform's adjoint (the `_backward`
//! functions) carries gradients back: `dM` from `dy`, `dU = dM V^T` and `dV = U^T dM` by the
//! caller's products, then `dg` from `dU` and `dx` from `dV`.
//!
//! Layouts (row-major, `B` samples innermost as everywhere in the VAE): signals `[c][t][B]`;
//! transformed inputs `[c][i][j][B]` and products `[row][i][j][B]` (so that every channel's
//! or row's data is one slice; the product `i` is a strided view, see [`plane`]); kernels
//! `[row][c][3]` and transformed kernels `[i][row][c]`.

use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
use rayon::prelude::*;

/// Transformed products per tile (a direct convolution needs six multiply-adds per tile).
pub const PRODUCTS: usize = 4;

/// Tiles of two output steps covering `time` steps (the last one half used when `time` is odd).
pub fn tiles(time: usize) -> usize {
    time.div_ceil(2)
}

/// A signal's geometry: `channels` x `time` steps x `batch` samples, and the offset `lo` of
/// the first tap (`y[t]` reads `x[t + lo ..= t + lo + 2]`).
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub channels: usize,
    pub time: usize,
    pub batch: usize,
    pub lo: isize,
}

impl Geometry {
    /// Values of the transformed input, `[channels][4][tiles][batch]`.
    pub fn transformed_len(&self) -> usize {
        self.channels * PRODUCTS * tiles(self.time) * self.batch
    }

    /// Input step `s` of tile `j`, if inside the signal.
    fn source(&self, j: usize, s: usize) -> Option<usize> {
        let t = (2 * j + s) as isize + self.lo;
        (t >= 0 && (t as usize) < self.time).then_some(t as usize)
    }
}

/// Product `i` of a `[rows][i][j][B]` buffer as a `rows x (tiles * B)` matrix.
pub fn plane(buf: &[f32], rows: usize, i: usize, cols: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((rows, cols).strides((PRODUCTS * cols, 1)), &buf[i * cols..])
        .expect("a [rows][4][cols] buffer")
}

/// [`plane`], mutable.
pub fn plane_mut(buf: &mut [f32], rows: usize, i: usize, cols: usize) -> ArrayViewMut2<'_, f32> {
    ArrayViewMut2::from_shape(
        (rows, cols).strides((PRODUCTS * cols, 1)),
        &mut buf[i * cols..],
    )
    .expect("a [rows][4][cols] buffer")
}

/// Transformed kernel `i` of a `[i][row][c]` buffer as a `rows x channels` matrix.
pub fn kernel_plane(u: &[f32], rows: usize, channels: usize, i: usize) -> ArrayView2<'_, f32> {
    let n = rows * channels;
    ArrayView2::from_shape((rows, channels), &u[i * n..][..n]).expect("a [4][rows][c] buffer")
}

/// [`kernel_plane`], mutable.
pub fn kernel_plane_mut(
    u: &mut [f32],
    rows: usize,
    channels: usize,
    i: usize,
) -> ArrayViewMut2<'_, f32> {
    let n = rows * channels;
    ArrayViewMut2::from_shape((rows, channels), &mut u[i * n..][..n])
        .expect("a [4][rows][c] buffer")
}

/// The four planes `[i][j][B]` of one channel's or row's transformed data.
fn planes(buf: &mut [f32]) -> [&mut [f32]; PRODUCTS] {
    let n = buf.len() / PRODUCTS;
    let (p0, rest) = buf.split_at_mut(n);
    let (p1, rest) = rest.split_at_mut(n);
    let (p2, p3) = rest.split_at_mut(n);
    [p0, p1, p2, p3]
}

/// `v[c][i][j][B]` from `x[c][t][B]` (see the module docs).
pub fn input_transform(x: &[f32], v: &mut [f32], g: Geometry) {
    let (n, nt) = (g.batch, tiles(g.time));
    let zero = vec![0.0f32; n];
    v.par_chunks_mut(PRODUCTS * nt * n)
        .zip(x.par_chunks(g.time * n))
        .for_each(|(vc, xc)| {
            let z = |j: usize, s: usize| match g.source(j, s) {
                Some(t) => &xc[t * n..][..n],
                None => &zero[..],
            };
            let [p0, p1, p2, p3] = planes(vc);
            for j in 0..nt {
                let (z0, z1, z2, z3) = (z(j, 0), z(j, 1), z(j, 2), z(j, 3));
                let at = j * n..(j + 1) * n;
                let (o0, o1) = (&mut p0[at.clone()], &mut p1[at.clone()]);
                let (o2, o3) = (&mut p2[at.clone()], &mut p3[at]);
                for b in 0..n {
                    o0[b] = z0[b] - z2[b];
                    o1[b] = z1[b] + z2[b];
                    o2[b] = z2[b] - z1[b];
                    o3[b] = z1[b] - z3[b];
                }
            }
        });
}

/// The adjoint of [`input_transform`]: `dx[c][t][B]` (overwritten) from `dv[c][i][j][B]`.
pub fn input_transform_backward(dv: &[f32], dx: &mut [f32], g: Geometry) {
    let (n, nt) = (g.batch, tiles(g.time));
    dx.par_chunks_mut(g.time * n)
        .zip(dv.par_chunks(PRODUCTS * nt * n))
        .for_each(|(dxc, dvc)| {
            dxc.fill(0.0);
            let plane = |i: usize, j: usize| &dvc[(i * nt + j) * n..][..n];
            for j in 0..nt {
                let (d0, d1, d2, d3) = (plane(0, j), plane(1, j), plane(2, j), plane(3, j));
                for s in 0..4 {
                    let Some(t) = g.source(j, s) else { continue };
                    let out = &mut dxc[t * n..][..n];
                    match s {
                        0 => (0..n).for_each(|b| out[b] += d0[b]),
                        1 => (0..n).for_each(|b| out[b] += d1[b] - d2[b] + d3[b]),
                        2 => (0..n).for_each(|b| out[b] += d1[b] + d2[b] - d0[b]),
                        _ => (0..n).for_each(|b| out[b] -= d3[b]),
                    }
                }
            }
        });
}

/// `u[i][row][c]` from 3-tap kernels `k[row][c][3]`.
pub fn kernel_transform(k: &[f32], u: &mut [f32]) {
    let n = k.len() / 3;
    for (idx, g) in k.chunks_exact(3).enumerate() {
        u[idx] = g[0];
        u[n + idx] = 0.5 * (g[0] + g[1] + g[2]);
        u[2 * n + idx] = 0.5 * (g[0] - g[1] + g[2]);
        u[3 * n + idx] = g[2];
    }
}

/// The adjoint of [`kernel_transform`]: `dk[row][c][3]` (overwritten) from `du[i][row][c]`.
pub fn kernel_transform_backward(du: &[f32], dk: &mut [f32]) {
    let n = dk.len() / 3;
    for (idx, g) in dk.chunks_exact_mut(3).enumerate() {
        let (d0, d1, d2, d3) = (du[idx], du[n + idx], du[2 * n + idx], du[3 * n + idx]);
        g[0] = d0 + 0.5 * (d1 + d2);
        g[1] = 0.5 * (d1 - d2);
        g[2] = 0.5 * (d1 + d2) + d3;
    }
}

/// One row's output `y[t][B]` (`time` steps, step `t` at `out[t * stride..][..n]`, plus
/// `bias`) from its products `m[i][j][B]`.
pub fn output_transform_row(
    m: &[f32],
    out: &mut [f32],
    stride: usize,
    time: usize,
    n: usize,
    bias: f32,
) {
    let nt = tiles(time);
    let plane = |i: usize, j: usize| &m[(i * nt + j) * n..][..n];
    for j in 0..nt {
        let (m0, m1, m2, m3) = (plane(0, j), plane(1, j), plane(2, j), plane(3, j));
        let first = &mut out[2 * j * stride..][..n];
        (0..n).for_each(|b| first[b] = m0[b] + m1[b] + m2[b] + bias);
        if 2 * j + 1 < time {
            let second = &mut out[(2 * j + 1) * stride..][..n];
            (0..n).for_each(|b| second[b] = m1[b] - m2[b] - m3[b] + bias);
        }
    }
}

/// The adjoint of [`output_transform_row`]: one row's `dm[i][j][B]` (overwritten) from its
/// output gradient (step `t` at `dy[t * stride..][..n]`).
pub fn output_transform_backward_row(
    dy: &[f32],
    stride: usize,
    dm: &mut [f32],
    time: usize,
    n: usize,
) {
    let nt = tiles(time);
    let [p0, p1, p2, p3] = planes(dm);
    for j in 0..nt {
        let ga = &dy[2 * j * stride..][..n];
        let at = j * n..(j + 1) * n;
        let out = [
            &mut p0[at.clone()],
            &mut p1[at.clone()],
            &mut p2[at.clone()],
            &mut p3[at],
        ];
        if 2 * j + 1 < time {
            let gb = &dy[(2 * j + 1) * stride..][..n];
            tile_backward(out, ga, |b| gb[b]);
        } else {
            // The last tile of an odd length: its second step is past the end, gradient 0.
            tile_backward(out, ga, |_| 0.0);
        }
    }
}

/// One tile's `dM` from the gradients `ga`, `gb(b)` of its two output steps.
#[inline]
fn tile_backward(out: [&mut [f32]; PRODUCTS], ga: &[f32], gb: impl Fn(usize) -> f32) {
    let [o0, o1, o2, o3] = out;
    for b in 0..ga.len() {
        o0[b] = ga[b];
        o1[b] = ga[b] + gb(b);
        o2[b] = ga[b] - gb(b);
        o3[b] = -gb(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::matmul::matmul;

    fn value(i: usize, scale: f32) -> f32 {
        ((i * 7919 + 13) % 101) as f32 / 50.0 * scale - scale
    }

    /// The transforms and four products give the direct 3-tap convolution, and their adjoints
    /// the gradients a finite difference of `sum(dy * y)` gives (the layer is linear, so the
    /// gradient is exact): odd and even lengths, windows starting before, at and after `t`.
    #[test]
    fn matches_the_direct_convolution_and_its_gradients() {
        for (cin, rows, time, bsz, lo) in [
            (3, 2, 6, 2, -1),
            (2, 3, 5, 1, -1),
            (1, 1, 1, 3, 0),
            (2, 2, 7, 2, -2),
        ] {
            let g = Geometry {
                channels: cin,
                time,
                batch: bsz,
                lo,
            };
            let x: Vec<f32> = (0..cin * time * bsz).map(|i| value(i, 1.0)).collect();
            let k: Vec<f32> = (0..rows * cin * 3).map(|i| value(i + 500, 0.7)).collect();
            let dy: Vec<f32> = (0..rows * time * bsz)
                .map(|i| value(i + 900, 1.3))
                .collect();
            let xat = |c: usize, t: isize, b: usize| {
                if (0..time as isize).contains(&t) {
                    x[(c * time + t as usize) * bsz + b] as f64
                } else {
                    0.0
                }
            };
            // Direct: y[r][t][b] = sum_{c,d} k[r][c][d] x[c][t + lo + d][b].
            let direct: Vec<f64> = (0..rows * time * bsz)
                .map(|idx| {
                    let (r, t, b) = (idx / (time * bsz), idx / bsz % time, idx % bsz);
                    (0..cin)
                        .flat_map(|c| (0..3).map(move |d| (c, d)))
                        .map(|(c, d)| {
                            k[(r * cin + c) * 3 + d] as f64
                                * xat(c, t as isize + lo + d as isize, b)
                        })
                        .sum()
                })
                .collect();

            let nt = tiles(time);
            let cols = nt * bsz;
            let mut v = vec![0.0; g.transformed_len()];
            let mut u = vec![0.0; PRODUCTS * rows * cin];
            let mut m = vec![0.0; rows * PRODUCTS * cols];
            let mut y = vec![0.0; rows * time * bsz];
            input_transform(&x, &mut v, g);
            kernel_transform(&k, &mut u);
            for i in 0..PRODUCTS {
                matmul(
                    &mut plane_mut(&mut m, rows, i, cols),
                    &kernel_plane(&u, rows, cin, i),
                    &plane(&v, cin, i, cols),
                    false,
                );
            }
            for (yr, mr) in y.chunks_mut(time * bsz).zip(m.chunks(PRODUCTS * cols)) {
                output_transform_row(mr, yr, bsz, time, bsz, 0.0);
            }
            for (a, b) in y.iter().zip(&direct) {
                assert!((*a as f64 - b).abs() < 1e-4, "{a} vs {b}");
            }

            // Gradients of L = sum(dy * y): dL/dx[c][t][b] = sum_{r,d} k[r][c][d] dy[r][t - lo - d][b],
            // dL/dk[r][c][d] = sum_{t,b} dy[r][t][b] x[c][t + lo + d][b].
            let mut dm = vec![0.0; m.len()];
            for (dmr, dyr) in dm.chunks_mut(PRODUCTS * cols).zip(dy.chunks(time * bsz)) {
                output_transform_backward_row(dyr, bsz, dmr, time, bsz);
            }
            let mut du = vec![0.0; u.len()];
            let mut dv = vec![0.0; v.len()];
            for i in 0..PRODUCTS {
                matmul(
                    &mut kernel_plane_mut(&mut du, rows, cin, i),
                    &plane(&dm, rows, i, cols),
                    &plane(&v, cin, i, cols).t(),
                    false,
                );
                matmul(
                    &mut plane_mut(&mut dv, cin, i, cols),
                    &kernel_plane(&u, rows, cin, i).t(),
                    &plane(&dm, rows, i, cols),
                    false,
                );
            }
            let mut dk = vec![0.0; k.len()];
            kernel_transform_backward(&du, &mut dk);
            let mut dx = vec![1.0; x.len()];
            input_transform_backward(&dv, &mut dx, g);
            let dyat = |r: usize, t: isize, b: usize| {
                if (0..time as isize).contains(&t) {
                    dy[(r * time + t as usize) * bsz + b] as f64
                } else {
                    0.0
                }
            };
            for c in 0..cin {
                for t in 0..time {
                    for b in 0..bsz {
                        let want: f64 = (0..rows)
                            .flat_map(|r| (0..3).map(move |d| (r, d)))
                            .map(|(r, d)| {
                                k[(r * cin + c) * 3 + d] as f64
                                    * dyat(r, t as isize - lo - d as isize, b)
                            })
                            .sum();
                        let got = dx[(c * time + t) * bsz + b] as f64;
                        assert!((got - want).abs() < 1e-4, "dx {got} vs {want}");
                    }
                }
            }
            for r in 0..rows {
                for c in 0..cin {
                    for d in 0..3 {
                        let want: f64 = (0..time)
                            .flat_map(|t| (0..bsz).map(move |b| (t, b)))
                            .map(|(t, b)| {
                                dyat(r, t as isize, b) * xat(c, t as isize + lo + d as isize, b)
                            })
                            .sum();
                        let got = dk[(r * cin + c) * 3 + d] as f64;
                        assert!((got - want).abs() < 1e-4, "dk {got} vs {want}");
                    }
                }
            }
        }
    }
}
