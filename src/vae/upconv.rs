//! Nearest-neighbour upsampling by `f` followed by a stride-1 [`Conv1d`](super::conv::Conv1d)
//! with an odd kernel, computed at the input's rate (polyphase): the same function and the
//! same parameters as the two layers, in `D / k` of the multiply-adds (`D = 3` taps for `f = 2`,
//! `k = 5`: 40% fewer).
//!
//! With `u[q] = x[floor(q / f)]` and `p = (k - 1) / 2`, output step `f m + r` (phase `r`) is
//! `y[f m + r] = b + sum_j w_j u[f m + r + j - p] = b + sum_d A_r[d] x[m + d]`, where
//! `A_r[d]` sums the taps `j` with `floor((r + j - p) / f) = d`. So all phases read the same
//! input window `x[m + dmin ..= m + dmax]`: one im2col of `D = dmax - dmin + 1` taps and one
//! product with the stacked phase kernels `[f * cout, cin * D]`, whose rows are scattered to
//! their output steps. Backward: the phase kernels' gradient `dY cols^T`, summed back onto the
//! taps it came from; `dcols = A^T dY` gathered to the input steps.
//!
//! When the window spans `D = 3` steps (kernel 5 or 3 with factor 2: the decoder's), the
//! im2col and its product are replaced by Winograd's F(2, 3) ([`super::winograd`]): four
//! products with `cin` columns per two input steps instead of one with `3 cin` per step, 1/3
//! fewer multiply-adds again, the same function up to rounding (`beatgen bench-train` 1.13x
//! as fast; README, "Training speed and memory vs PyTorch").
//!
//! The weights stay in [`Conv1d`](super::conv::Conv1d)'s layout `[cout, cin * k]`, so a model
//! saved with the two layers loads into this one and back; [`super::stack::Stack`] builds it
//! in place of every such pair.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::conv::{col2im, im2col, view_as, ConvParams};
use super::layer::{Init, Layer, Param, ParamMut, Shape};
use super::matmul::matmul;
use super::winograd::{self, kernel_plane, kernel_plane_mut, plane, plane_mut, Geometry, PRODUCTS};

/// Smallest batch the Winograd products are used for. A clip decoded alone (generation) runs
/// faster as im2col and one product: with one sample per column the transforms' loops are too
/// short to pay for themselves (the generation bench's decoder took 6.8 ms instead of 3.5).
pub const WINOGRAD_MIN_BATCH: usize = 8;

/// `scratch` cut into consecutive parts of the given lengths.
fn split<const N: usize>(mut scratch: &mut [f32], lens: [usize; N]) -> [&mut [f32]; N] {
    lens.map(|len| {
        let (part, rest) = std::mem::take(&mut scratch).split_at_mut(len);
        scratch = rest;
        part
    })
}

pub struct UpsampleConv1d {
    /// Before upsampling.
    input: Shape,
    factor: usize,
    out: usize,
    kernel: usize,
    /// As [`super::conv::Conv1d`]'s.
    pub p: ConvParams,
}

impl UpsampleConv1d {
    /// `input` is the shape before upsampling; the kernel must be odd.
    pub fn new(
        input: Shape,
        factor: usize,
        out: usize,
        kernel: usize,
        init: &mut Init,
        gain: f32,
    ) -> Self {
        assert!(
            kernel % 2 == 1 && factor >= 1,
            "odd kernel, factor at least 1"
        );
        UpsampleConv1d {
            input,
            factor,
            out,
            kernel,
            p: ConvParams::new(input.channels, out, kernel, init, gain),
        }
    }

    /// Input offset of tap `j` in phase `r`: `floor((r + j - p) / f)`.
    fn offset(&self, r: usize, j: usize) -> isize {
        let p = (self.kernel - 1) / 2;
        (r as isize + j as isize - p as isize).div_euclid(self.factor as isize)
    }

    /// The smallest offset and the number of taps `D` every phase's window spans.
    fn window(&self) -> (isize, usize) {
        let lo = self.offset(0, 0);
        let hi = self.offset(self.factor - 1, self.kernel - 1);
        (lo, (hi - lo + 1) as usize)
    }

    /// Input step of input-rate step `m` and window tap `t` (offset `t + lo`), if inside.
    fn source(&self, m: usize, t: usize, lo: isize) -> Option<usize> {
        let ti = m as isize + t as isize + lo;
        (ti >= 0 && (ti as usize) < self.input.time).then_some(ti as usize)
    }

    /// Writes the stacked phase kernels `[f * cout, cin * D]` into `a`.
    fn phase_kernels(&self, a: &mut [f32]) {
        let (lo, taps) = self.window();
        let (cin, k, cout) = (self.input.channels, self.kernel, self.out);
        a.fill(0.0);
        for r in 0..self.factor {
            for j in 0..k {
                let d = (self.offset(r, j) - lo) as usize;
                for co in 0..cout {
                    for ci in 0..cin {
                        a[(r * cout + co) * cin * taps + ci * taps + d] +=
                            self.p.w[[co, ci * k + j]];
                    }
                }
            }
        }
    }

    /// The lengths of the parts of the caller's scratch for a batch of `batch`: the input
    /// window (im2col), its gradient, the phase outputs (or their gradients), the phase kernels
    /// the forward pass wrote (the backward pass reads them: the weights do not change between
    /// the two) and the phase kernels' gradient.
    fn direct_parts(&self, batch: usize) -> [usize; 5] {
        let (n, kernels) = (self.cols_len(batch), self.kernels_len());
        [n, n, self.phases_len(batch), kernels, kernels]
    }

    fn kernels_len(&self) -> usize {
        self.factor * self.out * self.input.channels * self.window().1
    }

    fn cols_len(&self, batch: usize) -> usize {
        self.input.channels * self.window().1 * self.input.time * batch
    }

    /// `[f * cout, tin * B]` values of the phase outputs.
    fn phases_len(&self, batch: usize) -> usize {
        self.factor * self.out * self.input.time * batch
    }

    /// The Winograd F(2, 3) products ([`winograd`]) replace the im2col and its one product
    /// when every phase's window spans 3 input steps (kernel 5 or 3 with factor 2, the
    /// decoder's) and the batch has at least [`WINOGRAD_MIN_BATCH`] samples: 4 products per
    /// two input steps instead of 6.
    fn winograd(&self, batch: usize) -> Option<Geometry> {
        let (lo, taps) = self.window();
        (taps == 3 && batch >= WINOGRAD_MIN_BATCH).then_some(Geometry {
            channels: self.input.channels,
            time: self.input.time,
            batch,
            lo,
        })
    }

    /// The lengths of the parts of the Winograd path's scratch: the transformed input (its
    /// gradient later in the same place), the products `[f * cout][4][tiles][B]` (or their
    /// gradients), the phase kernels, their transform, the transform's gradient and the phase
    /// kernels' gradient.
    fn winograd_parts(&self, g: Geometry) -> [usize; 6] {
        let (kernels, transformed) = (self.kernels_len(), self.transformed_kernels_len());
        let products = self.products_len(g);
        [
            g.transformed_len(),
            products,
            kernels,
            transformed,
            transformed,
            kernels,
        ]
    }

    fn transformed_kernels_len(&self) -> usize {
        PRODUCTS * self.factor * self.out * self.input.channels
    }

    /// Values of the Winograd products of all `f * cout` phase rows.
    fn products_len(&self, g: Geometry) -> usize {
        self.factor * self.out * PRODUCTS * winograd::tiles(g.time) * g.batch
    }

    /// `y` (`[cout, tin * f]` per sample, bias added) from `xs` by the Winograd products:
    /// each phase row's output transform writes its steps `f m + r` of `y` directly.
    fn winograd_forward(&self, xs: &[f32], ys: &mut [f32], g: Geometry, scratch: &mut [f32]) {
        let (f, cout, cin) = (self.factor, self.out, g.channels);
        let (rows, n, tin) = (f * cout, g.batch, g.time);
        let cols = winograd::tiles(tin) * n;
        let [v, m, a, u, _, _] = split(scratch, self.winograd_parts(g));
        winograd::input_transform(xs, v, g);
        self.phase_kernels(a);
        winograd::kernel_transform(a, u);
        for i in 0..PRODUCTS {
            matmul(
                &mut plane_mut(m, rows, i, cols),
                &kernel_plane(u, rows, cin, i),
                &plane(v, cin, i, cols),
                false,
            );
        }
        let m = &*m;
        ys.par_chunks_mut(tin * f * n)
            .enumerate()
            .for_each(|(co, yc)| {
                for r in 0..f {
                    let row = &m[(r * cout + co) * PRODUCTS * cols..][..PRODUCTS * cols];
                    winograd::output_transform_row(
                        row,
                        &mut yc[r * n..],
                        f * n,
                        tin,
                        n,
                        self.p.b[co],
                    );
                }
            });
    }

    /// The phase kernels' gradient (into the scratch's last part, returned) and, with `dx`,
    /// the input gradient, from `dys` by the Winograd products of the forward pass's
    /// transformed input and kernels.
    fn winograd_backward<'s>(
        &self,
        dys: &[f32],
        g: Geometry,
        scratch: &'s mut [f32],
        dx: Option<&mut [f32]>,
    ) -> &'s [f32] {
        let (f, cout, cin) = (self.factor, self.out, g.channels);
        let (rows, n, tin) = (f * cout, g.batch, g.time);
        let cols = winograd::tiles(tin) * n;
        let [v, dm, _, u, du, ga] = split(scratch, self.winograd_parts(g));
        dm.par_chunks_mut(PRODUCTS * cols)
            .enumerate()
            .for_each(|(row, dmc)| {
                let (r, co) = (row / cout, row % cout);
                let dy = &dys[(co * tin * f + r) * n..];
                winograd::output_transform_backward_row(dy, f * n, dmc, tin, n);
            });
        for i in 0..PRODUCTS {
            matmul(
                &mut kernel_plane_mut(du, rows, cin, i),
                &plane(dm, rows, i, cols),
                &plane(v, cin, i, cols).t(),
                false,
            );
        }
        winograd::kernel_transform_backward(du, ga);
        if let Some(dx) = dx {
            // The transformed input is not needed again: its gradient takes its place.
            for i in 0..PRODUCTS {
                matmul(
                    &mut plane_mut(v, cin, i, cols),
                    &kernel_plane(u, rows, cin, i).t(),
                    &plane(dm, rows, i, cols),
                    false,
                );
            }
            winograd::input_transform_backward(v, dx, g);
        }
        ga
    }
}

impl Layer for UpsampleConv1d {
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        Shape::new(self.out, self.input.time * self.factor)
    }
    fn scratch_len(&self, batch: usize) -> usize {
        match self.winograd(batch) {
            Some(g) => self.winograd_parts(g).iter().sum(),
            None => self.direct_parts(batch).iter().sum(),
        }
    }

    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, scratch: &mut [f32]) {
        let bsz = x.ncols();
        let (tin, f, cout) = (self.input.time, self.factor, self.out);
        let xs = x.as_slice().expect("activations are contiguous");
        let ys = y.as_slice_mut().expect("activations are contiguous");
        if let Some(g) = self.winograd(bsz) {
            return self.winograd_forward(xs, ys, g, scratch);
        }
        let (lo, taps) = self.window();
        let cin = self.input.channels;
        let [cols, _, phases, a, _] = split(scratch, self.direct_parts(bsz));
        im2col(xs, cols, (tin, taps, tin, bsz), |m, t| {
            self.source(m, t, lo)
        });
        self.phase_kernels(a);
        let a = ArrayView2::from_shape((f * cout, cin * taps), &*a).expect("sized");
        let cols = ArrayView2::from_shape((cin * taps, tin * bsz), &*cols).expect("sized");
        let mut pm = ArrayViewMut2::from_shape((f * cout, tin * bsz), &mut *phases).expect("sized");
        matmul(&mut pm, &a, &cols, false);
        let phases = &*phases;
        ys.par_chunks_mut(tin * f * bsz)
            .enumerate()
            .for_each(|(co, dst)| {
                for (q, out) in dst.chunks_mut(bsz).enumerate() {
                    let (m, r) = (q / f, q % f);
                    let src = &phases[((r * cout + co) * tin + m) * bsz..][..bsz];
                    for (o, s) in out.iter_mut().zip(src) {
                        *o = s + self.p.b[co];
                    }
                }
            });
    }

    fn backward(
        &mut self,
        _x: &ArrayView2<f32>,
        _y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        scratch: &mut [f32],
    ) {
        let bsz = dy.ncols();
        let (tin, f, cout, k) = (self.input.time, self.factor, self.out, self.kernel);
        let (lo, taps) = self.window();
        let cin = self.input.channels;
        let dys = dy.as_slice().expect("activations are contiguous");
        let dxs = dx.map(|d| d.as_slice_mut().expect("activations are contiguous"));
        // The phase kernels' gradient `[f * cout, cin * D]`, and dx.
        let ga: &[f32] = match self.winograd(bsz) {
            Some(g) => self.winograd_backward(dys, g, scratch, dxs),
            None => {
                let [cols, dcols, dphases, a, ga] = split(scratch, self.direct_parts(bsz));
                // Gather dy into the phase layout [f * cout, tin * B].
                dphases
                    .par_chunks_mut(tin * bsz)
                    .enumerate()
                    .for_each(|(row, dst)| {
                        let (r, co) = (row / cout, row % cout);
                        for (m, out) in dst.chunks_mut(bsz).enumerate() {
                            out.copy_from_slice(&dys[(co * tin * f + m * f + r) * bsz..][..bsz]);
                        }
                    });
                let dpm = ArrayView2::from_shape((f * cout, tin * bsz), &*dphases).expect("sized");
                let cols = ArrayView2::from_shape((cin * taps, tin * bsz), &*cols).expect("sized");
                let mut gam =
                    ArrayViewMut2::from_shape((f * cout, cin * taps), &mut *ga).expect("sized");
                matmul(&mut gam, &dpm, &cols.t(), false);
                if let Some(dxs) = dxs {
                    let a = ArrayView2::from_shape((f * cout, cin * taps), &*a).expect("sized");
                    let mut dcm = ArrayViewMut2::from_shape((cin * taps, tin * bsz), &mut *dcols)
                        .expect("sized");
                    matmul(&mut dcm, &a.t(), &dpm, false);
                    col2im(dcols, dxs, (tin, taps, tin, bsz), |m, t| {
                        self.source(m, t, lo)
                    });
                }
                ga
            }
        };
        self.p.gw.fill(0.0);
        for r in 0..f {
            for j in 0..k {
                let d = (self.offset(r, j) - lo) as usize;
                for co in 0..cout {
                    for ci in 0..cin {
                        self.p.gw[[co, ci * k + j]] +=
                            ga[(r * cout + co) * cin * taps + ci * taps + d];
                    }
                }
            }
        }
        let dym = view_as(dy, cout);
        for (g, row) in self.p.gb.iter_mut().zip(dym.axis_iter(Axis(0))) {
            *g = row.sum();
        }
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(Param<'a>)) {
        self.p.visit(f);
    }

    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        self.p.visit_mut(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::conv::Conv1d;
    use crate::vae::layer::check::{forward_backward, gradient_check, rand_array};
    use crate::vae::reshape::Upsample;
    use dsp::rng::SplitMix64;
    use ndarray::Array2;

    /// The fused layer and the two layers it replaces, with the same weights.
    fn pair(
        cin: usize,
        tin: usize,
        f: usize,
        out: usize,
        k: usize,
    ) -> (UpsampleConv1d, Upsample, Conv1d) {
        let mut rng = SplitMix64::new(5);
        let mut fused = UpsampleConv1d::new(
            Shape::new(cin, tin),
            f,
            out,
            k,
            &mut Init::Random(&mut rng),
            1.0,
        );
        fused
            .p
            .b
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0.1 * i as f32 - 0.2);
        let up = Upsample::new(Shape::new(cin, tin), f);
        let mut conv = Conv1d::new(Shape::new(cin, tin * f), out, k, 1, &mut Init::Zeros, 1.0);
        conv.p.w.assign(&fused.p.w);
        conv.p.b.assign(&fused.p.b);
        (fused, up, conv)
    }

    /// Output, input gradient and parameter gradients equal those of upsampling then
    /// convolving, for several factors, kernels and lengths, on both paths (a batch of 3:
    /// im2col; of 8: Winograd where the window spans 3 steps).
    #[test]
    fn equals_upsampling_then_convolving() {
        for (cin, tin, f, out, k) in [
            (3, 4, 2, 2, 5),
            (2, 5, 2, 3, 3),
            (2, 3, 3, 2, 5),
            (1, 6, 2, 1, 1),
            (4, 8, 2, 5, 7),
        ] {
            for bsz in [3, WINOGRAD_MIN_BATCH] {
                let (mut fused, mut up, mut conv) = pair(cin, tin, f, out, k);
                let x = rand_array(cin * tin, bsz, 11);
                let dy = rand_array(out * tin * f, bsz, 12);
                let (y1, dx1) = forward_backward(&mut fused, &x, &dy);

                let mut u = Array2::zeros((cin * tin * f, bsz));
                up.forward(&x.view(), &mut u.view_mut(), &mut []);
                let (y2, du) = forward_backward(&mut conv, &u, &dy);
                let mut dx2 = Array2::zeros((cin * tin, bsz));
                up.backward(
                    &x.view(),
                    &u.view(),
                    &du.view(),
                    Some(&mut dx2.view_mut()),
                    &mut [],
                );

                let close = |a: &Array2<f32>, b: &Array2<f32>, what: &str| {
                    for (p, q) in a.iter().zip(b.iter()) {
                        assert!(
                            (p - q).abs() < 1e-4,
                            "{cin} {tin} {f} {out} {k} {what}: {p} vs {q}"
                        );
                    }
                };
                close(&y1, &y2, "output");
                close(&dx1, &dx2, "dx");
                close(&fused.p.gw, &conv.p.gw, "dw");
                close(
                    &fused.p.gb.clone().insert_axis(Axis(1)),
                    &conv.p.gb.clone().insert_axis(Axis(1)),
                    "db",
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Winograd products (every phase's window spans 3 steps, a batch of 8 or more), then
        // im2col and one product (a small batch, or a window of 5 steps).
        gradient_check(&mut pair(3, 4, 2, 2, 5).0, WINOGRAD_MIN_BATCH, 3);
        gradient_check(&mut pair(2, 3, 3, 2, 3).0, WINOGRAD_MIN_BATCH, 4);
        gradient_check(&mut pair(3, 4, 2, 2, 5).0, 2, 3);
        gradient_check(&mut pair(2, 5, 2, 2, 7).0, 2, 5);
    }
}
