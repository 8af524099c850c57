//! Biquad filters (RBJ audio-EQ cookbook), used to shape noise and tone in the drum synthesiser.

/// A direct-form-I biquad. Frequencies in Hz, `q` dimensionless.
#[derive(Debug, Clone)]
pub struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl Biquad {
    fn from_coeffs(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Biquad {
            b: [(b0 / a0) as f32, (b1 / a0) as f32, (b2 / a0) as f32],
            a: [(a1 / a0) as f32, (a2 / a0) as f32],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn omega(freq: f32, sr: f32, q: f32) -> (f64, f64) {
        let f = (freq as f64).clamp(10.0, sr as f64 * 0.49);
        let w = 2.0 * std::f64::consts::PI * f / sr as f64;
        (w.cos(), w.sin() / (2.0 * q as f64))
    }

    pub fn highpass(freq: f32, q: f32, sr: f32) -> Self {
        let (c, alpha) = Self::omega(freq, sr, q);
        Self::from_coeffs(
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    pub fn lowpass(freq: f32, q: f32, sr: f32) -> Self {
        let (c, alpha) = Self::omega(freq, sr, q);
        Self::from_coeffs(
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + alpha,
            -2.0 * c,
            1.0 - alpha,
        )
    }

    /// Band-pass with 0 dB peak gain.
    pub fn bandpass(freq: f32, q: f32, sr: f32) -> Self {
        let (c, alpha) = Self::omega(freq, sr, q);
        Self::from_coeffs(alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * c, 1.0 - alpha)
    }

    pub fn process(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }

    pub fn run(&mut self, buf: &mut [f32]) {
        for v in buf {
            *v = self.process(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain(mut f: Biquad, freq: f32) -> f32 {
        let sr = 22050.0;
        let x: Vec<f32> = (0..22050)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / sr).sin())
            .collect();
        let y: Vec<f32> = x.iter().map(|&v| f.process(v)).collect();
        let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
        rms(&y[5000..]) / rms(&x[5000..])
    }

    #[test]
    fn responses_at_known_points() {
        let sr = 22050.0;
        assert!(
            gain(
                Biquad::lowpass(1000.0, std::f32::consts::FRAC_1_SQRT_2, sr),
                100.0
            ) > 0.98
        );
        assert!(
            gain(
                Biquad::lowpass(1000.0, std::f32::consts::FRAC_1_SQRT_2, sr),
                8000.0
            ) < 0.03
        );
        assert!(
            (gain(
                Biquad::lowpass(1000.0, std::f32::consts::FRAC_1_SQRT_2, sr),
                1000.0
            ) - std::f32::consts::FRAC_1_SQRT_2)
                .abs()
                < 0.02
        );
        assert!(
            gain(
                Biquad::highpass(5000.0, std::f32::consts::FRAC_1_SQRT_2, sr),
                200.0
            ) < 0.01
        );
        assert!(
            gain(
                Biquad::highpass(5000.0, std::f32::consts::FRAC_1_SQRT_2, sr),
                10000.0
            ) > 0.95
        );
        assert!((gain(Biquad::bandpass(2000.0, 2.0, sr), 2000.0) - 1.0).abs() < 0.02);
    }
}
