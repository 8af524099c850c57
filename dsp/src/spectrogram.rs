//! Log-magnitude spectrograms.
//!
//! dB convention: `db = 20 log10(max(|X|, tiny) / reference)`, floored at [`FLOOR_DB`], with
//! `reference = n_fft / 4`, the STFT magnitude of a full-scale (amplitude 1) sine centred on a
//! bin with the periodic Hann window. So 0 dB is "a full-scale tone", and -80 dB is the floor.

use crate::error::Result;
use crate::stft::{ComplexSpec, Spectrogram, StftConfig, StftPlan};

/// Lowest dB value kept; everything quieter is set to this.
pub const FLOOR_DB: f32 = -80.0;

/// Magnitude that maps to 0 dB for a given STFT geometry.
pub fn db_reference(cfg: StftConfig) -> f32 {
    cfg.n_fft as f32 / 4.0
}

/// Magnitudes to floored dB (see the module docs).
pub fn magnitude_to_db(mag: &Spectrogram, reference: f32) -> Spectrogram {
    let floor_mag = reference * 10f32.powf(FLOOR_DB / 20.0);
    Spectrogram {
        frames: mag.frames,
        bins: mag.bins,
        data: mag
            .data
            .iter()
            .map(|&m| 20.0 * (m.max(floor_mag) / reference).log10())
            .collect(),
    }
}

/// dB back to magnitudes. Values at or below the floor become 0, so the floor adds no noise.
pub fn db_to_magnitude(db: &Spectrogram, reference: f32) -> Spectrogram {
    Spectrogram {
        frames: db.frames,
        bins: db.bins,
        data: db
            .data
            .iter()
            .map(|&d| {
                if d <= FLOOR_DB + 1e-3 {
                    0.0
                } else {
                    reference * 10f32.powf(d / 20.0)
                }
            })
            .collect(),
    }
}

/// The floored dB spectrogram of a signal.
pub fn log_spectrogram(plan: &mut StftPlan, signal: &[f32]) -> Result<Spectrogram> {
    let mut spec = ComplexSpec::zeros(0, 0);
    plan.forward(signal, &mut spec)?;
    Ok(magnitude_to_db(
        &spec.magnitude(),
        db_reference(plan.config()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_is_0_db_and_floor_holds() {
        let f = 100.0 * 22050.0 / 1024.0;
        let x: Vec<f32> = (0..22050)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / 22050.0).sin())
            .collect();
        let mut plan = StftPlan::new(StftConfig::default()).unwrap();
        let db = log_spectrogram(&mut plan, &x).unwrap();
        let row = db.frame(40);
        assert!(row[100].abs() < 0.05, "{}", row[100]);
        assert!((row[99] + 6.02).abs() < 0.1, "{}", row[99]);
        assert!(db.data.iter().all(|&v| v >= FLOOR_DB && v < 0.1));
        let silent = log_spectrogram(&mut plan, &vec![0.0; 1000]).unwrap();
        assert!(silent.data.iter().all(|&v| v == FLOOR_DB));
        // Round trip above the floor.
        let mag = db_to_magnitude(&db, db_reference(StftConfig::default()));
        assert!((mag.frame(40)[100] - 256.0).abs() < 0.5);
    }
}
