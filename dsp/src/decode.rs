//! Decoding any supported audio file (MP3, WAV, FLAC, Ogg Vorbis, ...) through symphonia into a
//! mono `f32` signal at [`crate::SAMPLE_RATE`].
//!
//! - Channels are averaged into one (the mid signal). When the channels cancel each other in
//!   that mix (mid energy more than [`CANCEL_DB`] below the channels', e.g. a stereo file with
//!   one channel inverted) the first channel is used instead, with a warning.
//! - Damage in the middle of a stream (corrupt packets, garbage bytes) is skipped; the result
//!   says how much audio was lost. A file that ends before its header said is decoded as far as
//!   it goes, with a warning. A file with nothing decodable is an error naming the file.
//! - `offset_seconds` / `max_seconds` decode only a part: decoding stops once the part is
//!   complete, so memory stays bounded however long the file is.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, SeekMode, SeekTo};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::{MetadataOptions, MetadataRevision, StandardTagKey};
use symphonia::core::probe::Hint;
use symphonia::core::units::Time;

use crate::error::{DspError, Result};
use crate::resample::StreamResampler;

/// Mid energy this far (dB) below the mean channel energy means the channels cancel.
pub const CANCEL_DB: f64 = 30.0;

/// Consecutive failures of the container reader after which decoding stops (no hang on garbage).
const MAX_CONSECUTIVE_READ_ERRORS: usize = 64;
/// Consecutive undecodable packets after which the rest of the file is given up.
const MAX_CONSECUTIVE_DECODE_ERRORS: usize = 2000;

/// Which part of a file to decode and at what rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// Output sample rate in Hz (default [`crate::SAMPLE_RATE`]).
    pub sample_rate: u32,
    /// Start of the part to decode, in seconds (default 0).
    pub offset_seconds: f64,
    /// Length of the part, in seconds; `None` (default) decodes to the end.
    pub max_seconds: Option<f64>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            sample_rate: crate::SAMPLE_RATE,
            offset_seconds: 0.0,
            max_seconds: None,
        }
    }
}

/// A decoded, downmixed and resampled signal plus what was found on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Mono samples at `sample_rate`, nominally in [-1, 1].
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// The file's own sample rate and channel count.
    pub source_rate: u32,
    pub source_channels: usize,
    /// Name of the codec, e.g. "mp3", "pcm_s16le".
    pub codec: String,
    /// Seconds of audio lost to corrupt packets (estimated from packet durations).
    pub skipped_seconds: f64,
    /// Human-readable warnings (skipped damage, early end, channel cancellation).
    pub warnings: Vec<String>,
    /// The tempo the file's tags declare (BPM): an ID3 `TBPM` frame or a Vorbis/FLAC `BPM`
    /// comment, when it holds a number in 20..=400.
    pub tagged_bpm: Option<f32>,
}

impl Decoded {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// Decode `path` as described in the module docs.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Decoded> {
    let meta = std::fs::metadata(path).map_err(|e| DspError::io(path, e))?;
    if meta.is_dir() {
        return Err(DspError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if meta.len() == 0 {
        return Err(DspError::Empty {
            path: path.to_path_buf(),
        });
    }
    let file = File::open(path).map_err(|e| DspError::io(path, e))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let mut probed = symphonia::default::get_probe()
        .format(&hint, mss, &fmt_opts, &MetadataOptions::default())
        .map_err(|e| DspError::UnknownFormat {
            path: path.to_path_buf(),
            detail: sym_detail(&e),
        })?;
    let mut format = probed.format;
    let tagged_bpm = probed
        .metadata
        .get()
        .as_ref()
        .and_then(|m| m.current().and_then(tagged_bpm))
        .or_else(|| format.metadata().current().and_then(tagged_bpm));
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL && t.codec_params.sample_rate.is_some())
        .or_else(|| {
            format
                .tracks()
                .iter()
                .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        })
        .ok_or_else(|| DspError::NoAudioTrack {
            path: path.to_path_buf(),
        })?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| DspError::Decode {
            path: path.to_path_buf(),
            detail: sym_detail(&e),
        })?;

    let mut warnings = Vec::new();
    let mut source_rate = params.sample_rate.unwrap_or(0);
    // Samples (per channel, at the source rate) still to drop before the requested part.
    let mut to_skip: u64 = 0;
    if opts.offset_seconds > 0.0 {
        let seek = format.seek(
            SeekMode::Accurate,
            SeekTo::Time {
                time: Time::from(opts.offset_seconds),
                track_id: Some(track_id),
            },
        );
        match seek {
            Ok(seeked) => {
                decoder.reset();
                to_skip = seeked.required_ts.saturating_sub(seeked.actual_ts);
            }
            // Not seekable: decode from the start and drop samples instead.
            Err(_) => to_skip = (opts.offset_seconds * source_rate.max(1) as f64) as u64,
        }
    }

    let mut mix = Downmix::new(opts.sample_rate);
    let mut sample_buf: Option<SampleBuffer<f32>> = None;
    let (mut read_errors, mut decode_errors, mut total_bad) = (0usize, 0usize, 0usize);
    let mut skipped_frames: u64 = 0;
    let mut wanted: Option<usize> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => {
                read_errors = 0;
                p
            }
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                read_errors += 1;
                total_bad += 1;
                if read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                    warnings.push(format!(
                        "gave up reading after repeated container errors ({})",
                        sym_detail(&e)
                    ));
                    break;
                }
                continue;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => {
                decode_errors = 0;
                d
            }
            Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                decode_errors += 1;
                total_bad += 1;
                skipped_frames += packet.dur;
                if decode_errors >= MAX_CONSECUTIVE_DECODE_ERRORS {
                    warnings.push("gave up after too many consecutive corrupt packets".into());
                    break;
                }
                continue;
            }
            Err(e) => {
                return Err(DspError::Decode {
                    path: path.to_path_buf(),
                    detail: sym_detail(&e),
                })
            }
        };
        let spec = *decoded.spec();
        if source_rate == 0 {
            source_rate = spec.rate;
        }
        let channels = spec.channels.count().max(1);
        if wanted.is_none() {
            wanted = opts
                .max_seconds
                .map(|s| (s * spec.rate as f64).ceil() as usize);
        }
        let needed = decoded.capacity() as u64;
        if sample_buf
            .as_ref()
            .is_none_or(|b| (b.capacity() as u64) < needed * channels as u64)
        {
            sample_buf = Some(SampleBuffer::<f32>::new(needed, spec));
        }
        let buf = sample_buf.as_mut().expect("allocated above");
        buf.copy_interleaved_ref(decoded);
        let mut frames = buf.samples();
        let skip_now = (to_skip as usize).min(frames.len() / channels);
        to_skip -= skip_now as u64;
        frames = &frames[skip_now * channels..];
        if let Some(w) = wanted {
            frames = &frames[..frames.len().min((w - mix.len()) * channels)];
        }
        mix.push(frames, channels, spec.rate, params.n_frames)
            .map_err(|e| DspError::Decode {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        if wanted.is_some_and(|w| mix.len() >= w) {
            break;
        }
    }

    if mix.len() == 0 {
        let detail = if total_bad > 0 {
            format!("{total_bad} packets were corrupt or unreadable")
        } else if opts.offset_seconds > 0.0 {
            format!(
                "offset {} s is past the end of the audio",
                crate::error::short_seconds(opts.offset_seconds)
            )
        } else {
            "the stream holds no samples".into()
        };
        return Err(DspError::NoAudio {
            path: path.to_path_buf(),
            detail,
        });
    }
    if source_rate == 0 {
        return Err(DspError::Decode {
            path: path.to_path_buf(),
            detail: "unknown sample rate".into(),
        });
    }
    if skipped_frames > 0 || total_bad > 0 {
        warnings.push(format!(
            "skipped {total_bad} corrupt packet(s), about {:.2} s of audio",
            skipped_frames as f64 / source_rate as f64
        ));
    }
    if let (Some(n), None, 0.0) = (params.n_frames, opts.max_seconds, opts.offset_seconds) {
        // The header promised n frames; a clear shortfall means the file was cut.
        let got = mix.len() as u64 + skipped_frames;
        let slack = (source_rate as u64 / 10).max(4096);
        if got + slack < n {
            warnings.push(format!(
                "only {:.2} s of the {:.2} s the header promises could be read: {:.2} s skipped (damaged or cut short)",
                got as f64 / source_rate as f64,
                n as f64 / source_rate as f64,
                (n - got) as f64 / source_rate as f64
            ));
        }
    }
    let source_channels = mix.channels;
    let (samples, cancel_warning) = mix.finish()?;
    check_levels(path, &samples)?;
    warnings.extend(cancel_warning);
    Ok(Decoded {
        samples,
        sample_rate: opts.sample_rate,
        source_rate,
        source_channels,
        codec,
        skipped_seconds: skipped_frames as f64 / source_rate as f64,
        warnings,
        tagged_bpm,
    })
}

/// Largest sample magnitude accepted (+60 dBFS): float files may go a little over full scale,
/// but levels beyond this are a corrupt file, and squared in a spectrum they overflow `f32`.
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1000.0;

/// Refuse decoded samples that are not audio: NaN or infinite, or beyond
/// [`MAX_SAMPLE_MAGNITUDE`] (only float formats can hold them).
fn check_levels(path: &Path, samples: &[f32]) -> Result<()> {
    if levels_are_audio(samples) {
        return Ok(());
    }
    let not_finite = samples.iter().filter(|v| !v.is_finite()).count();
    let peak = samples
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let detail = if not_finite > 0 {
        format!("{not_finite} samples are NaN or infinite (a corrupt float file)")
    } else if peak > MAX_SAMPLE_MAGNITUDE {
        format!(
            "samples reach {peak:.3e}, beyond the {MAX_SAMPLE_MAGNITUDE} accepted (a corrupt float file)"
        )
    } else {
        return Ok(());
    };
    Err(DspError::Decode {
        path: path.to_path_buf(),
        detail,
    })
}

/// Whether every sample is finite and within [`MAX_SAMPLE_MAGNITUDE`]: one branch-free pass
/// over lanes of 8 (the compiler vectorises it), as cheap as a copy. `v * 0` is 0 for a finite
/// sample and NaN for a NaN or infinite one, so the lanes' sum is NaN exactly when one is.
fn levels_are_audio(samples: &[f32]) -> bool {
    const LANES: usize = 8;
    let (mut peak, mut poison) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = samples.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let a = c[i].abs();
            peak[i] = if a > peak[i] { a } else { peak[i] };
            poison[i] += c[i] * 0.0;
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        peak[i] = peak[i].max(v.abs());
        poison[i] += v * 0.0;
    }
    let peak = peak.iter().fold(0.0f32, |m, &p| m.max(p));
    poison.iter().sum::<f32>() == 0.0 && peak <= MAX_SAMPLE_MAGNITUDE
}

/// Tempi (BPM) a tag may declare; others are ignored as mistakes.
pub const TAG_BPM_RANGE: std::ops::RangeInclusive<f32> = 20.0..=400.0;

/// The tempo a tag revision declares: symphonia's standard `Bpm` key (ID3 `TBPM`, Vorbis
/// `BPM`) or a tag named `BPM`/`TBPM`, read as the leading number of its value ("120",
/// "92.5", "140 BPM"), if it is in [`TAG_BPM_RANGE`].
fn tagged_bpm(rev: &MetadataRevision) -> Option<f32> {
    rev.tags()
        .iter()
        .filter(|t| {
            t.std_key == Some(StandardTagKey::Bpm)
                || t.key.eq_ignore_ascii_case("bpm")
                || t.key.eq_ignore_ascii_case("tbpm")
        })
        .find_map(|t| {
            let v = t.value.to_string();
            let v = v.trim();
            let end = v
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(v.len());
            v[..end].parse::<f32>().ok()
        })
        .filter(|b| TAG_BPM_RANGE.contains(b))
}

/// Downmixes decoded packets as they come and resamples them on the fly, so memory holds the
/// output (mono at the target rate), never the decoded source: the mid signal, the first
/// channel (only for multi-channel input: the fallback when the channels cancel) and the
/// energies needed to detect that.
struct Downmix {
    target_rate: u32,
    /// Source frames pushed so far.
    frames: usize,
    channels: usize,
    mid: Vec<f32>,
    first: Vec<f32>,
    /// Resampler of the mid signal (made at the first packet).
    mid_resampler: Option<StreamResampler>,
    /// Resampler of the first channel (made at the first packet with more than one channel:
    /// building one tabulates its sinc, a cost mono songs need not pay).
    first_resampler: Option<StreamResampler>,
    /// One packet's mid and first channel at the source rate.
    packet: (Vec<f32>, Vec<f32>),
    mid_energy: f64,
    channel_energy: f64,
}

impl Downmix {
    fn new(target_rate: u32) -> Self {
        Downmix {
            target_rate,
            frames: 0,
            channels: 0,
            mid: Vec::new(),
            first: Vec::new(),
            mid_resampler: None,
            first_resampler: None,
            packet: (Vec::new(), Vec::new()),
            mid_energy: 0.0,
            channel_energy: 0.0,
        }
    }

    fn len(&self) -> usize {
        self.frames
    }

    /// Add interleaved frames at `rate` Hz; `expected_frames` (from the container, if known)
    /// sizes the output once.
    fn push(
        &mut self,
        interleaved: &[f32],
        channels: usize,
        rate: u32,
        expected_frames: Option<u64>,
    ) -> Result<()> {
        // A hint only: capped so that a lying header cannot reserve unbounded memory.
        let expected_out = expected_frames.map(|n| {
            let out = (n as f64 * self.target_rate as f64 / rate as f64) as usize;
            out.min(self.target_rate as usize * 3 * 3600)
        });
        if self.mid_resampler.is_none() {
            self.mid_resampler = Some(StreamResampler::new(rate, self.target_rate)?);
            self.mid.reserve(expected_out.unwrap_or(0));
        }
        if channels > 1 && self.first_resampler.is_none() {
            self.first_resampler = Some(StreamResampler::new(rate, self.target_rate)?);
            self.first.reserve(expected_out.unwrap_or(0));
        }
        self.channels = self.channels.max(channels);
        let inv = 1.0 / channels as f32;
        let (mid, first) = &mut self.packet;
        mid.clear();
        first.clear();
        for frame in interleaved.chunks_exact(channels) {
            let m = frame.iter().sum::<f32>() * inv;
            mid.push(m);
            self.mid_energy += (m as f64) * (m as f64);
            if channels > 1 {
                first.push(frame[0]);
                self.channel_energy +=
                    frame.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / channels as f64;
            }
        }
        self.frames += mid.len();
        let mid_rs = self.mid_resampler.as_mut().expect("made above");
        mid_rs.push(mid, &mut self.mid)?;
        if let Some(first_rs) = &mut self.first_resampler {
            first_rs.push(first, &mut self.first)?;
        }
        Ok(())
    }

    /// The mono signal at the target rate, and a warning when the channels cancel.
    fn finish(mut self) -> Result<(Vec<f32>, Option<String>)> {
        if let Some(mid_rs) = self.mid_resampler.take() {
            mid_rs.finish(&mut self.mid)?;
        }
        if let Some(first_rs) = self.first_resampler.take() {
            first_rs.finish(&mut self.first)?;
        }
        if self.channels > 1 && self.channel_energy > 0.0 {
            let drop_db = 10.0 * (self.channel_energy / self.mid_energy.max(1e-30)).log10();
            if drop_db > CANCEL_DB {
                return Ok((
                    self.first,
                    Some(format!(
                        "channels cancel in the mono mix (mid {drop_db:.0} dB below the channels); using the first channel"
                    )),
                ));
            }
        }
        Ok((self.mid, None))
    }
}

fn sym_detail(e: &SymError) -> String {
    match e {
        SymError::Unsupported(what) if what.contains("probe") => {
            "no known audio format detected".into()
        }
        SymError::Unsupported(what) => format!("unsupported: {what}"),
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorised pass agrees with a plain per-sample check, wherever in the lanes or the
    /// tail the bad sample sits.
    #[test]
    fn levels_are_audio_finds_every_bad_sample() {
        let good: Vec<f32> = (0..37).map(|i| ((i * 7919) % 200) as f32 - 100.0).collect();
        assert!(levels_are_audio(&good));
        assert!(levels_are_audio(&[]));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1000.5, -2e4] {
            for at in 0..good.len() {
                let mut x = good.clone();
                x[at] = bad;
                assert!(!levels_are_audio(&x), "{bad} at {at}");
            }
        }
        assert!(levels_are_audio(&[
            MAX_SAMPLE_MAGNITUDE,
            -MAX_SAMPLE_MAGNITUDE
        ]));
    }
}
