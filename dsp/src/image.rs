//! PNG output: spectrogram images with a perceptual colour map, and plain RGB images.
//!
//! A spectrogram image has one pixel per frame (x, time left to right) and one per bin
//! (y, low frequencies at the bottom), coloured by the `magma` map from `lo_db` (black) to
//! `hi_db` (pale yellow).

use std::path::Path;

use crate::atomic::write_atomically;
use crate::error::{DspError, Result};
use crate::stft::Spectrogram;

/// The matplotlib `magma` colour map, as a degree-6 polynomial fit (max error about 1/255).
pub fn magma(t: f32) -> [u8; 3] {
    const C: [[f32; 3]; 7] = [
        [-0.002_136_485, -0.000_749_655, -0.005_386_128],
        [0.251_660_54, 0.677_523_24, 2.494_026_6],
        [8.353_717, -3.577_719_5, 0.314_467_9],
        [-27.668_733, 14.264_731, -13.649_213],
        [52.176_14, -27.943_606, 12.944_169],
        [-50.768_524, 29.046_583, 4.234_153],
        [18.655_705, -11.489_774, -5.601_961_5],
    ];
    let t = t.clamp(0.0, 1.0);
    let mut rgb = [0u8; 3];
    for (ch, out) in rgb.iter_mut().enumerate() {
        let mut v = C[6][ch];
        for i in (0..6).rev() {
            v = C[i][ch] + t * v;
        }
        *out = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    rgb
}

/// RGB pixels of a dB spectrogram (see the module docs); returns (width, height, pixels).
pub fn spectrogram_rgb(db: &Spectrogram, lo_db: f32, hi_db: f32) -> (u32, u32, Vec<u8>) {
    let (w, h) = (db.frames, db.bins);
    let mut px = vec![0u8; w * h * 3];
    let span = (hi_db - lo_db).max(1e-6);
    for y in 0..h {
        let k = h - 1 - y;
        for t in 0..w {
            let c = magma((db.get(t, k) - lo_db) / span);
            px[(y * w + t) * 3..(y * w + t) * 3 + 3].copy_from_slice(&c);
        }
    }
    (w as u32, h as u32, px)
}

/// Write a dB spectrogram as a PNG.
pub fn write_spectrogram_png(path: &Path, db: &Spectrogram, lo_db: f32, hi_db: f32) -> Result<()> {
    let (w, h, px) = spectrogram_rgb(db, lo_db, hi_db);
    write_rgb_png(path, w, h, &px)
}

/// Encode 8-bit RGB pixels (row-major, top row first) as PNG bytes.
pub fn encode_rgb_png(width: u32, height: u32, rgb: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(bytes)
}

/// Write 8-bit RGB pixels as a PNG file (atomically).
pub fn write_rgb_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    let bytes = encode_rgb_png(width, height, rgb).map_err(|detail| DspError::Encode {
        path: path.to_path_buf(),
        detail,
    })?;
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magma_endpoints_and_monotone_lightness() {
        // matplotlib: magma(0) = (0, 0, 4)/255, magma(1) = (252, 253, 191)/255.
        let a = magma(0.0);
        let b = magma(1.0);
        assert!(a.iter().all(|&c| c <= 4), "{a:?}");
        assert!(
            b[0] >= 248 && b[1] >= 246 && (180..=195).contains(&b[2]),
            "{b:?}"
        );
        let luma = |c: [u8; 3]| 0.2126 * c[0] as f32 + 0.7152 * c[1] as f32 + 0.0722 * c[2] as f32;
        let mut last = -1.0;
        for i in 0..=50 {
            let l = luma(magma(i as f32 / 50.0));
            assert!(l >= last - 0.5, "lightness falls at {i}");
            last = l;
        }
    }

    #[test]
    fn image_orientation_low_bins_at_bottom() {
        let mut db = Spectrogram::zeros(3, 4);
        db.data.fill(-80.0);
        *db.frame_mut(2).last_mut().unwrap() = 0.0; // last frame, highest bin: top right
        db.frame_mut(0)[0] = 0.0; // first frame, lowest bin: bottom left
        let (w, h, px) = spectrogram_rgb(&db, -80.0, 0.0);
        assert_eq!((w, h), (3, 4));
        let at = |x: usize, y: usize| &px[(y * 3 + x) * 3..(y * 3 + x) * 3 + 3];
        assert!(at(2, 0)[0] > 200 && at(0, 3)[0] > 200);
        assert!(at(0, 0)[0] < 10 && at(2, 3)[0] < 10);
    }
}
