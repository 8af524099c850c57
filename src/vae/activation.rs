//! Elementwise activations.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use super::layer::{Layer, Shape};

/// `y = x` for `x > 0`, `slope * x` otherwise (0 gives ReLU).
pub struct LeakyRelu {
    shape: Shape,
    slope: f32,
}

impl LeakyRelu {
    pub fn new(shape: Shape, slope: f32) -> Self {
        LeakyRelu { shape, slope }
    }
}

impl Layer for LeakyRelu {
    fn input_shape(&self) -> Shape {
        self.shape
    }
    fn output_shape(&self) -> Shape {
        self.shape
    }
    fn forward(&self, x: &ArrayView2<f32>, y: &mut ArrayViewMut2<f32>, _: &mut [f32]) {
        let a = self.slope;
        Zip::from(y)
            .and(x)
            .for_each(|y, &x| *y = if x > 0.0 { x } else { a * x });
    }
    /// `dx = dy * f'(x)`, read from the output: for `slope >= 0`, `y > 0` exactly where `x > 0`.
    fn backward(
        &mut self,
        _x: &ArrayView2<f32>,
        y: &ArrayView2<f32>,
        dy: &ArrayView2<f32>,
        dx: Option<&mut ArrayViewMut2<f32>>,
        _: &mut [f32],
    ) {
        let Some(dx) = dx else { return };
        let a = self.slope;
        Zip::from(dx)
            .and(dy)
            .and(y)
            .for_each(|d, &g, &y| *d = if y > 0.0 { g } else { a * g });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::layer::check::gradient_check;

    #[test]
    fn gradients_match_finite_differences() {
        gradient_check(&mut LeakyRelu::new(Shape::new(2, 5), 0.1), 3, 4);
        gradient_check(&mut LeakyRelu::new(Shape::new(2, 5), 0.0), 3, 5);
    }
}
