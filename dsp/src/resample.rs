//! Sample-rate conversion with rubato's windowed-sinc resampler: a 128-tap Blackman-Harris
//! sinc tabulated at 256 sub-sample offsets, linearly interpolated between them (half the work
//! of cubic interpolation; the table is fine enough that the interpolation error stays far
//! below the filter's own stop band). Tests hold the amplitude of a tone within 0.2% and an
//! out-of-band tone below -60 dB.

use rubato::{
    calculate_cutoff, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use crate::error::{DspError, Result};

/// Sinc filter length (taps): 128 with a Blackman-Harris window keeps aliasing below -100 dB
/// with a cutoff near 0.92 of the lower Nyquist frequency.
pub const SINC_LEN: usize = 128;
/// Input frames per rubato call.
const CHUNK: usize = 4096;

/// Resample a mono signal from `from` Hz to `to` Hz. The output has `round(len * to / from)`
/// samples and is aligned with the input to within two output samples (tested).
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    if from == 0 || to == 0 {
        return Err(DspError::Parameter {
            name: "sample_rate",
            detail: format!("{from} Hz -> {to} Hz"),
        });
    }
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let ratio = to as f64 / from as f64;
    let window = WindowFunction::BlackmanHarris2;
    let params = SincInterpolationParameters {
        sinc_len: SINC_LEN,
        f_cutoff: calculate_cutoff(SINC_LEN, window),
        interpolation: SincInterpolationType::Linear,
        oversampling_factor: 256,
        window,
    };
    let err = |e: &dyn std::fmt::Display| DspError::Resample(e.to_string());
    let mut rs = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, 1).map_err(|e| err(&e))?;
    let expected = (input.len() as f64 * ratio).round() as usize;
    let mut out = Vec::with_capacity(expected + CHUNK);
    let mut buf = rs.output_buffer_allocate(true);
    let mut pos = 0;
    while pos + CHUNK <= input.len() {
        let (_, n) = rs
            .process_into_buffer(&[&input[pos..pos + CHUNK]], &mut buf, None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&buf[0][..n]);
        pos += CHUNK;
    }
    if pos < input.len() {
        let (_, n) = rs
            .process_partial_into_buffer(Some(&[&input[pos..]]), &mut buf, None)
            .map_err(|e| err(&e))?;
        out.extend_from_slice(&buf[0][..n]);
    }
    // rubato 0.16's sinc resampler starts half a filter early, so its output is already
    // aligned with the input (see the tests); flush until it is long enough.
    while out.len() < expected {
        let (_, n) = rs
            .process_partial_into_buffer(None::<&[&[f32]]>, &mut buf, None)
            .map_err(|e| err(&e))?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[0][..n]);
    }
    out.resize(expected, 0.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Amplitude and delay (in output samples, positive = late) of a sine of `freq` in `y`.
    fn sine_fit(y: &[f32], freq: f64, rate: f64) -> (f64, f64) {
        let w = 2.0 * std::f64::consts::PI * freq / rate;
        let (lo, hi) = (y.len() / 10, y.len() * 9 / 10);
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &v) in y.iter().enumerate().take(hi).skip(lo) {
            re += v as f64 * (w * i as f64).cos();
            im += v as f64 * (w * i as f64).sin();
        }
        let n = (hi - lo) as f64;
        let amp = 2.0 * (re * re + im * im).sqrt() / n;
        (amp, re.atan2(im) / -w)
    }

    #[test]
    fn length_amplitude_and_alignment() {
        for from in [44100u32, 48000, 96000, 32000, 16000, 8000] {
            let x: Vec<f32> = (0..from as usize)
                .map(|i| (2.0 * std::f64::consts::PI * 300.0 * i as f64 / from as f64).sin() as f32)
                .collect();
            let y = resample(&x, from, 22050).unwrap();
            assert_eq!(y.len(), 22050, "{from}");
            let (amp, lag) = sine_fit(&y, 300.0, 22050.0);
            assert!((amp - 1.0).abs() < 2e-3, "{from} Hz: amplitude {amp}");
            assert!(lag.abs() < 2.0, "{from} Hz: delay {lag} samples");
        }
    }

    #[test]
    fn impulse_stays_in_place() {
        for from in [44100u32, 48000, 16000, 8000, 96000] {
            let x: Vec<f32> = (0..from as usize)
                .map(|i| if i == from as usize / 2 { 1.0 } else { 0.0 })
                .collect();
            let y = resample(&x, from, 22050).unwrap();
            let peak = y
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap()
                .0;
            assert!(
                (peak as i64 - 11025).abs() <= 2,
                "{from} Hz: impulse moved to {peak}"
            );
        }
    }

    #[test]
    fn removes_content_above_the_new_nyquist() {
        // 15 kHz at 48 kHz cannot exist at 22.05 kHz: it must be filtered, not aliased to 7.05 kHz.
        let x = sine(15000.0, 48000, 48000);
        let y = resample(&x, 48000, 22050).unwrap();
        let rms = (y[2000..20000].iter().map(|v| v * v).sum::<f32>() / 18000.0).sqrt();
        assert!(rms < 1e-3, "alias rms {rms}");
    }
}
