//! The command-line interface (clap derive). Every command prints a one-line summary, or with
//! `--json` one JSON object on stdout; progress and warnings go to stderr. Defaults come from
//! the `Default` impls of the domain types they fill, never from literals here.
//!
//! The doc comments of the argument structs are the `--help` text, written for a terminal
//! (`SONGS/<genre>/*.mp3`, `seed:N[:genre]`), not as rustdoc markup.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use dsp::{GriffinLimConfig, PhaseInit};

use crate::corpus::CorpusOptions;
use crate::dataset::features::{BarGrid, FeatureConfig};
use crate::dataset::DatasetOptions;
use crate::eval::EvalOptions;
use crate::generate::GenerateRequest;
use crate::model_dir::TrainOptions;
use crate::postfilter::Postfilter;
use crate::transient_shaper::Depth;
use crate::vae;

#[derive(Debug, Parser)]
#[command(
    name = "beatgen",
    version,
    about = "Learn short beat loops from songs and generate new ones per genre"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Worker threads for parallel work (default: all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a PNG of a file's log-magnitude spectrogram (time left to right, low frequencies at
    /// the bottom, magma colours from -80 dB to 0 dB).
    SpecDump(SpecDumpArgs),
    /// Magnitude-only round trip: STFT, drop the phase, Griffin-Lim, write audio; prints the
    /// spectral convergence.
    Resynth(ResynthArgs),
    /// Synthesise a genre-labelled beat corpus: DIR/<genre>/*.mp3 and DIR/manifest.tsv.
    MakeCorpus(MakeCorpusArgs),
    /// Show what the dataset pipeline sees in a songs folder: files, genres, clips, tempi,
    /// the train/validation split and skipped files.
    DatasetInfo(DatasetInfoArgs),
    /// Train the VAE on a songs folder; checkpoints every epoch, loss.csv and loss.png in the
    /// model directory; --resume continues an interrupted run exactly.
    SpecTrain(SpecTrainArgs),
    /// Generate clips (or N-bar loops) of a genre from a trained model.
    SpecGenerate(SpecGenerateArgs),
    /// Encode and decode a real file through the model.
    SpecReconstruct(SpecReconstructArgs),
    /// Walk the latent space between two files or seeds.
    SpecInterpolate(SpecInterpolateArgs),
    /// Quality report of a model against real songs: phase ceiling, reconstruction, genre
    /// classifier, Frechet distance with floors and ceilings, rhythm, novelty, diversity.
    Eval(EvalArgs),
    /// Transcribe an audio file's groove (kick, snare, hats, bass) to a Standard MIDI File;
    /// with --truth, score it against a reference MIDI file.
    Transcribe(TranscribeArgs),
    /// Train the drum-onset network that `transcribe` and `--midi` use, on songs with their
    /// true notes beside them (`make-corpus --midi`); writes its weights.
    TrainOnsets(TrainOnsetsArgs),
    /// The main job on the bundled corpus: train a small model on songs/ (or reuse it) and
    /// write generated beats and loops to out/demo/.
    Demo(DemoArgs),
    /// Print the decoder's raw (normalised) output for a latent and genre as JSON (for
    /// bench/check_safetensors.py).
    #[command(hide = true)]
    DecodeRaw(DecodeRawArgs),
    /// Time training steps of the default network on random data (for bench/training.py).
    #[command(hide = true)]
    BenchTrain(BenchTrainArgs),
}

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Audio file (mp3, wav, flac, ogg, ...).
    pub input: PathBuf,
    /// Output MIDI file (.mid).
    pub output: PathBuf,
    /// Tempo in BPM (default: the file's tag or name, refined by the detector, else the
    /// detector's).
    #[arg(long)]
    pub bpm: Option<f32>,
    /// The time of a bar line in the file (seconds), when the detector puts the bar lines
    /// in the wrong place (hear them with dataset-info --clicks); default: the detector's.
    #[arg(long)]
    pub bar_line: Option<f64>,
    /// How far notes move onto the 16th (or 16th-triplet) grid: full, none, or a fraction.
    #[arg(long, default_value = "full", value_parser = crate::groove::quantize::parse_amount)]
    pub quantize: f64,
    #[command(flatten)]
    pub part: PartArgs,
    /// Seconds to read (at most 600).
    #[arg(long, default_value_t = crate::commands::transcribe::MAX_SECONDS)]
    pub seconds: f64,
    /// A reference MIDI file (General MIDI drums on channel 10, bass on channel 1): print
    /// precision, recall and F1 per part within 30 ms (of the unquantised transcription).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Drum-onset network weights written by `train-onsets` (default: the ones beatgen ships).
    #[arg(long)]
    pub onsets: Option<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrainOnsetsArgs {
    /// Folders of songs, each song with a MIDI file of its notes beside it (SONG.mid), as
    /// `make-corpus --midi` writes them; searched to any depth.
    #[arg(required = true)]
    pub folders: Vec<PathBuf>,
    /// Where to write the weights (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over every frame of every song.
    #[arg(long, default_value_t = crate::groove::onset_net::OnsetTraining::default().epochs)]
    pub epochs: usize,
    /// Seed of the initial weights, the order frames are visited in and the equalisers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Largest gain (dB) of the random equaliser each song is heard through in each epoch
    /// (0: none).
    #[arg(long, default_value_t = crate::groove::onset_net::OnsetTraining::default().eq_db)]
    pub eq_db: f32,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecodeRawArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub genre: String,
    /// Comma-separated latent values.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub z: Vec<f32>,
}

/// Which network to build (saved with a model).
#[derive(Debug, Args, Clone)]
pub struct NetworkArgs {
    /// Network family: conv (strided 1-D convolutions over time, bands as channels) or mlp
    /// (dense layers over the flattened clip, the first version's model).
    #[arg(long, value_enum, default_value_t = ArchKind::Conv)]
    pub arch: ArchKind,
    /// Latent dimensions.
    #[arg(long, default_value_t = vae::model::DEFAULT_LATENT)]
    pub latent: usize,
    /// mlp: encoder hidden sizes (the decoder mirrors them).
    #[arg(long, value_delimiter = ',', default_values_t = vae::model::DEFAULT_MLP_HIDDEN)]
    pub hidden: Vec<usize>,
    /// conv: channels of every convolution.
    #[arg(long, default_value_t = vae::Architecture::default_conv().0)]
    pub channels: usize,
    /// conv: strided convolutions in the encoder (each halves the time steps; the decoder
    /// mirrors them with upsampling convolutions).
    #[arg(long, default_value_t = vae::Architecture::default_conv().1)]
    pub conv_layers: usize,
    /// conv: kernel size over time (odd).
    #[arg(long, default_value_t = vae::Architecture::default_conv().2)]
    pub kernel: usize,
    /// conv: a latent map over time instead of one latent vector per clip, with this many
    /// values at each of the encoder's time steps (one step per 16th note on the default
    /// grid: 32 steps, so 4 gives 128 latent values in all; replaces --latent).
    #[arg(long, conflicts_with_all = ["latent", "hidden"])]
    pub step_latent: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RepresentationKind {
    Bars,
    Clips,
}

/// The representation of [`FeatureConfig::default`].
impl Default for RepresentationKind {
    fn default() -> Self {
        if FeatureConfig::default().grid.is_some() {
            RepresentationKind::Bars
        } else {
            RepresentationKind::Clips
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchKind {
    Conv,
    Mlp,
}

impl NetworkArgs {
    pub fn architecture(&self) -> anyhow::Result<crate::vae::Architecture> {
        use crate::vae::Architecture;
        anyhow::ensure!(self.latent > 0, "--latent must be positive");
        Ok(match self.arch {
            ArchKind::Conv => {
                anyhow::ensure!(
                    self.channels > 0 && self.conv_layers > 0 && self.kernel % 2 == 1,
                    "--channels and --conv-layers must be positive and --kernel odd"
                );
                anyhow::ensure!(
                    self.step_latent != Some(0),
                    "--step-latent must be positive"
                );
                Architecture::Conv {
                    channels: self.channels,
                    layers: self.conv_layers,
                    kernel: self.kernel,
                    step_latent: self.step_latent.unwrap_or(0),
                }
            }
            ArchKind::Mlp => {
                anyhow::ensure!(
                    self.step_latent.is_none(),
                    "--step-latent needs the convolutional network (--arch conv)"
                );
                anyhow::ensure!(
                    !self.hidden.is_empty() && !self.hidden.contains(&0),
                    "every --hidden size must be positive"
                );
                Architecture::Mlp {
                    hidden: self.hidden.clone(),
                }
            }
        })
    }
}

#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    #[command(flatten)]
    pub net: NetworkArgs,
    /// Steps per timing window.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Timing windows (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub windows: usize,
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    pub batch_size: usize,
    #[arg(long)]
    pub json: bool,
}

/// Output audio and phase reconstruction.
#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Output format.
    #[arg(long, default_value = "mp3", value_parser = ["mp3", "wav"])]
    pub format: String,
    /// Griffin-Lim iterations.
    #[arg(long, default_value_t = GenerateRequest::default().gl.iterations)]
    pub gl_iters: usize,
    /// Initial phase for Griffin-Lim.
    #[arg(long, default_value_t = GenerateRequest::default().gl.init)]
    pub init: PhaseInit,
    /// Also write each spectrogram as a PNG beside the audio.
    #[arg(long)]
    pub dump_png: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SpecGenerateArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Genre to generate (one of the model's).
    #[arg(long)]
    pub genre: String,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of clips.
    #[arg(long, default_value_t = GenerateRequest::default().count)]
    pub count: usize,
    /// Scale of the latent prior (lower: safer, higher: wilder).
    #[arg(long, default_value_t = GenerateRequest::default().temperature)]
    pub temperature: f32,
    /// Seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = GenerateRequest::default().seed)]
    pub seed: u64,
    /// Output tempo in BPM (bar-grid models; default: the genre's median training tempo).
    #[arg(long)]
    pub bpm: Option<f32>,
    /// Output length in 4/4 bars, tiling the generated bars (bar-grid models; default: the
    /// model's bars, 2; at most 512).
    #[arg(long)]
    pub bars: Option<usize>,
    /// Latent prior: genre (the genre's aggregate posterior) or standard (N(0, I)).
    #[arg(long, value_enum, default_value_t = GenerateRequest::default().prior)]
    pub prior: crate::generate::Prior,
    /// Spectral postfilter: `fitted` (the strengths the model fitted per genre at the end of
    /// training) or a strength from 0 (off) to 4 for every genre. It sharpens each frame's
    /// bands against their local mean (see README).
    #[arg(long, default_value_t = Postfilter::Fitted)]
    pub postfilter: Postfilter,
    /// Transient shaper after the postfilter: how far the frames after each hit are pushed
    /// below the hit's decaying level, as a fraction of their distance to it, from 0 (off)
    /// to 2, in the bands from 2.4 kHz up (less from 900 Hz, the bass not at all). It darkens
    /// the haze between hits and leaves sustained tones (see README).
    #[arg(long, default_value_t = Depth::default())]
    pub sustain_cut: Depth,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub midi: MidiArgs,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// The groove as MIDI.
#[derive(Debug, Args, Clone)]
pub struct MidiArgs {
    /// Also write each clip's groove as a Standard MIDI File (NAME.mid): General MIDI drums on
    /// channel 10 and the bass on channel 1, at the clip's tempo.
    #[arg(long)]
    pub midi: bool,
    /// How far notes move onto the 16th (or 16th-triplet) grid: full, none (the played
    /// timing), or a fraction such as 0.5 (half of each offset kept: humanised).
    #[arg(long, default_value = "full", value_parser = crate::groove::quantize::parse_amount)]
    pub midi_quantize: f64,
}

#[derive(Debug, Args)]
pub struct SpecReconstructArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Audio file to encode.
    pub input: PathBuf,
    /// Output audio (.mp3 or .wav).
    pub output: PathBuf,
    /// Genre to condition on (default: the input's folder name if the model knows it, else
    /// the model's first genre).
    #[arg(long)]
    pub genre: Option<String>,
    #[command(flatten)]
    pub part: PartArgs,
    /// Griffin-Lim iterations.
    #[arg(long, default_value_t = GenerateRequest::default().gl.iterations)]
    pub gl_iters: usize,
    /// Initial phase for Griffin-Lim.
    #[arg(long, default_value_t = GenerateRequest::default().gl.init)]
    pub init: PhaseInit,
    /// Seed of Griffin-Lim's random phase (where PGHI leaves it random).
    #[arg(long, default_value_t = GenerateRequest::default().seed)]
    pub seed: u64,
    /// Output tempo (bar-grid models; default: the input's own tempo).
    #[arg(long)]
    pub bpm: Option<f32>,
    /// Transient shaper on the reconstruction (as spec-generate's; 0 for the decoder's own
    /// gaps, closer to the input).
    #[arg(long, default_value_t = Depth::default())]
    pub sustain_cut: Depth,
    /// Write input and reconstruction spectrograms as PNGs beside OUT.
    #[arg(long)]
    pub dump_png: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SpecInterpolateArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Start: an audio file, or seed:N[:genre] for a latent drawn from the prior.
    pub a: String,
    /// End: as A.
    pub b: String,
    /// Number of steps including both ends.
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Genre for audio-file ends (default: the file's folder name if known, else the first).
    #[arg(long)]
    pub genre: Option<String>,
    /// Latent prior for seed:N ends (as spec-generate's --prior).
    #[arg(long, value_enum, default_value_t = GenerateRequest::default().prior)]
    pub prior: crate::generate::Prior,
    /// Output tempo (bar-grid models; default: the mean of both ends' genre tempi).
    #[arg(long)]
    pub bpm: Option<f32>,
    /// Transient shaper on every step (as spec-generate's).
    #[arg(long, default_value_t = Depth::default())]
    pub sustain_cut: Depth,
    #[command(flatten)]
    pub render: RenderArgs,
    /// Seed of Griffin-Lim's random phase (where PGHI leaves it random), the same for every
    /// step so that the walk changes only with the latent.
    #[arg(long, default_value_t = GenerateRequest::default().seed)]
    pub seed: u64,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Songs folder (the model's own split by song decides what is held out).
    pub songs: PathBuf,
    /// Generated clips per genre.
    #[arg(long, default_value_t = EvalOptions::default().count)]
    pub count: usize,
    /// Seed of the generated clips.
    #[arg(long, default_value_t = EvalOptions::default().seed)]
    pub seed: u64,
    /// Sampling temperature of the generated clips (as spec-generate's).
    #[arg(long, default_value_t = EvalOptions::default().temperature)]
    pub temperature: f32,
    /// Spectral postfilter on every decoded clip: `fitted` or a strength (as spec-generate's).
    #[arg(long, default_value_t = EvalOptions::default().postfilter)]
    pub postfilter: Postfilter,
    /// Transient shaper on every decoded clip: its depth, 0 (off) to 2 (as spec-generate's).
    #[arg(long, default_value_t = Depth(EvalOptions::default().shaper.depth))]
    pub sustain_cut: Depth,
    /// Also write report.md and PNGs (gallery, feature projection) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Songs folder (made with make-corpus if missing or empty).
    #[arg(long, default_value = "songs")]
    pub songs: PathBuf,
    /// Model directory (reused when it is up to date).
    #[arg(long, default_value = "models/demo")]
    pub model: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Training epochs.
    #[arg(long, default_value_t = crate::commands::demo::DEMO_EPOCHS)]
    pub epochs: usize,
    /// Retrain even if the model is up to date.
    #[arg(long)]
    pub retrain: bool,
}

#[derive(Debug, Args)]
pub struct SpecTrainArgs {
    /// Songs folder: SONGS/<genre>/*.mp3|wav|flac|ogg.
    pub songs: PathBuf,
    /// Model directory to write (or to resume).
    #[arg(long)]
    pub model: PathBuf,
    /// Total epochs (a resumed run continues up to this number).
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = TrainOptions::default().lr)]
    pub lr: f32,
    #[command(flatten)]
    pub net: NetworkArgs,
    /// Reconstruction loss: l1 (absolute error; sharper hits and a darker floor, see the
    /// ablations in README) or mse (squared error).
    #[arg(long, value_enum, default_value_t = TrainOptions::default().recon_loss)]
    pub recon_loss: crate::vae::ReconLoss,
    /// KL free bits per latent dimension (0 = off).
    #[arg(long, default_value_t = TrainOptions::default().free_bits)]
    pub free_bits: f32,
    /// Weight of the flux term: the error of each band's change from one frame to the next,
    /// so a smeared hit costs more (0 = off).
    #[arg(long, default_value_t = TrainOptions::default().flux_weight)]
    pub flux_weight: f32,
    /// Weight of the KL term after the warm-up.
    #[arg(long, default_value_t = TrainOptions::default().beta)]
    pub beta: f32,
    /// Epochs over which beta rises linearly from 0 (against posterior collapse).
    #[arg(long, default_value_t = TrainOptions::default().kl_warmup_epochs)]
    pub kl_warmup: f32,
    /// Clip the global gradient norm to this value (0 = no clipping).
    #[arg(long, default_value_t = TrainOptions::default().clip_norm.unwrap_or(0.0))]
    pub clip_norm: f32,
    /// Seed of initialisation, shuffling, noise and the split.
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    /// Stop when the validation loss has not improved for this many epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Write input vs reconstruction spectrograms of three validation clips every epoch.
    #[arg(long)]
    pub dump_png: bool,
    /// Continue the run in --model where it stopped.
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub data: DatasetArgs,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// How a songs folder becomes clips (saved with a model).
#[derive(Debug, Args, Clone)]
pub struct DatasetArgs {
    /// bars: examples of whole bars from bar lines on a grid of frames per 16th note;
    /// clips: fixed 3 s clips at hop 256 (the first version, for comparison).
    #[arg(long, value_enum, default_value_t = RepresentationKind::default())]
    pub representation: RepresentationKind,
    /// bars: bars per example.
    #[arg(long, default_value_t = BarGrid::default().bars)]
    pub grid_bars: usize,
    /// bars: STFT frames per 16th note.
    #[arg(long, default_value_t = BarGrid::default().frames_per_16th)]
    pub frames_per_16th: usize,
    /// Mel bands of the model input (513 = the linear STFT, no band compression).
    #[arg(long, default_value_t = FeatureConfig::default().bands)]
    pub bands: usize,
    /// A band's level: power (the mean power of its bins, in dB, as a log-mel spectrogram) or
    /// db (the mean of their dB levels, the first versions' bands, for comparison).
    #[arg(long, default_value_t = FeatureConfig::default().band_average)]
    pub band_average: dsp::bands::BandAverage,
    /// Fraction of each genre's songs held out for validation.
    #[arg(long, default_value_t = DatasetOptions::default().validation_fraction)]
    pub val_fraction: f32,
    /// clips: seconds between clip starts (before snapping to beats).
    #[arg(long, default_value_t = FeatureConfig::default().clip_hop_seconds)]
    pub clip_hop: f32,
    /// clips: do not move clip starts onto detected beats.
    #[arg(long)]
    pub no_beat_align: bool,
    /// Ignore the tempo a song's tag (TBPM, BPM) or file name ("92bpm") declares: the detector
    /// alone decides, with the genre's other songs.
    #[arg(long)]
    pub ignore_tempo_metadata: bool,
    /// Cache folder (default: beatgen in the user's cache directory, e.g. ~/.cache/beatgen;
    /// nothing is ever written into SONGS).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// bars: bar grids you know, for songs the detector cuts in the wrong place: a file of
    /// lines `path<TAB>seconds[<TAB>bpm]` (path relative to SONGS; the time of any bar line;
    /// the tempo, which then outranks tags and file names).
    #[arg(long, value_name = "FILE")]
    pub bar_lines: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DatasetInfoArgs {
    /// Songs folder: SONGS/<genre>/*.mp3|wav|flac|ogg.
    pub songs: PathBuf,
    #[command(flatten)]
    pub data: DatasetArgs,
    /// Seed of the train/validation split.
    #[arg(long, default_value_t = DatasetOptions::default().seed)]
    pub seed: u64,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Also write every song with a metronome on its bar grid, to check by ear where its
    /// beats and bar lines were put: DIR/<genre>/<name>.clicks.mp3 (a high click on each bar
    /// line, a lower one on the other beats). DIR must not be inside SONGS.
    #[arg(long, value_name = "DIR")]
    pub clicks: Option<PathBuf>,
    /// Format of the --clicks files.
    #[arg(long, default_value = "mp3", value_parser = ["mp3", "wav"])]
    pub clicks_format: String,
}

#[derive(Debug, Args)]
pub struct MakeCorpusArgs {
    /// Output folder (created if missing).
    pub dir: PathBuf,
    /// Songs per genre.
    #[arg(long, default_value_t = CorpusOptions::default().per_genre)]
    pub per_genre: usize,
    /// Length of each song in seconds.
    #[arg(long, default_value_t = CorpusOptions::default().seconds)]
    pub seconds: f32,
    /// Seed: the same seed writes the same corpus.
    #[arg(long, default_value_t = CorpusOptions::default().seed)]
    pub seed: u64,
    /// Comma-separated genres (default all: boom-bap,trap,lo-fi,house,drill).
    #[arg(long, value_delimiter = ',')]
    pub genres: Option<Vec<String>>,
    /// MP3 bit rate in kb/s.
    #[arg(long, default_value_t = CorpusOptions::default().mp3_kbps, value_parser = dsp::encode::parse_mp3_kbps)]
    pub kbps: u32,
    /// Render through this General MIDI SoundFont (.sf2, e.g. Debian's
    /// /usr/share/sounds/sf2/FluidR3_GM.sf2) instead of the built-in drum synthesiser.
    #[arg(long)]
    pub soundfont: Option<PathBuf>,
    /// Also write each song's notes (its true groove) as NAME.mid beside it, timed to the MP3
    /// as players decode it (the encoder's 51-76 ms delay included).
    #[arg(long)]
    pub midi: bool,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Which part of an input file to read.
#[derive(Debug, Args, Clone)]
pub struct PartArgs {
    /// Start reading at this many seconds.
    #[arg(long, default_value_t = 0.0)]
    pub offset: f64,
}

#[derive(Debug, Args)]
pub struct SpecDumpArgs {
    /// Audio file (mp3, wav, flac, ogg, ...).
    pub input: PathBuf,
    /// Output PNG.
    pub output: PathBuf,
    /// Seconds to show (default: the whole file).
    #[arg(long)]
    pub seconds: Option<f64>,
    #[command(flatten)]
    pub part: PartArgs,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResynthArgs {
    /// Audio file to take the magnitudes from.
    pub input: PathBuf,
    /// Output audio file (.mp3 or .wav).
    pub output: PathBuf,
    /// Griffin-Lim iterations.
    #[arg(long, default_value_t = GriffinLimConfig::default().iterations)]
    pub iters: usize,
    /// Initial phase: random (as librosa/torchaudio) or pghi (phase gradient integration).
    #[arg(long, default_value_t = GriffinLimConfig::default().init)]
    pub init: PhaseInit,
    /// Fast Griffin-Lim momentum (0 = classic Griffin-Lim).
    #[arg(long, default_value_t = GriffinLimConfig::default().momentum)]
    pub momentum: f32,
    /// Padding of the centred edge frames: reflect or zero (default: beatgen's, see README).
    #[arg(long, default_value_t = dsp::Padding::default())]
    pub pad: dsp::Padding,
    /// Seconds of audio to use.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    #[command(flatten)]
    pub part: PartArgs,
    /// Seed of the random initial phase.
    #[arg(long, default_value_t = GriffinLimConfig::default().seed)]
    pub seed: u64,
    /// Run Griffin-Lim this many times and report the median time (for benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
}
