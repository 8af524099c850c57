//! Frequency-band projections of dB spectrograms: linear STFT bins onto mel-spaced triangular
//! bands (the model's input), and back.
//!
//! - Mel scale: Slaney's (librosa's default, `htk=False`): linear below 1 kHz (200/3 Hz per
//!   mel), logarithmic above. `n` bands have `n + 2` edges equally spaced in mel from 0 Hz to
//!   the Nyquist frequency; band `b` is the triangle rising from edge `b` to `b + 1` and
//!   falling to `b + 2` (height 1).
//! - Forward: a band's value is the triangle-weighted *mean* of the dB values of its bins, so
//!   a flat spectrum at -20 dB gives -20 dB in every band.
//! - Inverse: a bin's value is the triangle-weighted mean of the bands covering it (bins that no
//!   triangle reaches take the nearest band). Forward then inverse is a smoothing in frequency;
//!   inverse then forward returns the bands within a fraction of a dB on smooth spectra.
//! - `identity(bins)` keeps the linear STFT bins (`--bands 513`).

use crate::stft::Spectrogram;

/// Slaney mel of a frequency in Hz.
pub fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let logstep = (6.4f64).ln() / 27.0;
    if f < 1000.0 {
        f / f_sp
    } else {
        15.0 + (f / 1000.0).ln() / logstep
    }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let logstep = (6.4f64).ln() / 27.0;
    if m < 15.0 {
        m * f_sp
    } else {
        1000.0 * ((m - 15.0) * logstep).exp()
    }
}

/// How a band's level is formed from the dB levels of its bins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandAverage {
    /// The triangle-weighted mean of the bins' power, in dB (a log-mel spectrogram as librosa
    /// makes it): a band holds the power of its bins, so a tone keeps its level.
    #[default]
    Power,
    /// The triangle-weighted mean of the bins' dB levels (beatgen's first representation): a
    /// geometric mean of power, which reads a tone among quieter bins several dB low.
    Db,
}

impl std::str::FromStr for BandAverage {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "power" => Ok(BandAverage::Power),
            "db" => Ok(BandAverage::Db),
            other => Err(format!("unknown band average {other:?} (power or db)")),
        }
    }
}

impl std::fmt::Display for BandAverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BandAverage::Power => "power",
            BandAverage::Db => "db",
        })
    }
}

/// A sparse band x bin weight matrix and its inverse.
#[derive(Debug, Clone, PartialEq)]
pub struct BandProjection {
    pub n_bands: usize,
    pub n_bins: usize,
    /// Per band: first bin and normalised weights (summing to 1).
    forward: Vec<(usize, Vec<f32>)>,
    /// Per bin: (band, weight) pairs, normalised to sum to 1.
    inverse: Vec<Vec<(usize, f32)>>,
    /// Centre frequency of each band (Hz).
    centres_hz: Vec<f32>,
}

impl BandProjection {
    /// Mel bands for an STFT of `n_fft` at `sample_rate` Hz. With `n_bands >= n_fft/2 + 1`
    /// this is the identity.
    pub fn mel(n_bands: usize, n_fft: usize, sample_rate: u32) -> Self {
        let n_bins = n_fft / 2 + 1;
        if n_bands >= n_bins {
            return Self::identity(n_bins, sample_rate as f64 / n_fft as f64);
        }
        let nyq = sample_rate as f64 / 2.0;
        let (m0, m1) = (hz_to_mel(0.0), hz_to_mel(nyq));
        let edges: Vec<f64> = (0..n_bands + 2)
            .map(|i| mel_to_hz(m0 + (m1 - m0) * i as f64 / (n_bands + 1) as f64))
            .collect();
        let bin_hz = |k: usize| k as f64 * sample_rate as f64 / n_fft as f64;
        let mut tri = vec![vec![0.0f32; n_bins]; n_bands];
        for (b, row) in tri.iter_mut().enumerate() {
            let (lo, mid, hi) = (edges[b], edges[b + 1], edges[b + 2]);
            for (k, w) in row.iter_mut().enumerate() {
                let f = bin_hz(k);
                *w = ((f - lo) / (mid - lo)).min((hi - f) / (hi - mid)).max(0.0) as f32;
            }
            // A band narrower than the bin spacing still gets its nearest bin.
            if row.iter().all(|&w| w == 0.0) {
                let k =
                    ((mid * n_fft as f64 / sample_rate as f64).round() as usize).min(n_bins - 1);
                row[k] = 1.0;
            }
        }
        Self::from_triangles(&tri, &edges[1..=n_bands], sample_rate as f64 / n_fft as f64)
    }

    fn from_triangles(tri: &[Vec<f32>], centres_hz: &[f64], bin_hz: f64) -> Self {
        let (n_bands, n_bins) = (tri.len(), tri[0].len());
        let forward = tri
            .iter()
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                let sum: f32 = row[first..=last].iter().sum();
                (first, row[first..=last].iter().map(|w| w / sum).collect())
            })
            .collect();
        let inverse = (0..n_bins)
            .map(|k| {
                let pairs: Vec<(usize, f32)> = (0..n_bands)
                    .filter(|&b| tri[b][k] > 0.0)
                    .map(|b| (b, tri[b][k]))
                    .collect();
                let sum: f32 = pairs.iter().map(|p| p.1).sum();
                if sum > 0.0 {
                    pairs.into_iter().map(|(b, w)| (b, w / sum)).collect()
                } else {
                    let f = k as f64 * bin_hz;
                    let b = (0..n_bands)
                        .min_by(|&x, &y| {
                            (centres_hz[x] - f)
                                .abs()
                                .total_cmp(&(centres_hz[y] - f).abs())
                        })
                        .unwrap_or(0);
                    vec![(b, 1.0)]
                }
            })
            .collect();
        BandProjection {
            n_bands,
            n_bins,
            forward,
            inverse,
            centres_hz: centres_hz.iter().map(|&f| f as f32).collect(),
        }
    }

    /// The identity projection on `n_bins` bins `bin_hz` apart.
    pub fn identity(n_bins: usize, bin_hz: f64) -> Self {
        BandProjection {
            n_bands: n_bins,
            n_bins,
            forward: (0..n_bins).map(|k| (k, vec![1.0])).collect(),
            inverse: (0..n_bins).map(|k| vec![(k, 1.0)]).collect(),
            centres_hz: (0..n_bins).map(|k| (k as f64 * bin_hz) as f32).collect(),
        }
    }

    /// The centre frequency of each band (Hz): the peak of its triangle, or the bin's own
    /// frequency for the identity.
    pub fn centres_hz(&self) -> &[f32] {
        &self.centres_hz
    }

    /// Bin dB levels (frames x n_bins) to band dB levels (frames x n_bands), averaged as
    /// `avg` says.
    pub fn forward_with(&self, db: &Spectrogram, avg: BandAverage) -> Spectrogram {
        match avg {
            BandAverage::Db => self.forward(db),
            BandAverage::Power => {
                let mut power = db.clone();
                power
                    .data
                    .iter_mut()
                    .for_each(|v| *v = 10f32.powf(0.1 * *v));
                self.forward_power(&power)
            }
        }
    }

    /// Bin powers (frames x n_bins, linear, relative to the 0 dB reference) to band dB levels
    /// (frames x n_bands): `10 log10` of the triangle-weighted mean power
    /// ([`BandAverage::Power`] without going through dB per bin).
    pub fn forward_power(&self, power: &Spectrogram) -> Spectrogram {
        self.weighted_means(power, |mean| 10.0 * mean.max(1e-30).log10())
    }

    /// Bins (frames x n_bins) to bands (frames x n_bands): the weighted mean of the bins' dB
    /// levels ([`BandAverage::Db`]).
    pub fn forward(&self, db: &Spectrogram) -> Spectrogram {
        self.weighted_means(db, |mean| mean)
    }

    /// Each band's triangle-weighted mean of `bins` (frames x n_bins), through `then`.
    fn weighted_means(&self, bins: &Spectrogram, then: impl Fn(f32) -> f32) -> Spectrogram {
        assert_eq!(
            bins.bins, self.n_bins,
            "band projection expects {} bins",
            self.n_bins
        );
        // Eight frames at a time, bin-major (`columns[k][l]`: bin `k` of frame `l`), so that
        // one band's sums for the eight frames are one vector operation per weight. Each frame's
        // sum still adds its products in bin order from -0.0 (as `Iterator::sum` does), so the
        // values are those of one frame at a time, bit for bit.
        const LANES: usize = 8;
        let mut out = Spectrogram::zeros(bins.frames, self.n_bands);
        let mut columns = vec![[0.0f32; LANES]; self.n_bins];
        for t0 in (0..bins.frames).step_by(LANES) {
            let lanes = LANES.min(bins.frames - t0);
            for l in 0..lanes {
                for (c, &v) in columns.iter_mut().zip(bins.frame(t0 + l)) {
                    c[l] = v;
                }
            }
            for (b, (first, w)) in self.forward.iter().enumerate() {
                let mut acc = [-0.0f32; LANES];
                for (&wk, c) in w.iter().zip(&columns[*first..]) {
                    for (a, &v) in acc.iter_mut().zip(c) {
                        *a += wk * v;
                    }
                }
                for (l, &a) in acc[..lanes].iter().enumerate() {
                    out.data[(t0 + l) * self.n_bands + b] = then(a);
                }
            }
        }
        out
    }

    /// Bands (frames x n_bands) back to bins (frames x n_bins), interpolating dB levels.
    pub fn inverse(&self, bands: &Spectrogram) -> Spectrogram {
        assert_eq!(
            bands.bins, self.n_bands,
            "inverse band projection expects {} bands",
            self.n_bands
        );
        let mut out = Spectrogram::zeros(bands.frames, self.n_bins);
        for t in 0..bands.frames {
            let row = bands.frame(t);
            for (o, pairs) in out.frame_mut(t).iter_mut().zip(&self.inverse) {
                *o = pairs.iter().map(|&(b, w)| w * row[b]).sum();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat spectrum reads the same level either way; a full-scale bin among bins at -80 dB
    /// reads, in power, the weighted mean power `w + (1 - w) 1e-8` of its band, with the bin's
    /// weight `w` read back from the dB mean `-80 (1 - w)`.
    #[test]
    fn power_average_keeps_a_tone_level() {
        let mel = BandProjection::mel(32, 1024, 22050);
        let mut flat = Spectrogram::zeros(1, 513);
        flat.data.iter_mut().for_each(|v| *v = -20.0);
        for avg in [BandAverage::Power, BandAverage::Db] {
            let b = mel.forward_with(&flat, avg);
            assert!(b.data.iter().all(|v| (v + 20.0).abs() < 1e-3), "{avg}");
        }
        let mut tone = Spectrogram::zeros(1, 513);
        tone.data.iter_mut().for_each(|v| *v = -80.0);
        tone.data[100] = 0.0;
        let (db, power) = (
            mel.forward_with(&tone, BandAverage::Db),
            mel.forward_with(&tone, BandAverage::Power),
        );
        let mut seen = 0;
        for (d, p) in db.data.iter().zip(&power.data) {
            let w = (1.0 + d / 80.0).clamp(0.0, 1.0);
            if w < 1e-3 {
                // The weight read back from a dB level is exact to about 1e-7 only.
                assert!(*p < -29.0, "{p} dB for a band of weight {w}");
                continue;
            }
            let expect = 10.0 * (w + (1.0 - w) * 1e-8).log10();
            assert!((p - expect).abs() < 1e-3, "{p} vs {expect} (weight {w})");
            if w > 0.01 {
                seen += 1;
                assert!(
                    p - d > 10.0,
                    "power {p} dB should be far above the dB mean {d}"
                );
            }
        }
        assert!(seen >= 1);
    }

    /// Eight frames at a time give each frame's band means bit for bit as one frame at a time
    /// (the triangle-weighted sum in bin order), for 1 to 19 frames (whole and partial groups
    /// of eight) and for the identity.
    #[test]
    fn bands_of_eight_frames_are_those_of_one_frame_at_a_time() {
        let mut rng = crate::rng::SplitMix64::new(11);
        for p in [
            BandProjection::mel(128, 1024, 22050),
            BandProjection::mel(40, 512, 16000),
            BandProjection::identity(65, 100.0),
        ] {
            for frames in [1, 7, 8, 9, 19] {
                let mut db = Spectrogram::zeros(frames, p.n_bins);
                db.data
                    .iter_mut()
                    .for_each(|v| *v = -80.0 + 86.0 * rng.next_f64() as f32);
                let got = p.forward(&db);
                for t in 0..frames {
                    for (b, (first, w)) in p.forward.iter().enumerate() {
                        let want: f32 = w
                            .iter()
                            .zip(&db.frame(t)[*first..])
                            .map(|(a, x)| a * x)
                            .sum();
                        assert_eq!(
                            got.frame(t)[b].to_bits(),
                            want.to_bits(),
                            "frame {t} band {b}"
                        );
                    }
                }
            }
        }
    }

    /// Bands straight from bin powers are the bands of the same bins' dB levels, and a
    /// magnitude spectrum's floored powers are its floored dB levels.
    #[test]
    fn power_bands_equal_the_bands_of_db_levels() {
        let mel = BandProjection::mel(64, 1024, 22050);
        let mut rng = crate::rng::SplitMix64::new(5);
        let reference = crate::spectrogram::db_reference(crate::StftConfig::default());
        let mut mag = Spectrogram::zeros(3, 513);
        // Levels from -120 dB (under the floor) to +6 dB.
        mag.data.iter_mut().for_each(|m| {
            *m = reference * 10f32.powf((-120.0 + 126.0 * rng.next_f64() as f32) / 20.0)
        });
        let db = crate::spectrogram::magnitude_to_db(&mag, reference);
        let mut power = mag.clone();
        crate::spectrogram::magnitude_to_power_in_place(&mut power, reference);
        for (d, p) in db.data.iter().zip(&power.data) {
            assert!((10.0 * p.log10() - d).abs() < 1e-3, "{p} vs {d} dB");
        }
        let (a, b) = (
            mel.forward_power(&power),
            mel.forward_with(&db, BandAverage::Power),
        );
        for (x, y) in a.data.iter().zip(&b.data) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y} dB");
        }
        assert!(a.data.iter().all(|&v| v > -80.001 && v < 6.0));
    }

    #[test]
    fn mel_scale_matches_librosa_values() {
        // librosa 0.11: hz_to_mel(1000) = 15, hz_to_mel(4000) = 35.16376, mel_to_hz(40) = 5577.80
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-9);
        assert!((hz_to_mel(4000.0) - 35.163_760).abs() < 1e-4);
        assert!((mel_to_hz(40.0) - 5_577.800).abs() < 0.01);
        for f in [10.0, 500.0, 999.0, 1001.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-6);
        }
    }

    #[test]
    fn flat_spectra_stay_flat_and_round_trip() {
        let p = BandProjection::mel(128, 1024, 22050);
        assert_eq!((p.n_bands, p.n_bins), (128, 513));
        let mut db = Spectrogram::zeros(3, 513);
        db.data.fill(-20.0);
        let bands = p.forward(&db);
        assert!(bands.data.iter().all(|v| (v + 20.0).abs() < 1e-4));
        let back = p.inverse(&bands);
        assert!(back.data.iter().all(|v| (v + 20.0).abs() < 1e-4));
        // A smooth (linear in bin) spectrum: inverse(forward(x)) stays close.
        let mut ramp = Spectrogram::zeros(1, 513);
        ramp.data
            .iter_mut()
            .enumerate()
            .for_each(|(k, v)| *v = -80.0 + 60.0 * k as f32 / 512.0);
        let back = p.inverse(&p.forward(&ramp));
        let err = ramp
            .data
            .iter()
            .zip(&back.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 2.0, "{err}");
    }

    #[test]
    fn a_tone_lands_in_the_band_around_its_frequency() {
        let p = BandProjection::mel(128, 1024, 22050);
        let mut db = Spectrogram::zeros(1, 513);
        db.data.fill(-80.0);
        db.data[93] = 0.0; // 2003 Hz
        let bands = p.forward(&db);
        let b = bands
            .data
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        let centre = mel_to_hz(hz_to_mel(0.0) + (hz_to_mel(11025.0)) * (b + 1) as f64 / 129.0);
        assert!(
            (centre - 2003.0).abs() < 120.0,
            "band {b} centred at {centre} Hz"
        );
        assert_eq!(
            BandProjection::mel(513, 1024, 22050),
            BandProjection::identity(513, 22050.0 / 1024.0)
        );
        // librosa.filters.mel(sr=22050, n_fft=1024, n_mels=128, norm=None)[0, :4] is
        // [0, 0.8348277, 0.33034456, 0]; normalised to sum 1 that is bins 1 and 2 below.
        let (first, w) = &p.forward[0];
        assert_eq!((*first, w.len()), (1, 2));
        assert!(
            (w[0] - 0.8348277 / 1.165_172_2).abs() < 1e-5
                && (w[1] - 0.33034456 / 1.165_172_2).abs() < 1e-5,
            "{w:?}"
        );
    }
}
