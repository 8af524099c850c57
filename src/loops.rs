//! Seamless loops: cut a clip to a whole number of beats starting on a beat, and tile it to
//! N bars with short equal-power crossfades at the seams.

use dsp::tempo::Tempo;

/// Crossfade length at each seam, in seconds.
pub const CROSSFADE_SECONDS: f32 = 0.010;

/// A loop: the audio and where its seams are (sample positions).
pub struct Loop {
    pub audio: Vec<f32>,
    pub seams: Vec<usize>,
    /// Beats per repeated segment, and the tempo used.
    pub beats_per_segment: usize,
    pub bpm: f32,
}

/// Tile `clip` (at `sample_rate`) into `bars` bars of 4/4 at the clip's `tempo` (period and
/// phase in STFT frames of `hop` samples). The segment is the largest of 8, 4, 2 or 1 beats
/// that fits after the first beat; it is repeated with equal-power crossfades (`cos`/`sin`
/// gains, so the summed power stays constant) that borrow the samples just past the cut.
pub fn tile_to_bars(
    clip: &[f32],
    sample_rate: u32,
    hop: usize,
    tempo: &Tempo,
    bars: usize,
) -> Loop {
    let period = tempo.period_frames as f64 * hop as f64;
    let start = (tempo.phase_frames as f64 * hop as f64).round() as usize;
    let xf = (CROSSFADE_SECONDS * sample_rate as f32) as usize;
    let available = clip.len().saturating_sub(start + xf);
    let beats = [8usize, 4, 2, 1]
        .into_iter()
        .find(|&b| (b as f64 * period) as usize <= available)
        .unwrap_or(1);
    let seg_len = ((beats as f64 * period).round() as usize)
        .clamp(1, clip.len().saturating_sub(start).max(1));
    let total = ((bars * 4) as f64 * period).round() as usize;
    let mut audio = vec![0.0f32; total + xf];
    let mut seams = Vec::new();
    let mut pos = 0usize;
    while pos < total {
        // Segment with its crossfade tail (the samples after the cut, faded out).
        for i in 0..seg_len + xf {
            let src = start + i;
            if src >= clip.len() || pos + i >= audio.len() {
                break;
            }
            let gain = if pos > 0 && i < xf {
                // Fade in over the previous segment's tail.
                (std::f32::consts::FRAC_PI_2 * i as f32 / xf as f32).sin()
            } else if i >= seg_len {
                (std::f32::consts::FRAC_PI_2 * (i - seg_len) as f32 / xf as f32).cos()
            } else {
                1.0
            };
            audio[pos + i] += gain * clip[src];
        }
        pos += seg_len;
        if pos < total {
            seams.push(pos);
        }
    }
    audio.truncate(total);
    Loop {
        audio,
        seams,
        beats_per_segment: beats,
        bpm: tempo.bpm,
    }
}

/// Seam measure: the largest linear-bin spectral flux within one frame of any seam, divided
/// by the largest flux more than three frames away from every seam (the loop's own strongest
/// onset). Seams sit on beats, so a clean seam is an ordinary onset (ratio about 1 or less);
/// a click adds broadband energy on top and stands out (ratio well above 1).
pub fn seam_flux_ratio(audio: &[f32], seams: &[usize], plan: &mut dsp::StftPlan) -> f32 {
    let Ok(db) = dsp::spectrogram::log_spectrogram(plan, audio) else {
        return 0.0;
    };
    let mut env = vec![0.0f32; db.frames];
    for t in 1..db.frames {
        env[t] = db
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
    let natural = env
        .iter()
        .enumerate()
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
    fn loops_have_the_right_length_and_clean_seams() {
        let clip = beat_clip(120.0, 3.0);
        let tempo = Tempo {
            bpm: 120.0,
            period_frames: 0.5 * 22050.0 / 256.0,
            phase_frames: 0.0,
            strength: 1.0,
        };
        let lp = tile_to_bars(&clip, 22050, 256, &tempo, 4);
        // 4 bars of 4 beats at 120 BPM = 8 s.
        assert_eq!(lp.audio.len(), 8 * 22050);
        assert_eq!(lp.beats_per_segment, 4);
        assert_eq!(lp.seams.len(), 3);
        let mut plan = dsp::StftPlan::new(dsp::StftConfig::default()).unwrap();
        let ratio = seam_flux_ratio(&lp.audio, &lp.seams, &mut plan);
        assert!(ratio < 1.2, "seam flux ratio {ratio}");
        // The naive alternative, tiling a cut that is not on the beat grid with hard seams,
        // clicks: the measure must see it.
        let cut = &clip[..20000];
        let naive: Vec<f32> = cut.iter().cycle().take(4 * 20000).copied().collect();
        let bad = seam_flux_ratio(&naive, &[20000, 40000, 60000], &mut plan);
        assert!(bad > 1.3, "naive seams {bad} vs ours {ratio}");
    }
}
