//! Writing mono audio: MP3 through LAME (constant bit rate, sample rate kept) or WAV through
//! hound (16-bit PCM or 32-bit float). The format follows the file extension. Files are written
//! to a temporary name and renamed into place ([`crate::atomic`]): a killed process never
//! leaves half a file.

use std::io::Cursor;
use std::path::Path;

use mp3lame_encoder::{Bitrate, Builder, FlushGap, MonoPcm};

use crate::atomic::write_atomically_unsynced;
use crate::error::{DspError, Result};

/// Output container chosen from a path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    Mp3,
    Wav,
}

impl AudioFormat {
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "mp3" => Ok(AudioFormat::Mp3),
            "wav" => Ok(AudioFormat::Wav),
            _ => Err(DspError::UnsupportedOutput {
                path: path.to_path_buf(),
                extension: ext,
            }),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Wav => "wav",
        }
    }
}

/// Encoder settings. Defaults: MP3 at 192 kb/s CBR (160 kb/s at sample rates below 32 kHz,
/// see [`max_mp3_kbps`]), WAV as 16-bit PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// MP3 bit rate in kb/s (one of LAME's CBR rates: 8..=320), capped at the highest rate
    /// of the sample rate's MPEG version ([`max_mp3_kbps`]).
    pub mp3_kbps: u32,
    /// Write WAV as 32-bit float instead of 16-bit PCM.
    pub wav_float: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            mp3_kbps: 192,
            wav_float: false,
        }
    }
}

/// Encode `samples` (mono, nominally in [-1, 1]; values beyond are clipped for PCM) at
/// `sample_rate` Hz and write them to `path`, format by extension.
pub fn write_audio(
    path: &Path,
    samples: &[f32],
    sample_rate: u32,
    opts: &EncodeOptions,
) -> Result<()> {
    let format = AudioFormat::from_path(path)?;
    // LAME aborts the process on a NaN (an assertion in its psychoacoustic model).
    let bad = samples.iter().filter(|v| !v.is_finite()).count();
    let bytes = if bad > 0 {
        Err(format!(
            "{bad} of {} samples are not finite numbers",
            samples.len()
        ))
    } else {
        match format {
            AudioFormat::Mp3 => encode_mp3(samples, sample_rate, opts.mp3_kbps),
            AudioFormat::Wav => encode_wav(samples, sample_rate, opts.wav_float),
        }
    }
    .map_err(|detail| DspError::Encode {
        path: path.to_path_buf(),
        detail,
    })?;
    write_atomically_unsynced(path, &bytes)
}

/// WAV bytes (16-bit PCM or 32-bit float, mono).
pub fn encode_wav(
    samples: &[f32],
    sample_rate: u32,
    float: bool,
) -> std::result::Result<Vec<u8>, String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut cursor = Cursor::new(Vec::with_capacity(samples.len() * 4 + 64));
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec).map_err(|e| e.to_string())?;
        for &s in samples {
            if float {
                w.write_sample(s).map_err(|e| e.to_string())?;
            } else {
                w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
                    .map_err(|e| e.to_string())?;
            }
        }
        w.finalize().map_err(|e| e.to_string())?;
    }
    Ok(cursor.into_inner())
}

/// LAME's constant bit rates (kb/s) and the encoder's names for them.
const RATES: [(u32, Bitrate); 16] = [
    (8, Bitrate::Kbps8),
    (16, Bitrate::Kbps16),
    (24, Bitrate::Kbps24),
    (32, Bitrate::Kbps32),
    (40, Bitrate::Kbps40),
    (48, Bitrate::Kbps48),
    (64, Bitrate::Kbps64),
    (80, Bitrate::Kbps80),
    (96, Bitrate::Kbps96),
    (112, Bitrate::Kbps112),
    (128, Bitrate::Kbps128),
    (160, Bitrate::Kbps160),
    (192, Bitrate::Kbps192),
    (224, Bitrate::Kbps224),
    (256, Bitrate::Kbps256),
    (320, Bitrate::Kbps320),
];

/// `kbps` if it is one of LAME's constant bit rates (a command-line parser).
pub fn parse_mp3_kbps(s: &str) -> std::result::Result<u32, String> {
    s.parse::<u32>()
        .ok()
        .filter(|&k| bitrate(k).is_ok())
        .ok_or_else(|| {
            let rates: Vec<String> = RATES.iter().map(|r| r.0.to_string()).collect();
            format!(
                "`{s}` is not one of LAME's bit rates ({})",
                rates.join(", ")
            )
        })
}

fn bitrate(kbps: u32) -> std::result::Result<Bitrate, String> {
    RATES
        .iter()
        .find(|r| r.0 == kbps)
        .map(|r| r.1)
        .ok_or_else(|| format!("unsupported MP3 bit rate {kbps} kb/s"))
}

/// The highest MP3 bit rate at `sample_rate`: 320 kb/s for MPEG-1 rates (32, 44.1, 48 kHz),
/// 160 kb/s for the MPEG-2 and 2.5 rates below them (22.05 kHz, beatgen's own rate, among
/// them).
pub fn max_mp3_kbps(sample_rate: u32) -> u32 {
    if sample_rate >= 32_000 {
        320
    } else {
        160
    }
}

/// MP3 bytes: mono, constant bit rate (`kbps`, capped at [`max_mp3_kbps`]), at `sample_rate`
/// (which must be an MPEG rate, e.g. 22050, 44100 or 48000 Hz). LAME delays the audio by 1105
/// samples and pads the last frame; both are recorded in the stream's LAME (Info) tag, so
/// decoders that read it (symphonia, beatgen's own decoder, with gapless decoding; libsndfile
/// 1.2 through mpg123, which librosa uses) return exactly `samples`. A decoder that ignores
/// the tag plays the silent Info frame (576 samples below 32 kHz, 1152 from 32 kHz) and the
/// delay first.
pub fn encode_mp3(
    samples: &[f32],
    sample_rate: u32,
    kbps: u32,
) -> std::result::Result<Vec<u8>, String> {
    let mut b = Builder::new().ok_or("cannot create the LAME encoder")?;
    b.set_num_channels(1).map_err(|e| format!("{e:?}"))?;
    b.set_sample_rate(sample_rate)
        .map_err(|e| format!("sample rate {sample_rate} Hz: {e:?}"))?;
    b.set_brate(bitrate(kbps.min(max_mp3_kbps(sample_rate)))?)
        .map_err(|e| format!("{e:?}"))?;
    // q = 3, LAME's default: on generated loops it is as faithful as q = 2 (`lame -h`) and
    // encodes in half the time (bench/mp3_quality.py).
    b.set_quality(mp3lame_encoder::Quality::VeryNice)
        .map_err(|e| format!("{e:?}"))?;
    let mut enc = b
        .build()
        .map_err(|e| format!("LAME rejected the settings ({e:?})"))?;
    // LAME's float input expects [-1, 1]; clip so that no sample wraps.
    let clipped: Vec<f32> = samples.iter().map(|s| s.clamp(-1.0, 1.0)).collect();
    let mut out =
        Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(samples.len()) + 7200);
    for chunk in clipped.chunks(1 << 16) {
        out.reserve(mp3lame_encoder::max_required_buffer_size(chunk.len()));
        enc.encode_to_vec(MonoPcm(chunk), &mut out)
            .map_err(|e| format!("{e:?}"))?;
    }
    out.reserve(7200);
    // The whole last frame, padded with zeros (a "no gap" flush keeps its samples back for a
    // next file, and they were lost).
    enc.flush_to_vec::<FlushGap>(&mut out)
        .map_err(|e| format!("{e:?}"))?;
    // LAME began the stream with an empty Info frame; now that the length is known, it is
    // overwritten with the real tag (frame count, encoder delay and padding), which gapless
    // decoders use to trim the output to exactly the input's samples.
    let mut tag = Vec::with_capacity(enc.lame_tag_size());
    let n = enc
        .lame_tag_encode_to_vec(&mut tag)
        .ok_or("LAME wrote no Info tag")?
        .get();
    if n > out.len() {
        return Err(format!(
            "LAME's Info tag ({n} bytes) is longer than the stream"
        ));
    }
    out[..n].copy_from_slice(&tag[..n]);
    Ok(out)
}

#[cfg(test)]
mod mp3_tests {
    /// A NaN or an infinity among the samples is an error naming the file, and nothing is
    /// written (LAME would abort the whole process on it).
    #[test]
    fn samples_that_are_not_numbers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bad) in [("nan.mp3", f32::NAN), ("inf.wav", f32::INFINITY)] {
            let mut x = vec![0.1f32; 4410];
            x[100] = bad;
            let path = dir.path().join(name);
            let err = crate::write_audio(&path, &x, 22050, &Default::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(name) && err.contains("1 of 4410 samples are not finite"),
                "{err}"
            );
            assert!(!path.exists());
        }
    }

    /// The bit rate written is the one asked for, capped at the MPEG version's highest: the
    /// file's size is the bit rate times its length (CBR), within a frame or two.
    #[test]
    fn bit_rate_is_capped_at_the_mpeg_versions_highest() {
        for (sr, kbps, expect) in [
            (22050u32, 192u32, 160u32),
            (22050, 64, 64),
            (44100, 192, 192),
        ] {
            let x: Vec<f32> = (0..sr * 4).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
            let bytes = super::encode_mp3(&x, sr, kbps).unwrap();
            let got = bytes.len() as f64 * 8.0 / 4.0 / 1000.0;
            assert!(
                (got - expect as f64).abs() < 0.03 * expect as f64,
                "{sr} Hz at {kbps}: {got:.1} kb/s, expected {expect}"
            );
        }
    }

    /// An MP3 decodes to exactly the samples encoded (the LAME tag's delay and padding trimmed
    /// by the gapless decoder), at both rates and two bit rates, for a length that is not a
    /// whole number of frames: impulses near the start and the end come back at their sample
    /// and at their level, and the length is the input's.
    #[test]
    fn mp3_decodes_to_exactly_the_encoded_samples() {
        for (sr, kbps) in [(22050u32, 64u32), (44100, 64), (22050, 192), (44100, 192)] {
            let n = sr as usize + 123;
            let mut x = vec![0.0f32; n];
            let (first, last) = (700, n - 900);
            x[first] = 0.9;
            x[last] = -0.9;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("impulse.mp3");
            let opts = crate::EncodeOptions {
                mp3_kbps: kbps,
                ..Default::default()
            };
            crate::write_audio(&path, &x, sr, &opts).unwrap();
            let d = crate::decode_file(
                &path,
                &crate::DecodeOptions {
                    sample_rate: sr,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(d.samples.len(), n, "{sr} Hz {kbps} kb/s: length");
            let peak = |range: std::ops::Range<usize>| {
                range
                    .max_by(|&a, &b| d.samples[a].abs().total_cmp(&d.samples[b].abs()))
                    .unwrap()
            };
            assert_eq!(peak(0..n / 2), first, "{sr} Hz {kbps} kb/s: first impulse");
            assert_eq!(peak(n / 2..n), last, "{sr} Hz {kbps} kb/s: last impulse");
            assert!(
                d.samples[last] < -0.5,
                "{sr} Hz {kbps} kb/s: {}",
                d.samples[last]
            );
        }
    }
}
