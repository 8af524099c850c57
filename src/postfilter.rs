//! A spectral postfilter for decoded spectrograms: each frame's band levels (dB) are pushed
//! away from their local mean across neighbouring bands,
//! `y[b] = x[b] + strength (x[b] - mean(x[b - 2 ..= b + 2]))` (the window shrinks at the edges).
//!
//! A decoder trained with a reconstruction loss smooths across frequency what it cannot place
//! (the pitch of a chord, the exact colour of a hat), so its frames are flatter than real ones:
//! harmonic lines blur into a haze. Enhancing the spectral fine structure against its local
//! mean is the postfilter of statistical speech synthesis (formant or spectral enhancement of
//! over-smoothed generated spectra), here on the model's mel bands. It sharpens whatever fine
//! structure the decoder made, real lines and ripples alike; a frame whose bands are all at one
//! level is unchanged.

/// Bands in the local mean (centred).
pub const WIDTH: usize = 5;

/// Largest strength accepted (4 multiplies the fine structure by 5).
pub const MAX_STRENGTH: f32 = 4.0;

/// Apply the postfilter to a frame-major clip of `bands` values per frame, in place.
/// `strength` 0 leaves it unchanged.
pub fn sharpen(clip: &mut [f32], bands: usize, strength: f32) {
    if strength == 0.0 || bands == 0 {
        return;
    }
    let half = WIDTH / 2;
    let mut orig = vec![0.0f32; bands];
    for frame in clip.chunks_exact_mut(bands) {
        orig.copy_from_slice(frame);
        for (b, y) in frame.iter_mut().enumerate() {
            let window = &orig[b.saturating_sub(half)..(b + half + 1).min(bands)];
            let mean = window.iter().sum::<f32>() / window.len() as f32;
            *y = orig[b] + strength * (orig[b] - mean);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peak_rises_above_its_neighbours_and_flat_frames_stay() {
        // Frame 0: flat at -30 dB; frame 1: a 10 dB peak at band 4 of 9 over -40 dB.
        let mut clip = vec![-30.0f32; 9];
        clip.extend((0..9).map(|b| if b == 4 { -30.0 } else { -40.0 }));
        let before = clip.clone();
        sharpen(&mut clip, 9, 1.0);
        assert!(clip[..9].iter().all(|&v| (v + 30.0).abs() < 1e-5));
        // The peak's local mean is -38 dB: it rises by 8 dB; a neighbour within 2 bands has
        // a mean of -38 too and falls by 2 dB; a band 3 away does not see the peak.
        let f = &clip[9..];
        assert!((f[4] - -22.0).abs() < 1e-4, "{}", f[4]);
        assert!((f[3] - -42.0).abs() < 1e-4, "{}", f[3]);
        assert!((f[1] - -40.0).abs() < 1e-4, "{}", f[1]);
        // Strength 0 is the identity.
        let mut same = before.clone();
        sharpen(&mut same, 9, 0.0);
        assert_eq!(same, before);
    }
}
