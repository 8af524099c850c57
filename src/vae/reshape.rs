//! Layers that move values without parameters: nearest upsampling over time, reshaping of
//! flat features to channels, and cropping of time steps. All use the channel-major layout of
//! [`super::layer`], a batch `[channels, time * B]`.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::conv::{view_as, view_as_mut};
use super::layer::{Layer, Shape};

/// Nearest-neighbour upsampling by `factor` over time: `y[c, t * f + r] = x[c, t]`.
pub struct Upsample {
    input: Shape,
    factor: usize,
}

impl Upsample {
    pub fn new(input: Shape, factor: usize) -> Self {
        Upsample { input, factor }
    }
}

impl Layer for Upsample {
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        Shape::new(self.input.channels, self.input.time * self.factor)
    }
    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, _: &mut [f32]) {
        let (c, bsz) = (self.input.channels, x.ncols());
        let xm = view_as(x, c);
        let mut ym = view_as_mut(y, c);
        for (xr, mut yr) in xm.rows().into_iter().zip(ym.rows_mut()) {
            let (xs, ys) = (xr.as_slice().expect("row"), yr.as_slice_mut().expect("row"));
            for (src, dst) in xs.chunks(bsz).zip(ys.chunks_mut(bsz * self.factor)) {
                for d in dst.chunks_mut(bsz) {
                    d.copy_from_slice(src);
                }
            }
        }
    }
    /// `dx[c, t] = sum_r dy[c, t * f + r]`.
    fn backward(
        &mut self,
        _x: &ArrayView2<f32>,
        _y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        _: &mut [f32],
    ) {
        let Some(dx) = dx else { return };
        let (c, bsz) = (self.input.channels, dy.ncols());
        let dym = view_as(dy, c);
        let mut dxm = view_as_mut(dx, c);
        for (gr, mut dr) in dym.rows().into_iter().zip(dxm.rows_mut()) {
            let (gs, ds) = (gr.as_slice().expect("row"), dr.as_slice_mut().expect("row"));
            for (dst, src) in ds.chunks_mut(bsz).zip(gs.chunks(bsz * self.factor)) {
                dst.copy_from_slice(&src[..bsz]);
                for s in src.chunks(bsz).skip(1) {
                    dst.iter_mut().zip(s).for_each(|(d, v)| *d += v);
                }
            }
        }
    }
}

/// Same values, another shape (flat features to `channels x time`): a copy in this layout.
pub struct Reshape {
    input: Shape,
    output: Shape,
}

impl Reshape {
    pub fn new(input: Shape, output: Shape) -> Self {
        assert_eq!(input.features(), output.features());
        Reshape { input, output }
    }
}

impl Layer for Reshape {
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        self.output
    }
    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, _: &mut [f32]) {
        y.assign(x);
    }
    fn backward(
        &mut self,
        _x: &ArrayView2<f32>,
        _y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        _: &mut [f32],
    ) {
        if let Some(dx) = dx {
            dx.assign(dy);
        }
    }
}

/// The first `time` steps of every channel.
pub struct Crop {
    input: Shape,
    time: usize,
}

impl Crop {
    pub fn new(input: Shape, time: usize) -> Self {
        Crop { input, time }
    }
}

impl Layer for Crop {
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        Shape::new(self.input.channels, self.time)
    }
    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, _: &mut [f32]) {
        let (c, bsz) = (self.input.channels, x.ncols());
        let xm = view_as(x, c);
        let mut ym = view_as_mut(y, c);
        let n = self.time * bsz;
        ym.assign(&xm.slice(ndarray::s![.., ..n]));
    }
    fn backward(
        &mut self,
        _x: &ArrayView2<f32>,
        _y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        _: &mut [f32],
    ) {
        let Some(dx) = dx else { return };
        let (c, bsz) = (self.input.channels, dy.ncols());
        let n = self.time * bsz;
        let mut dxm = view_as_mut(dx, c);
        dxm.fill(0.0);
        dxm.slice_mut(ndarray::s![.., ..n]).assign(&view_as(dy, c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::layer::check::gradient_check;
    use ndarray::Array2;

    #[test]
    fn upsample_repeats_each_step() {
        // 2 channels x 2 steps, batch 2: x[c, t, b] = 10c + 2t + b (rows c*T + t).
        let x = ndarray::arr2(&[[0.0, 1.0], [2.0, 3.0], [10.0, 11.0], [12.0, 13.0]]);
        let up = Upsample::new(Shape::new(2, 2), 2);
        let mut y = Array2::zeros((8, 2));
        up.forward(&x.view(), &mut y.view_mut(), &mut []);
        let expect = ndarray::arr2(&[
            [0.0, 1.0],
            [0.0, 1.0],
            [2.0, 3.0],
            [2.0, 3.0],
            [10.0, 11.0],
            [10.0, 11.0],
            [12.0, 13.0],
            [12.0, 13.0],
        ]);
        assert_eq!(y, expect);
    }

    #[test]
    fn crop_keeps_the_first_steps() {
        let x = Array2::from_shape_fn((6, 2), |(r, b)| (10 * r + b) as f32); // 2 ch x 3 steps
        let c = Crop::new(Shape::new(2, 3), 2);
        let mut y = Array2::zeros((4, 2));
        c.forward(&x.view(), &mut y.view_mut(), &mut []);
        assert_eq!(
            y,
            ndarray::arr2(&[[0.0, 1.0], [10.0, 11.0], [30.0, 31.0], [40.0, 41.0]])
        );
    }

    #[test]
    fn gradients_match_finite_differences() {
        gradient_check(&mut Upsample::new(Shape::new(3, 4), 2), 2, 1);
        gradient_check(&mut Crop::new(Shape::new(3, 5), 3), 2, 2);
        gradient_check(&mut Reshape::new(Shape::flat(6), Shape::new(2, 3)), 2, 3);
    }
}
