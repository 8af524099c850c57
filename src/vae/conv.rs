//! A 1-D convolution over time, channels in and out, by im2col and one matrix product.
//!
//! Input `cin x tin`, output `cout x tout` with `tout = (tin + 2p - k) / s + 1` and zero
//! padding `p = (k - 1) / 2` at both ends: PyTorch's `nn.Conv1d(cin, cout, k, s, p)`. Weights
//! are stored `[cout, cin * k]`, the row-major flattening of PyTorch's `[cout, cin, k]`.
//!
//! Forward: `cols[ci * k + j, to * B + b] = x[ci, to * s + j - p, b]` (0 outside), then
//! `y = W cols + b` as a `[cout, tout * B]` product (the batch view of a `[cout * tout, B]`
//! activation, see [`super::layer`]). Backward: `dW = dy cols^T`, `db = sum dy`,
//! `dcols = W^T dy`, and `dx` gathers `dcols` back to the input positions it was copied from.
//! `cols` and `dcols` live in the caller's scratch buffer.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::layer::{init_weights, Init, Layer, Param, ParamMut, Shape};
use super::matmul::matmul;

pub struct Conv1d {
    input: Shape,
    out: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    pub p: ConvParams,
}

/// A convolution's weights `[cout, cin * k]` and bias, with their gradients, visited as
/// PyTorch's `weight` `[cout, cin, k]` and `bias` `[cout]` (shared by [`Conv1d`] and
/// [`super::upconv::UpsampleConv1d`]).
pub struct ConvParams {
    cin: usize,
    kernel: usize,
    pub w: Array2<f32>,
    pub b: Array1<f32>,
    pub gw: Array2<f32>,
    pub gb: Array1<f32>,
}

impl ConvParams {
    /// He-initialised weights (fan-in `cin * k`), zero bias.
    pub fn new(cin: usize, out: usize, kernel: usize, init: &mut Init, gain: f32) -> Self {
        let fan_in = cin * kernel;
        ConvParams {
            cin,
            kernel,
            w: init_weights((out, fan_in), fan_in, init, gain),
            b: Array1::zeros(out),
            gw: Array2::zeros((out, fan_in)),
            gb: Array1::zeros(out),
        }
    }

    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(Param<'a>)) {
        let out = self.b.len();
        f(Param {
            name: "weight",
            shape: vec![out, self.cin, self.kernel],
            value: self.w.as_slice().expect("contiguous"),
            grad: self.gw.as_slice().expect("contiguous"),
        });
        f(Param {
            name: "bias",
            shape: vec![out],
            value: self.b.as_slice().expect("contiguous"),
            grad: self.gb.as_slice().expect("contiguous"),
        });
    }

    pub fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        let out = self.b.len();
        f(ParamMut {
            name: "weight",
            shape: vec![out, self.cin, self.kernel],
            value: self.w.as_slice_mut().expect("contiguous"),
            grad: self.gw.as_slice_mut().expect("contiguous"),
        });
        f(ParamMut {
            name: "bias",
            shape: vec![out],
            value: self.b.as_slice_mut().expect("contiguous"),
            grad: self.gb.as_slice_mut().expect("contiguous"),
        });
    }
}

/// A standard-layout batch `[rows * inner, B]` seen as `[rows, inner * B]`.
pub(crate) fn view_as<'a>(x: &'a ArrayView2<'_, f32>, rows: usize) -> ArrayView2<'a, f32> {
    let s = x.as_slice().expect("activations are contiguous");
    ArrayView2::from_shape((rows, s.len() / rows), s).expect("rows divide the batch")
}

pub(crate) fn view_as_mut<'a>(
    x: &'a mut ArrayViewMut2<f32>,
    rows: usize,
) -> ArrayViewMut2<'a, f32> {
    let s = x.as_slice_mut().expect("activations are contiguous");
    let n = s.len();
    ArrayViewMut2::from_shape((rows, n / rows), s).expect("rows divide the batch")
}

/// `cols[ci * taps + j, to * B + b] = x[ci, source(to, j), b]`, 0 where `source` is `None`:
/// the im2col of `x` (`[cin, tin * B]`) for `taps` taps at `tout` output steps.
pub(crate) fn im2col(
    xs: &[f32],
    cols: &mut [f32],
    (tin, taps, tout, bsz): (usize, usize, usize, usize),
    source: impl Fn(usize, usize) -> Option<usize> + Sync,
) {
    cols.par_chunks_mut(tout * bsz)
        .enumerate()
        .for_each(|(row, dst)| {
            let (ci, j) = (row / taps, row % taps);
            for (to, d) in dst.chunks_mut(bsz).enumerate() {
                match source(to, j) {
                    Some(ti) => d.copy_from_slice(&xs[(ci * tin + ti) * bsz..][..bsz]),
                    None => d.fill(0.0),
                }
            }
        });
}

/// The adjoint of [`im2col`]: `dx[ci, t]` is the sum of the `dcols` entries copied from it.
pub(crate) fn col2im(
    dcols: &[f32],
    dxs: &mut [f32],
    (tin, taps, tout, bsz): (usize, usize, usize, usize),
    source: impl Fn(usize, usize) -> Option<usize> + Sync,
) {
    dxs.par_chunks_mut(tin * bsz)
        .enumerate()
        .for_each(|(ci, dst)| {
            dst.fill(0.0);
            for j in 0..taps {
                let src = &dcols[(ci * taps + j) * tout * bsz..][..tout * bsz];
                for to in 0..tout {
                    if let Some(ti) = source(to, j) {
                        let d = &mut dst[ti * bsz..][..bsz];
                        for (d, s) in d.iter_mut().zip(&src[to * bsz..][..bsz]) {
                            *d += s;
                        }
                    }
                }
            }
        });
}

impl Conv1d {
    pub fn new(
        input: Shape,
        out: usize,
        kernel: usize,
        stride: usize,
        init: &mut Init,
        gain: f32,
    ) -> Self {
        Conv1d {
            input,
            out,
            kernel,
            stride,
            pad: (kernel - 1) / 2,
            p: ConvParams::new(input.channels, out, kernel, init, gain),
        }
    }

    fn tout(&self) -> usize {
        (self.input.time + 2 * self.pad).saturating_sub(self.kernel) / self.stride + 1
    }

    /// Input step of output step `to` and tap `j`, if inside the input.
    fn source(&self, to: usize, j: usize) -> Option<usize> {
        let ti = (to * self.stride + j) as isize - self.pad as isize;
        (ti >= 0 && (ti as usize) < self.input.time).then_some(ti as usize)
    }

    fn cols_len(&self, batch: usize) -> usize {
        self.input.channels * self.kernel * self.tout() * batch
    }
}

impl Layer for Conv1d {
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        Shape::new(self.out, self.tout())
    }
    fn scratch_len(&self, batch: usize) -> usize {
        2 * self.cols_len(batch)
    }

    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, scratch: &mut [f32]) {
        let bsz = x.ncols();
        let (tin, k, tout) = (self.input.time, self.kernel, self.tout());
        let xs = x.as_slice().expect("activations are contiguous");
        let cols = &mut scratch[..self.cols_len(bsz)];
        im2col(xs, cols, (tin, k, tout, bsz), |to, j| self.source(to, j));
        let cols = ArrayView2::from_shape((self.p.w.ncols(), tout * bsz), &*cols).expect("sized");
        let mut ym = view_as_mut(y, self.out);
        matmul(&mut ym, &self.p.w.view(), &cols, false);
        for (mut row, &b) in ym.axis_iter_mut(Axis(0)).zip(&self.p.b) {
            row.mapv_inplace(|v| v + b);
        }
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
        let (tin, k, tout) = (self.input.time, self.kernel, self.tout());
        let n = self.cols_len(bsz);
        let (cols, dcols) = scratch.split_at_mut(n);
        let cols = ArrayView2::from_shape((self.p.w.ncols(), tout * bsz), &*cols).expect("sized");
        let dym = view_as(dy, self.out);
        matmul(&mut self.p.gw.view_mut(), &dym, &cols.t(), false);
        for (g, row) in self.p.gb.iter_mut().zip(dym.axis_iter(Axis(0))) {
            *g = row.sum();
        }
        let Some(dx) = dx else { return };
        let mut dcm = ArrayViewMut2::from_shape((self.p.w.ncols(), tout * bsz), &mut dcols[..n])
            .expect("sized");
        matmul(&mut dcm, &self.p.w.t(), &dym, false);
        let dcols = &dcols[..n];
        let dxs = dx.as_slice_mut().expect("activations are contiguous");
        col2im(dcols, dxs, (tin, k, tout, bsz), |to, j| self.source(to, j));
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
    use crate::vae::layer::check::{gradient_check, rand_array};
    use dsp::rng::SplitMix64;

    fn conv(cin: usize, tin: usize, out: usize, k: usize, s: usize) -> Conv1d {
        let mut rng = SplitMix64::new(4);
        let mut c = Conv1d::new(
            Shape::new(cin, tin),
            out,
            k,
            s,
            &mut Init::Random(&mut rng),
            1.0,
        );
        c.p.b
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0.1 * i as f32 - 0.1);
        c
    }

    /// The definition, summed directly: y[co, to] = b[co] + sum_ci,j w[co, ci, j] x[ci, to*s+j-p].
    fn naive(c: &Conv1d, x: &Array2<f32>) -> Array2<f32> {
        let (cin, tin) = (c.input.channels, c.input.time);
        let (tout, bsz) = (c.tout(), x.ncols());
        Array2::from_shape_fn((c.out * tout, bsz), |(row, b)| {
            let (co, to) = (row / tout, row % tout);
            let mut acc = c.p.b[co] as f64;
            for ci in 0..cin {
                for j in 0..c.kernel {
                    let ti = (to * c.stride + j) as isize - c.pad as isize;
                    if ti >= 0 && (ti as usize) < tin {
                        acc += c.p.w[[co, ci * c.kernel + j]] as f64
                            * x[[ci * tin + ti as usize, b]] as f64;
                    }
                }
            }
            acc as f32
        })
    }

    #[test]
    fn forward_matches_the_definition() {
        for (cin, tin, out, k, s) in [
            (3, 9, 4, 5, 2),
            (2, 8, 3, 5, 1),
            (4, 7, 2, 3, 2),
            (1, 5, 1, 1, 1),
        ] {
            let c = conv(cin, tin, out, k, s);
            let x = rand_array(cin * tin, 3, 9);
            let mut y = Array2::zeros((c.output_shape().features(), 3));
            let mut scratch = vec![0.0; c.scratch_len(3)];
            c.forward(&x.view(), &mut y.view_mut(), &mut scratch);
            let expect = naive(&c, &x);
            for (a, e) in y.iter().zip(expect.iter()) {
                assert!(
                    (a - e).abs() < 1e-5,
                    "{cin} {tin} {out} {k} {s}: {a} vs {e}"
                );
            }
        }
        // PyTorch's output length: (9 + 4 - 5) / 2 + 1 = 5; (8 + 4 - 5) / 1 + 1 = 8.
        assert_eq!(conv(3, 9, 4, 5, 2).output_shape(), Shape::new(4, 5));
        assert_eq!(conv(2, 8, 3, 5, 1).output_shape(), Shape::new(3, 8));
    }

    #[test]
    fn gradients_match_finite_differences() {
        gradient_check(&mut conv(3, 9, 4, 5, 2), 2, 3);
        gradient_check(&mut conv(2, 8, 3, 5, 1), 3, 5);
    }
}
