//! Seamless loops: the crossfade at a loop's seam (used by [`crate::generate::Synth::render`],
//! which tiles the generated bars) and the measure of how audible a seam is.

/// Crossfade length at each seam, in seconds.
pub const CROSSFADE_SECONDS: f32 = 0.010;

/// Seam measure: the largest linear-bin spectral flux within one frame of any seam, divided
/// by the largest flux more than three frames away from every seam and from the ends of the
/// signal (the loop's own strongest onset). Seams sit on beats, so a clean seam is an ordinary
/// onset (ratio about 1 or less); a click adds broadband energy on top and stands out (ratio
/// well above 1).
pub fn seam_flux_ratio(audio: &[f32], seams: &[usize], plan: &mut dsp::StftPlan) -> f32 {
    let Ok(db) = dsp::spectrogram::log_spectrogram(plan, audio) else {
        return 0.0;
    };
    let mut env = vec![0.0f32; db.frames];
    for (t, e) in env.iter_mut().enumerate().skip(1) {
        *e = db
            .frame(t)
            .iter()
            .zip(db.frame(t - 1))
            .map(|(c, p)| (c - p).max(0.0))
            .sum::<f32>()
            / db.bins as f32;
    }
    let hop = plan.config().hop;
    let seam_frames: Vec<usize> = seams
        .iter()
        .map(|&s| (s as f32 / hop as f32).round() as usize)
        .collect();
    // Frames whose window reaches past either end see the STFT's padding, not the loop: with
    // zero padding the first frame rises from silence. They are not the loop's own onsets.
    let edge = plan.config().n_fft / (2 * hop) + 1;
    let natural = env
        .iter()
        .enumerate()
        .filter(|&(f, _)| f >= edge && f + edge < env.len())
        .filter(|(f, _)| seam_frames.iter().all(|&s| f.abs_diff(s) > 3))
        .map(|(_, &v)| v)
        .fold(0.0f32, f32::max)
        .max(1e-6);
    let worst = seam_frames
        .iter()
        .flat_map(|&f| f.saturating_sub(1)..(f + 2).min(env.len()))
        .map(|f| env[f])
        .fold(0.0f32, f32::max);
    worst / natural
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat_clip(bpm: f32, seconds: f32) -> Vec<f32> {
        let sr = 22050.0;
        let period = 60.0 / bpm * sr;
        (0..(seconds * sr) as usize)
            .map(|i| {
                let t_in_beat = (i as f32 % period) / sr;
                // A kick on every beat and a steady tone under it.
                (2.0 * std::f32::consts::PI * 60.0 * t_in_beat).sin()
                    * (-t_in_beat * 12.0).exp()
                    * 0.8
                    + 0.2 * (2.0 * std::f32::consts::PI * 330.0 * i as f32 / sr).sin()
            })
            .collect()
    }

    #[test]
    fn the_seam_measure_tells_clean_seams_from_clicks() {
        // Whole beats of a periodic beat, tiled: the seams are ordinary beats.
        let clip = beat_clip(120.0, 3.0);
        let beat = 11025;
        let tiled: Vec<f32> = clip[..4 * beat]
            .iter()
            .cycle()
            .take(16 * beat)
            .copied()
            .collect();
        let mut plan = dsp::StftPlan::new(dsp::StftConfig::default()).unwrap();
        let ratio = seam_flux_ratio(&tiled, &[4 * beat, 8 * beat, 12 * beat], &mut plan);
        assert!(ratio < 1.2, "seam flux ratio {ratio}");
        // A cut off the beat grid, tiled with hard seams, clicks: the measure must see it.
        let cut = &clip[..20000];
        let naive: Vec<f32> = cut.iter().cycle().take(4 * 20000).copied().collect();
        let bad = seam_flux_ratio(&naive, &[20000, 40000, 60000], &mut plan);
        assert!(bad > 1.3, "naive seams {bad} vs whole beats {ratio}");
    }
}
