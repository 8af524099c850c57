//! A dense (fully connected) layer over all features of its input.
//!
//! Weights `w` are `[out, in]` (PyTorch's `nn.Linear` layout, so safetensors load directly),
//! bias `b` is `[out]`. With feature-major batches every product `W . X` has its large
//! dimension contiguous, which the gemm kernels run fastest (see `benches/training.rs`).

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

use super::layer::{init_weights, Init, Layer, Param, ParamMut, Shape};
use super::matmul::matmul;

pub struct Dense {
    input: Shape,
    pub w: Array2<f32>,
    pub b: Array1<f32>,
    pub gw: Array2<f32>,
    pub gb: Array1<f32>,
}

impl Dense {
    pub fn new(input: Shape, out: usize, init: &mut Init, gain: f32) -> Self {
        let inp = input.features();
        Dense {
            input,
            w: init_weights((out, inp), inp, init, gain),
            b: Array1::zeros(out),
            gw: Array2::zeros((out, inp)),
            gb: Array1::zeros(out),
        }
    }
}

impl Layer for Dense {
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        Shape::flat(self.w.nrows())
    }

    /// `y = W x + b`.
    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, _: &mut [f32]) {
        matmul(y, &self.w.view(), x, false);
        for (mut row, &b) in y.axis_iter_mut(Axis(0)).zip(&self.b) {
            row.mapv_inplace(|v| v + b);
        }
    }

    /// `dW = dy x^T`, `db = sum_b dy`, `dx = W^T dy`.
    fn backward(
        &mut self,
        x: &ArrayView2<f32>,
        _y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        _: &mut [f32],
    ) {
        matmul(&mut self.gw.view_mut(), dy, &x.t(), false);
        for (g, row) in self.gb.iter_mut().zip(dy.axis_iter(Axis(0))) {
            *g = row.sum();
        }
        if let Some(dx) = dx {
            matmul(dx, &self.w.t(), dy, false);
        }
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(Param<'a>)) {
        f(Param {
            name: "weight",
            shape: self.w.shape().to_vec(),
            value: self.w.as_slice().expect("contiguous"),
            grad: self.gw.as_slice().expect("contiguous"),
        });
        f(Param {
            name: "bias",
            shape: vec![self.b.len()],
            value: self.b.as_slice().expect("contiguous"),
            grad: self.gb.as_slice().expect("contiguous"),
        });
    }

    fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        let shape = self.w.shape().to_vec();
        f(ParamMut {
            name: "weight",
            shape,
            value: self.w.as_slice_mut().expect("contiguous"),
            grad: self.gw.as_slice_mut().expect("contiguous"),
        });
        f(ParamMut {
            name: "bias",
            shape: vec![self.b.len()],
            value: self.b.as_slice_mut().expect("contiguous"),
            grad: self.gb.as_slice_mut().expect("contiguous"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::layer::check::gradient_check;
    use dsp::rng::SplitMix64;

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SplitMix64::new(1);
        let mut d = Dense::new(Shape::new(3, 4), 5, &mut Init::Random(&mut rng), 1.0);
        d.b.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = 0.1 * i as f32);
        gradient_check(&mut d, 3, 7);
    }

    #[test]
    fn forward_matches_a_hand_computed_product() {
        let mut d = Dense::new(Shape::flat(2), 2, &mut Init::Zeros, 1.0);
        d.w.assign(&ndarray::arr2(&[[1.0, 2.0], [-1.0, 0.5]]));
        d.b.assign(&ndarray::arr1(&[0.5, -1.0]));
        let x = ndarray::arr2(&[[1.0, 0.0], [2.0, -2.0]]); // two samples as columns
        let mut y = Array2::zeros((2, 2));
        d.forward(&x.view(), &mut y.view_mut(), &mut []);
        assert_eq!(y, ndarray::arr2(&[[5.5, -3.5], [-1.0, -2.0]]));
    }
}
