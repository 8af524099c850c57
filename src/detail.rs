//! Spectral detail: the fine structure inside the bands, restored when band levels become STFT
//! bins for rendering.
//!
//! A band level is the mean of the bins under its triangle; spreading it back
//! ([`BandProjection::inverse`]) gives every bin the level interpolated between its bands' levels:
//! a spectrum smooth across the bins of a band, where a real one has peaks and dips inside each
//! band (partials of a tone, modes of a drum, the holes a codec leaves). A smooth spectrum is a
//! flat one: rendered through the smooth inverse, held-out real clips' own bands are about twice
//! as flat as the clips (spectral flatness), and `eval`'s distance from the clips' features
//! (bands+GL) is two to three times what it is with the detail.
//!
//! The detail is a linear map from a frame's band levels (dB) to each bin's residual, the bin's
//! dB level minus the smooth inverse's: `r = [x, 1] W` with `W` of `(bands + 1) x bins` (the
//! last row a constant per bin), fitted by ridge regression on STFT frames of the training songs
//! ([`DetailFit`]; [`RIDGE_DB2`] dB² per frame on the diagonal). The band levels say which sounds
//! a frame holds (a kick, a hat, a chord), and the map learns where their energy lies inside
//! each band. A residual with peaks and dips moves a band's mean power (the peaks gain more power
//! than the dips lose), so the detailed spectrum is renormalised: [`RENORM_PASSES`] times, the
//! bands of the detailed bins are measured and their difference from the requested levels is
//! spread back through the smooth inverse, so that what is rendered has the band levels it was
//! asked for (within about 0.1 dB where they are above the floor, tested).
//!
//! Levels are dB relative to the STFT's 0 dB reference (see `dsp::spectrogram`), as the bands
//! the model is trained on.

use anyhow::Context;
use dsp::bands::{BandAverage, BandProjection};
use dsp::spectrogram::FLOOR_DB;
use dsp::Spectrogram;
use ndarray::{s, Array2, ArrayView2};

/// Ridge penalty: `RIDGE_DB2` times the number of frames on the diagonal of the normal
/// equations, in dB², for the band weights (not the constant). Band levels are tens of dB, so
/// it only keeps the solve well posed.
pub const RIDGE_DB2: f64 = 1.0;

/// Passes that bring the detailed spectrum's bands back to the requested levels.
pub const RENORM_PASSES: usize = 3;

/// The fitted map (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralDetail {
    /// `(bands + 1) x bins`: row `b < bands` is band `b`'s weight on each bin's residual, the
    /// last row the constant.
    pub weights: Array2<f32>,
}

impl SpectralDetail {
    pub fn bands(&self) -> usize {
        self.weights.nrows() - 1
    }

    pub fn bins(&self) -> usize {
        self.weights.ncols()
    }

    /// Each bin's residual (frames x bins, dB) for band levels `bands` (frames x bands, dB).
    pub fn residual(&self, bands: &Spectrogram) -> Spectrogram {
        let nb = self.bands();
        assert_eq!(bands.bins, nb, "spectral detail expects {nb} bands");
        let x = ArrayView2::from_shape((bands.frames, nb), &bands.data).expect("frames x bands");
        let mut r = x.dot(&self.weights.slice(s![..nb, ..]));
        r += &self.weights.row(nb);
        Spectrogram {
            frames: bands.frames,
            bins: self.bins(),
            data: r.into_raw_vec_and_offset().0,
        }
    }
}

/// How reports name whether rendering adds a model's spectral detail.
pub fn describe(present: bool) -> &'static str {
    if present {
        "on"
    } else {
        "off (the model has none)"
    }
}

/// Bin dB levels (frames x bins) of band dB levels: the smooth inverse of `projection`, and
/// with `detail` its residual, renormalised so that the bins' bands (averaged as `average`,
/// bins clamped to the rendering's range `FLOOR_DB..=6`) match `bands` (see the module docs).
pub fn bin_db(
    projection: &BandProjection,
    detail: Option<&SpectralDetail>,
    average: BandAverage,
    bands: &Spectrogram,
) -> Spectrogram {
    let mut db = projection.inverse(bands);
    let Some(detail) = detail else {
        return db;
    };
    let r = detail.residual(bands);
    db.data.iter_mut().zip(&r.data).for_each(|(v, r)| *v += r);
    let mut clamped = db.clone();
    for _ in 0..RENORM_PASSES {
        clamped
            .data
            .iter_mut()
            .zip(&db.data)
            .for_each(|(c, &v)| *c = v.clamp(FLOOR_DB, 6.0));
        let mut gap = projection.forward_with(&clamped, average);
        gap.data
            .iter_mut()
            .zip(&bands.data)
            .for_each(|(g, &want)| *g = want - *g);
        let correction = projection.inverse(&gap);
        db.data
            .iter_mut()
            .zip(&correction.data)
            .for_each(|(v, c)| *v += c);
    }
    db
}

/// Normal equations of the detail's ridge regression, accumulated over frames (in `f64`; each
/// call's products in `f32`): add songs in any order or in parallel and [`DetailFit::merge`].
#[derive(Debug, Clone)]
pub struct DetailFit {
    /// `[x, 1]^T [x, 1]`, `(bands + 1)²`.
    xtx: Array2<f64>,
    /// `[x, 1]^T r`, `(bands + 1) x bins`.
    xtr: Array2<f64>,
    frames: usize,
}

impl DetailFit {
    pub fn new(bands: usize, bins: usize) -> Self {
        DetailFit {
            xtx: Array2::zeros((bands + 1, bands + 1)),
            xtr: Array2::zeros((bands + 1, bins)),
            frames: 0,
        }
    }

    /// Frames of the same STFT as band levels (`bands`, frames x bands) and bin levels
    /// (`bins`, frames x bins), both dB; the residual is taken against `projection`'s inverse.
    pub fn add(&mut self, projection: &BandProjection, bands: &Spectrogram, bins: &Spectrogram) {
        let (nb, nk) = (self.xtx.nrows() - 1, self.xtr.ncols());
        assert_eq!(
            (bands.bins, bins.bins),
            (nb, nk),
            "bands and bins of the fit"
        );
        assert_eq!(bands.frames, bins.frames, "one band frame per bin frame");
        let n = bands.frames;
        let mut x = Array2::<f32>::ones((n, nb + 1));
        x.slice_mut(s![.., ..nb])
            .assign(&ArrayView2::from_shape((n, nb), &bands.data).expect("frames x bands"));
        let smooth = projection.inverse(bands);
        let r = Array2::from_shape_fn((n, nk), |(t, k)| bins.frame(t)[k] - smooth.frame(t)[k]);
        self.xtx += &x.t().dot(&x).mapv(f64::from);
        self.xtr += &x.t().dot(&r).mapv(f64::from);
        self.frames += n;
    }

    /// Both fits' frames together.
    pub fn merge(mut self, other: DetailFit) -> Self {
        self.xtx += &other.xtx;
        self.xtr += &other.xtr;
        self.frames += other.frames;
        self
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The ridge solution; an error without frames.
    pub fn finish(self) -> anyhow::Result<SpectralDetail> {
        anyhow::ensure!(self.frames > 0, "no frames to fit the spectral detail on");
        let mut a = self.xtx;
        let ridge = RIDGE_DB2 * self.frames as f64;
        let nb = a.nrows() - 1;
        a.diag_mut().iter_mut().take(nb).for_each(|d| *d += ridge);
        let w = cholesky_solve(a, self.xtr).context("fitting the spectral detail")?;
        Ok(SpectralDetail {
            weights: w.mapv(|v| v as f32),
        })
    }
}

/// Solve `a x = b` for a symmetric positive definite `a` (n x n) and `b` (n x m) by the
/// Cholesky factorisation `a = l l^T`; an error when `a` is not positive definite.
fn cholesky_solve(mut a: Array2<f64>, mut b: Array2<f64>) -> anyhow::Result<Array2<f64>> {
    let n = a.nrows();
    // Lower triangle of `a` becomes `l`, column by column.
    for j in 0..n {
        let d = a[[j, j]] - (0..j).map(|k| a[[j, k]] * a[[j, k]]).sum::<f64>();
        anyhow::ensure!(
            d > 0.0 && d.is_finite(),
            "the normal equations are not positive definite"
        );
        let d = d.sqrt();
        a[[j, j]] = d;
        for i in j + 1..n {
            let v = a[[i, j]] - (0..j).map(|k| a[[i, k]] * a[[j, k]]).sum::<f64>();
            a[[i, j]] = v / d;
        }
    }
    // Forward substitution `l y = b`, then back substitution `l^T x = y`, in place.
    for i in 0..n {
        for k in 0..i {
            let l = a[[i, k]];
            let (done, mut row) = b.view_mut().split_at(ndarray::Axis(0), i);
            row.row_mut(0).scaled_add(-l, &done.row(k));
        }
        let d = a[[i, i]];
        b.row_mut(i).mapv_inplace(|v| v / d);
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            let l = a[[k, i]];
            let (mut head, tail) = b.view_mut().split_at(ndarray::Axis(0), k);
            head.row_mut(i).scaled_add(-l, &tail.row(0));
        }
        let d = a[[i, i]];
        b.row_mut(i).mapv_inplace(|v| v / d);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp::rng::SplitMix64;

    /// The solve against a system built from a known solution, and a matrix that is not
    /// positive definite refused.
    #[test]
    fn cholesky_solves_a_known_system() {
        let mut rng = SplitMix64::new(7);
        let n = 6;
        let m = Array2::from_shape_fn((n, n), |_| rng.next_signed() as f64);
        let a = m.t().dot(&m) + Array2::<f64>::eye(n);
        let x = Array2::from_shape_fn((n, 3), |_| rng.next_signed() as f64);
        let b = a.dot(&x);
        let got = cholesky_solve(a, b).unwrap();
        let err = (&got - &x).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(err < 1e-10, "max error {err}");
        let not_pd = Array2::from_shape_vec((2, 2), vec![1.0, 2.0, 2.0, 1.0]).unwrap();
        assert!(cholesky_solve(not_pd, Array2::zeros((2, 1))).is_err());
    }

    /// Spectra whose bins follow a fixed pattern inside each band (alternate bins 3 to 6 dB up
    /// and down, deeper in louder frames; levels inside the rendering's range): the fit learns the pattern from the bands, the
    /// detailed inverse comes much closer to the bins than the smooth one, and its bands are
    /// those asked for.
    #[test]
    fn learns_a_pattern_inside_the_bands_and_keeps_the_band_levels() {
        let projection = BandProjection::mel(16, 256, 22050);
        let (nb, nk) = (16, 129);
        let mut rng = SplitMix64::new(3);
        let make = |rng: &mut SplitMix64, frames: usize| {
            let mut bins = Spectrogram::zeros(frames, nk);
            for t in 0..frames {
                let level = -60.0 + 30.0 * rng.next_f64() as f32;
                let tilt = 20.0 * rng.next_signed();
                let depth = 3.0 + 0.1 * (level + 60.0);
                for (k, v) in bins.frame_mut(t).iter_mut().enumerate() {
                    let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
                    *v = level + tilt * k as f32 / nk as f32 + sign * depth;
                }
            }
            let bands = projection.forward_with(&bins, BandAverage::Power);
            (bands, bins)
        };
        let mut fit = DetailFit::new(nb, nk);
        for _ in 0..4 {
            let (bands, bins) = make(&mut rng, 200);
            fit.add(&projection, &bands, &bins);
        }
        assert_eq!(fit.frames(), 800);
        let detail = fit.finish().unwrap();
        let (bands, bins) = make(&mut rng, 100);
        let rms = |a: &Spectrogram| {
            (a.data
                .iter()
                .zip(&bins.data)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum::<f64>()
                / a.data.len() as f64)
                .sqrt()
        };
        let smooth = bin_db(&projection, None, BandAverage::Power, &bands);
        let detailed = bin_db(&projection, Some(&detail), BandAverage::Power, &bands);
        let (e_smooth, e_detailed) = (rms(&smooth), rms(&detailed));
        assert!(
            e_detailed < 0.3 * e_smooth,
            "detailed {e_detailed:.2} dB against smooth {e_smooth:.2} dB"
        );
        let back = projection.forward_with(&detailed, BandAverage::Power);
        let worst = back
            .data
            .iter()
            .zip(&bands.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.1, "band levels moved by up to {worst} dB");
    }

    /// A detail that adds a pattern the bands do not ask for (alternate bins 6 dB up and down,
    /// the constant row only): alone it raises the bands' power, renormalised the bands are
    /// those requested.
    #[test]
    fn renormalisation_keeps_the_band_levels() {
        let projection = BandProjection::mel(16, 256, 22050);
        let mut weights = Array2::<f32>::zeros((17, 129));
        for (k, w) in weights.row_mut(16).iter_mut().enumerate() {
            *w = if k % 2 == 0 { 6.0 } else { -6.0 };
        }
        let detail = SpectralDetail { weights };
        let mut bands = Spectrogram::zeros(4, 16);
        for (i, v) in bands.data.iter_mut().enumerate() {
            *v = -50.0 + (i % 16) as f32 - 3.0 * (i / 16) as f32;
        }
        let worst = |db: &Spectrogram| {
            projection
                .forward_with(db, BandAverage::Power)
                .data
                .iter()
                .zip(&bands.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max)
        };
        let mut raw = projection.inverse(&bands);
        let r = detail.residual(&bands);
        raw.data.iter_mut().zip(&r.data).for_each(|(v, r)| *v += r);
        let renormalised = bin_db(&projection, Some(&detail), BandAverage::Power, &bands);
        assert!(
            worst(&raw) > 2.0,
            "raw residual moved the bands {}",
            worst(&raw)
        );
        assert!(
            worst(&renormalised) < 0.1,
            "renormalised: {}",
            worst(&renormalised)
        );
        // The pattern itself stays: neighbouring bins still differ by about 12 dB.
        let step = (renormalised.frame(0)[60] - renormalised.frame(0)[61]).abs();
        assert!(step > 10.0, "step {step}");
    }

    /// No detail is the smooth inverse, exactly.
    #[test]
    fn without_detail_the_inverse_is_unchanged() {
        let projection = BandProjection::mel(16, 256, 22050);
        let mut bands = Spectrogram::zeros(3, 16);
        bands
            .data
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = -60.0 + i as f32);
        assert_eq!(
            bin_db(&projection, None, BandAverage::Power, &bands),
            projection.inverse(&bands)
        );
    }
}
