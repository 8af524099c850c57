//! The drum and melodic voices of the synthesiser. A [`Kit`] holds one song's randomised timbre
//! parameters; each voice renders a one-shot at a given sample rate into a new buffer. Amplitudes
//! are nominally within [-1, 1] before mixing.

use std::f32::consts::TAU;

use rand::Rng;

use super::filter::Biquad;

/// Timbre parameters for one song, drawn from per-voice ranges so that kits differ.
#[derive(Debug, Clone)]
pub struct Kit {
    pub kick_start_hz: f32,
    pub kick_end_hz: f32,
    pub kick_sweep_s: f32,
    pub kick_decay_s: f32,
    pub kick_click: f32,
    pub snare_tone_hz: f32,
    pub snare_noise_hz: f32,
    pub snare_decay_s: f32,
    pub clap_spread_s: f32,
    pub clap_hz: f32,
    pub hat_hz: f32,
    pub hat_decay_s: f32,
    pub open_hat_decay_s: f32,
    pub hat_metallic: bool,
    pub rim_hz: f32,
    pub bass_decay_s: f32,
    pub bass_drive: f32,
    pub glide_s: f32,
    /// Harmonic amplitudes and decay of the melodic voice.
    pub keys_harmonics: [f32; 4],
    pub keys_decay_s: f32,
}

impl Kit {
    pub fn random(rng: &mut impl Rng) -> Self {
        Kit {
            kick_start_hz: rng.gen_range(110.0..220.0),
            kick_end_hz: rng.gen_range(40.0..62.0),
            kick_sweep_s: rng.gen_range(0.015..0.05),
            kick_decay_s: rng.gen_range(0.12..0.35),
            kick_click: rng.gen_range(0.05..0.35),
            snare_tone_hz: rng.gen_range(160.0..260.0),
            snare_noise_hz: rng.gen_range(1200.0..4000.0),
            snare_decay_s: rng.gen_range(0.08..0.2),
            clap_spread_s: rng.gen_range(0.006..0.014),
            clap_hz: rng.gen_range(900.0..2200.0),
            hat_hz: rng.gen_range(6000.0..9000.0),
            hat_decay_s: rng.gen_range(0.02..0.06),
            open_hat_decay_s: rng.gen_range(0.18..0.4),
            hat_metallic: rng.gen_bool(0.5),
            rim_hz: rng.gen_range(700.0..1400.0),
            bass_decay_s: rng.gen_range(0.5..1.4),
            bass_drive: rng.gen_range(1.0..3.0),
            glide_s: rng.gen_range(0.04..0.12),
            keys_harmonics: [
                1.0,
                rng.gen_range(0.1..0.6),
                rng.gen_range(0.0..0.4),
                rng.gen_range(0.0..0.2),
            ],
            keys_decay_s: rng.gen_range(0.4..1.5),
        }
    }
}

fn exp_env(i: usize, sr: f32, tau: f32) -> f32 {
    (-(i as f32) / (sr * tau)).exp()
}

fn len_for(tau: f32, sr: f32) -> usize {
    // Long enough to decay by about 60 dB.
    (tau * 7.0 * sr) as usize + 1
}

fn noise(rng: &mut impl Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// Kick: a sine swept down from `kick_start_hz` to `kick_end_hz`, with a short click.
pub fn kick(k: &Kit, sr: f32, rng: &mut impl Rng) -> Vec<f32> {
    let n = len_for(k.kick_decay_s, sr);
    let mut phase = 0.0f32;
    let click = noise(rng, (0.004 * sr) as usize);
    (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            let f = k.kick_end_hz + (k.kick_start_hz - k.kick_end_hz) * (-t / k.kick_sweep_s).exp();
            phase += TAU * f / sr;
            let body = phase.sin() * exp_env(i, sr, k.kick_decay_s);
            let c = click
                .get(i)
                .map_or(0.0, |v| v * k.kick_click * exp_env(i, sr, 0.001));
            body + c
        })
        .collect()
}

/// Snare: a decaying tone plus band-limited noise.
pub fn snare(k: &Kit, sr: f32, rng: &mut impl Rng) -> Vec<f32> {
    let n = len_for(k.snare_decay_s, sr);
    let mut nz = noise(rng, n);
    Biquad::highpass(k.snare_noise_hz * 0.5, 0.7, sr).run(&mut nz);
    (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            0.5 * (TAU * k.snare_tone_hz * t).sin() * exp_env(i, sr, 0.04)
                + 0.7 * nz[i] * exp_env(i, sr, k.snare_decay_s)
        })
        .collect()
}

/// Clap: four quick noise bursts, then a short tail, band-passed.
pub fn clap(k: &Kit, sr: f32, rng: &mut impl Rng) -> Vec<f32> {
    let n = len_for(0.12, sr) + (4.0 * k.clap_spread_s * sr) as usize;
    let nz = noise(rng, n);
    let mut out: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            let mut env = 0.0f32;
            for b in 0..4 {
                let tb = t - b as f32 * k.clap_spread_s;
                if tb >= 0.0 {
                    env = env.max(if b < 3 {
                        (-tb / 0.004).exp()
                    } else {
                        (-tb / 0.1).exp()
                    });
                }
            }
            nz[i] * env
        })
        .collect();
    Biquad::bandpass(k.clap_hz, 1.2, sr).run(&mut out);
    out.iter_mut().for_each(|v| *v *= 2.0);
    out
}

/// Hi-hat: high-passed noise, or a metallic cluster of six square waves (808 style).
pub fn hat(k: &Kit, sr: f32, open: bool, rng: &mut impl Rng) -> Vec<f32> {
    let tau = if open {
        k.open_hat_decay_s
    } else {
        k.hat_decay_s
    };
    let n = len_for(tau, sr);
    let mut src: Vec<f32> = if k.hat_metallic {
        const RATIOS: [f32; 6] = [1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523];
        (0..n)
            .map(|i| {
                let t = i as f32 / sr;
                RATIOS
                    .iter()
                    .map(|r| {
                        if (t * 205.3 * r * 2.0).fract() < 0.5 {
                            1.0
                        } else {
                            -1.0
                        }
                    })
                    .sum::<f32>()
                    / 6.0
                    * 0.6
                    + 0.4 * rng.gen_range(-1.0..1.0f32)
            })
            .collect()
    } else {
        noise(rng, n)
    };
    let mut hp = Biquad::highpass(k.hat_hz.min(sr * 0.4), 0.7, sr);
    let mut hp2 = Biquad::highpass(k.hat_hz.min(sr * 0.4), 0.7, sr);
    for (i, v) in src.iter_mut().enumerate() {
        *v = hp2.process(hp.process(*v)) * exp_env(i, sr, tau) * 0.8;
    }
    src
}

/// Rim shot / percussion: a short high tone with a click.
pub fn rim(k: &Kit, sr: f32) -> Vec<f32> {
    let n = len_for(0.02, sr);
    (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            ((TAU * k.rim_hz * t).sin() + 0.5 * (TAU * k.rim_hz * 2.7 * t).sin())
                * exp_env(i, sr, 0.02)
                * 0.6
        })
        .collect()
}

/// 808 bass: a saturated sine at `freq` Hz lasting `dur` seconds, gliding from `from_freq`
/// (if any) over the kit's glide time.
pub fn bass808(k: &Kit, sr: f32, freq: f32, from_freq: Option<f32>, dur: f32) -> Vec<f32> {
    let n = (dur * sr) as usize;
    let release = (0.012 * sr) as usize;
    let mut phase = 0.0f32;
    let drive = k.bass_drive;
    (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            let f = match from_freq {
                Some(f0) if t < k.glide_s => f0 * (freq / f0).powf(t / k.glide_s),
                _ => freq,
            };
            phase += TAU * f / sr;
            let attack = (i as f32 / (0.004 * sr)).min(1.0);
            let rel = if i + release > n {
                (n - i) as f32 / release as f32
            } else {
                1.0
            };
            (drive * phase.sin()).tanh() / drive.tanh()
                * exp_env(i, sr, k.bass_decay_s)
                * attack
                * rel
        })
        .collect()
}

/// Melodic voice (keys, stab or pluck): additive harmonics with an exponential decay, `dur`
/// seconds long with a short release.
pub fn keys(k: &Kit, sr: f32, freq: f32, dur: f32, decay_s: f32) -> Vec<f32> {
    let n = (dur * sr) as usize;
    let release = (0.02 * sr) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / sr;
            let mut v = 0.0;
            for (h, &a) in k.keys_harmonics.iter().enumerate() {
                let f = freq * (h + 1) as f32;
                if f < sr * 0.45 {
                    v += a * (TAU * f * t).sin();
                }
            }
            let attack = (i as f32 / (0.003 * sr)).min(1.0);
            let rel = if i + release > n {
                (n - i) as f32 / release as f32
            } else {
                1.0
            };
            v * 0.5 * exp_env(i, sr, decay_s) * attack * rel
        })
        .collect()
}

/// Equal-tempered frequency of a MIDI note.
pub fn midi_hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}
