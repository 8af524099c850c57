//! The conditional VAE, composed of layer stacks that its configuration declares.
//!
//! ```text
//! encoder: x (bands x frames) with the genre one-hot broadcast over time as extra channels
//!          -> encoder layers -> [mu; logvar]          (2 * latent values: mu first)
//! sample:  z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)   (reparameterisation)
//! decoder: [z; onehot(genre)] -> decoder layers -> y (bands x frames; linear: inputs are
//!          standardised)
//! ```
//!
//! Two architectures are declared by [`Architecture`]: a convolutional one (strided 1-D
//! convolutions over time with bands as channels, a dense layer to the latent, and its mirror
//! with nearest upsampling) and the MLP of the first version. Activations are feature-major
//! (see [`super::layer`]). Clips come in frame-major (`clip[t * bands + b]`, as the dataset
//! stores them) and go into the network channel-major (`[b * frames + t]`).

use ndarray::{s, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::layer::{Init, LayerSpec, Param, ParamMut, Shape, ShapeError};
use super::loss::{self, ReconLoss};
use super::stack::{Stack, StackBuffers};
use ndarray_rand::rand_distr::StandardNormal;
use rand::{Rng, RngCore};

/// Slope of every LeakyReLU the presets declare.
pub const LEAKY_SLOPE: f32 = 0.01;

/// A network family and its size. Default: `Conv { channels: 192, layers: 3, kernel: 5 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Architecture {
    /// Encoder: `layers` x (Conv1d(channels, kernel, stride 2), LeakyReLU), Dense to
    /// `2 * latent`. Decoder: Dense to `channels x frames / 2^layers`, LeakyReLU, then
    /// `layers` x (Upsample 2, Conv1d(kernel, stride 1), LeakyReLU but the last), the last
    /// convolution to `bands` channels, cropped to `frames`.
    ///
    /// With `step_latent` > 0 the latent is a map over the encoder's `T = frames / 2^layers`
    /// time steps instead of one vector per clip: the encoder ends in Conv1d(`2 *
    /// step_latent`, kernel, stride 1) (mu's channels first), the latent has `step_latent x T`
    /// values (channel-major), and the decoder starts with Conv1d(channels, kernel, stride 1)
    /// and a LeakyReLU on the latent map with the genre weights broadcast over time as
    /// `n_genres` more channels. Each step's latent reaches only the frames near it.
    Conv {
        channels: usize,
        layers: usize,
        kernel: usize,
        /// Latent values per time step; 0: one latent vector per clip (the default).
        #[serde(default)]
        step_latent: usize,
    },
    /// Dense layers of the given sizes (the decoder uses them reversed), LeakyReLU between.
    Mlp { hidden: Vec<usize> },
}

/// Latent dimensions of the default network.
pub const DEFAULT_LATENT: usize = 64;
/// The MLP option's encoder hidden sizes (the decoder mirrors them).
pub const DEFAULT_MLP_HIDDEN: [usize; 2] = [512, 256];

/// The default network: 3 strided convolutions of 192 channels, kernel 5.
impl Default for Architecture {
    fn default() -> Self {
        Architecture::Conv {
            channels: 192,
            layers: 3,
            kernel: 5,
            step_latent: 0,
        }
    }
}

impl Architecture {
    /// The default's `(channels, layers, kernel)`, for command-line defaults.
    pub fn default_conv() -> (usize, usize, usize) {
        match Architecture::default() {
            Architecture::Conv {
                channels,
                layers,
                kernel,
                ..
            } => (channels, layers, kernel),
            Architecture::Mlp { .. } => unreachable!("the default network is convolutional"),
        }
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Architecture::Conv {
                channels,
                layers,
                kernel,
                step_latent: 0,
            } => write!(f, "conv ({layers} x {channels} ch, kernel {kernel})"),
            Architecture::Conv {
                channels,
                layers,
                kernel,
                step_latent,
            } => write!(
                f,
                "conv ({layers} x {channels} ch, kernel {kernel}, {step_latent} latent values per step)"
            ),
            Architecture::Mlp { hidden } => write!(f, "mlp {hidden:?}"),
        }
    }
}

/// The network: input size, conditioning, latent size and the declared layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Time steps (frames) per clip.
    pub frames: usize,
    /// Values per frame (model bands).
    pub bands: usize,
    pub n_genres: usize,
    /// Latent dimensions in all: `latent / latent_steps` values at each of `latent_steps`
    /// time steps (channel-major).
    pub latent: usize,
    /// Time steps of the latent: 1 for one vector per clip (models saved before this field
    /// have one), `T` for [`Architecture::Conv`]'s `step_latent`.
    #[serde(default = "one_step")]
    pub latent_steps: usize,
    pub encoder: Vec<LayerSpec>,
    pub decoder: Vec<LayerSpec>,
}

fn one_step() -> usize {
    1
}

impl VaeConfig {
    /// The layers of `arch` for clips of `frames x bands`. `latent` is ignored when `arch`
    /// declares a latent per time step (its size follows from the steps).
    pub fn new(
        frames: usize,
        bands: usize,
        n_genres: usize,
        latent: usize,
        arch: &Architecture,
    ) -> Self {
        let act = LayerSpec::LeakyRelu { slope: LEAKY_SLOPE };
        let (mut encoder, mut decoder) = (Vec::new(), Vec::new());
        let (mut latent, mut latent_steps) = (latent, 1);
        match arch {
            Architecture::Conv {
                channels,
                layers,
                kernel,
                step_latent,
            } => {
                let mut t = frames;
                for _ in 0..*layers {
                    encoder.push(LayerSpec::Conv1d {
                        out: *channels,
                        kernel: *kernel,
                        stride: 2,
                    });
                    encoder.push(act.clone());
                    t = t.div_ceil(2);
                }
                if *step_latent > 0 {
                    (latent, latent_steps) = (step_latent * t, t);
                    encoder.push(LayerSpec::Conv1d {
                        out: 2 * step_latent,
                        kernel: *kernel,
                        stride: 1,
                    });
                    decoder.push(LayerSpec::Conv1d {
                        out: *channels,
                        kernel: *kernel,
                        stride: 1,
                    });
                    decoder.push(act.clone());
                } else {
                    encoder.push(LayerSpec::Dense { out: 2 * latent });
                    decoder.push(LayerSpec::Dense { out: channels * t });
                    decoder.push(act.clone());
                    decoder.push(LayerSpec::Unflatten {
                        channels: *channels,
                    });
                }
                for i in 0..*layers {
                    let last = i + 1 == *layers;
                    decoder.push(LayerSpec::Upsample { factor: 2 });
                    decoder.push(LayerSpec::Conv1d {
                        out: if last { bands } else { *channels },
                        kernel: *kernel,
                        stride: 1,
                    });
                    if !last {
                        decoder.push(act.clone());
                    }
                }
                // (A shift of 64 or more places is None: far more layers than frames.)
                if u32::try_from(*layers).ok().and_then(|n| t.checked_shl(n)) != Some(frames) {
                    decoder.push(LayerSpec::Crop { time: frames });
                }
            }
            Architecture::Mlp { hidden } => {
                for &h in hidden {
                    encoder.push(LayerSpec::Dense { out: h });
                    encoder.push(act.clone());
                }
                encoder.push(LayerSpec::Dense { out: 2 * latent });
                for &h in hidden.iter().rev() {
                    decoder.push(LayerSpec::Dense { out: h });
                    decoder.push(act.clone());
                }
                decoder.push(LayerSpec::Dense {
                    out: bands * frames,
                });
                decoder.push(LayerSpec::Unflatten { channels: bands });
            }
        }
        VaeConfig {
            frames,
            bands,
            n_genres,
            latent,
            latent_steps,
            encoder,
            decoder,
        }
    }

    /// Values per clip.
    pub fn clip_len(&self) -> usize {
        self.frames * self.bands
    }
    /// The clip's bands and the genre one-hot as channels, over the clip's frames.
    pub fn encoder_input(&self) -> Shape {
        Shape::new(self.bands + self.n_genres, self.frames)
    }
    /// The latent and the genre weights: a flat vector, or for a latent over time steps its
    /// channels with the genre weights broadcast over the steps as more channels.
    pub fn decoder_input(&self) -> Shape {
        if self.latent_steps > 1 {
            Shape::new(
                self.latent / self.latent_steps + self.n_genres,
                self.latent_steps,
            )
        } else {
            Shape::flat(self.latent + self.n_genres)
        }
    }
}

/// Why a configuration does not make a network.
#[derive(Debug, thiserror::Error)]
pub enum VaeError {
    #[error("{which}: {error}")]
    Layer {
        which: &'static str,
        error: ShapeError,
    },
    #[error("{which} ends in {actual} values, expected {expected}")]
    Output {
        which: &'static str,
        expected: String,
        actual: String,
    },
}

/// What the training step minimises (see [`loss`]). Defaults: squared error, beta 1, no free
/// bits, no flux term.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub recon: ReconLoss,
    pub beta: f32,
    pub free_bits: f32,
    /// Weight of the flux term (0: off). The losses reported leave it out, so that
    /// reconstruction errors compare across objectives.
    pub flux: f32,
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            recon: ReconLoss::Mse,
            beta: 1.0,
            free_bits: 0.0,
            flux: 0.0,
        }
    }
}

/// Loss terms of a batch (per clip: sums over the clip, averaged over the batch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    pub recon: f64,
    pub kl: f64,
}

pub struct Vae {
    pub cfg: VaeConfig,
    encoder: Stack,
    decoder: Stack,
}

/// Per-batch buffers: inputs, both stacks' activations and gradients, noise.
pub struct Workspace {
    pub batch: usize,
    /// Encoder input `[(bands + n_genres) * frames, B]`, channel-major; filled by
    /// [`Workspace::set_sample`].
    enc_in: Array2<f32>,
    enc: StackBuffers,
    /// Decoder input `[latent + n_genres * latent_steps, B]` (see
    /// [`VaeConfig::decoder_input`]).
    dec_in: Array2<f32>,
    dec_in_grad: Array2<f32>,
    dec: StackBuffers,
    /// Noise `[latent, B]`.
    pub eps: Array2<f32>,
    frames: usize,
    bands: usize,
}

impl Workspace {
    pub fn new(vae: &Vae, batch: usize) -> Self {
        let c = &vae.cfg;
        Workspace {
            batch,
            enc_in: Array2::zeros((c.encoder_input().features(), batch)),
            enc: vae.encoder.buffers(batch),
            dec_in: Array2::zeros((c.decoder_input().features(), batch)),
            dec_in_grad: Array2::zeros((c.decoder_input().features(), batch)),
            dec: vae.decoder.buffers(batch),
            eps: Array2::zeros((c.latent, batch)),
            frames: c.frames,
            bands: c.bands,
        }
    }

    /// Put sample `col` of the batch: a normalised clip (frame-major, `frames x bands`) and
    /// its genre.
    pub fn set_sample(&mut self, col: usize, clip: &[f32], genre: usize) {
        let (t_n, b_n) = (self.frames, self.bands);
        debug_assert_eq!(clip.len(), t_n * b_n);
        let mut c = self.enc_in.column_mut(col);
        for (t, frame) in clip.chunks_exact(b_n).enumerate() {
            for (b, &v) in frame.iter().enumerate() {
                c[b * t_n + t] = v;
            }
        }
        let n_genres = c.len() / t_n - b_n;
        for g in 0..n_genres {
            let v = if g == genre { 1.0 } else { 0.0 };
            c.slice_mut(s![(b_n + g) * t_n..(b_n + g + 1) * t_n])
                .fill(v);
        }
    }

    /// Draw the reparameterisation noise (standard normal) from `rng`.
    pub fn sample_eps(&mut self, rng: &mut dyn RngCore) {
        self.eps
            .iter_mut()
            .for_each(|e| *e = rng.sample(StandardNormal));
    }

    /// The clip part of the encoder input `[bands * frames, B]` (the reconstruction target).
    fn target(&self) -> ArrayView2<'_, f32> {
        self.enc_in.slice(s![..self.bands * self.frames, ..])
    }
}

/// A channel-major column (`[b * frames + t]`) as a frame-major clip.
fn to_frame_major(col: ndarray::ArrayView1<f32>, frames: usize, bands: usize) -> Vec<f32> {
    let mut out = vec![0.0; frames * bands];
    for (b, row) in col.to_vec().chunks_exact(frames).enumerate() {
        for (t, &v) in row.iter().enumerate() {
            out[t * bands + b] = v;
        }
    }
    out
}

impl Vae {
    /// A new network with seeded He-uniform weights (small output layers start the posterior
    /// near N(0, I) and the reconstruction near 0).
    pub fn new(cfg: VaeConfig, rng: &mut dyn RngCore) -> Result<Self, VaeError> {
        Self::build(cfg, &mut Init::Random(rng))
    }

    /// A network of the configured shape with zero weights, to load saved weights into.
    pub fn zeros(cfg: VaeConfig) -> Result<Self, VaeError> {
        Self::build(cfg, &mut Init::Zeros)
    }

    fn build(cfg: VaeConfig, init: &mut Init) -> Result<Self, VaeError> {
        let encoder =
            Stack::build(&cfg.encoder, cfg.encoder_input(), init, 0.1).map_err(|error| {
                VaeError::Layer {
                    which: "encoder",
                    error,
                }
            })?;
        if encoder.output_shape().features() != 2 * cfg.latent {
            return Err(VaeError::Output {
                which: "encoder",
                expected: format!("2 x latent = {}", 2 * cfg.latent),
                actual: encoder.output_shape().to_string(),
            });
        }
        let decoder =
            Stack::build(&cfg.decoder, cfg.decoder_input(), init, 0.1).map_err(|error| {
                VaeError::Layer {
                    which: "decoder",
                    error,
                }
            })?;
        if decoder.output_shape() != Shape::new(cfg.bands, cfg.frames) {
            return Err(VaeError::Output {
                which: "decoder",
                expected: Shape::new(cfg.bands, cfg.frames).to_string(),
                actual: decoder.output_shape().to_string(),
            });
        }
        Ok(Vae {
            cfg,
            encoder,
            decoder,
        })
    }

    /// Visit every parameter as `encoder.{i}.weight` ... `decoder.{i}.bias` (the safetensors
    /// names; `i` counts layers as `nn.Sequential` does).
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(String, Param<'a>)) {
        self.encoder.visit("encoder", f);
        self.decoder.visit("decoder", f);
    }

    /// Visit every parameter mutably, in the order of [`Vae::visit`].
    pub fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        self.encoder.visit_mut(f);
        self.decoder.visit_mut(f);
    }

    pub fn parameter_count(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |_, p| n += p.value.len());
        n
    }

    /// Bytes that training with batches of `batch` holds, about: the parameters with their
    /// gradients and Adam moments, a copy of the network with gradients for the second half
    /// of each batch, and the inputs and buffers of a batch (once for training, once for
    /// validation).
    pub fn training_bytes(&self, batch: usize) -> u64 {
        let c = &self.cfg;
        let inputs = c.encoder_input().features() + 2 * c.decoder_input().features() + c.latent;
        let per_batch = self
            .encoder
            .buffer_values(batch)
            .saturating_add(self.decoder.buffer_values(batch))
            .saturating_add(inputs.saturating_mul(batch)) as u64;
        4 * (6 * self.parameter_count() as u64).saturating_add(2 * per_batch)
    }

    /// Encoder forward from the workspace's input.
    pub fn encode_ws(&self, ws: &mut Workspace) {
        self.encoder.forward(&ws.enc_in.view(), &mut ws.enc);
    }

    /// `mu` and `logvar` `[latent, B]` of the last forward pass.
    pub fn mu_logvar<'a>(&self, ws: &'a Workspace) -> (ArrayView2<'a, f32>, ArrayView2<'a, f32>) {
        let h = self.encoder.output(&ws.enc);
        let l = self.cfg.latent;
        (
            h.slice_move(s![..l, ..]),
            self.encoder.output(&ws.enc).slice_move(s![l.., ..]),
        )
    }

    /// Fill the decoder input: `z = mu + exp(logvar/2) * eps` (or `z = mu` when `sample` is
    /// false), then the genre one-hot (the first frame of the encoder's genre channels) at
    /// every latent step.
    fn reparameterise(&self, ws: &mut Workspace, sample: bool) {
        let l = self.cfg.latent;
        let h = self.encoder.output(&ws.enc);
        let (mu, lv) = (h.slice(s![..l, ..]), h.slice(s![l.., ..]));
        let mut z = ws.dec_in.slice_mut(s![..l, ..]);
        if sample {
            ndarray::Zip::from(&mut z)
                .and(&mu)
                .and(&lv)
                .and(&ws.eps)
                .for_each(|z, &m, &v, &e| *z = m + (0.5 * v).exp() * e);
        } else {
            z.assign(&mu);
        }
        let (t, b) = (self.cfg.frames, self.cfg.bands);
        for g in 0..self.cfg.n_genres {
            let src = ws.enc_in.row((b + g) * t);
            for row in self.genre_rows(g) {
                ws.dec_in.row_mut(row).assign(&src);
            }
        }
    }

    /// Decoder forward from the workspace's decoder input.
    fn decode_ws(&self, ws: &mut Workspace) {
        self.decoder.forward(&ws.dec_in.view(), &mut ws.dec);
    }

    /// Output clip `col` of the last forward pass, frame-major.
    pub fn output_clip(&self, ws: &Workspace, col: usize) -> Vec<f32> {
        to_frame_major(
            self.decoder.output(&ws.dec).column(col),
            self.cfg.frames,
            self.cfg.bands,
        )
    }

    /// Forward pass and loss values (no gradients). `sample` uses `ws.eps`; otherwise `z = mu`.
    pub fn forward(&self, ws: &mut Workspace, sample: bool, recon: ReconLoss) -> Losses {
        self.encode_ws(ws);
        self.reparameterise(ws, sample);
        self.decode_ws(ws);
        let recon = loss::reconstruction_value(recon, &self.decoder.output(&ws.dec), &ws.target());
        let (mu, lv) = self.mu_logvar(ws);
        Losses {
            recon,
            kl: loss::kl_per_dim(&mu, &lv).iter().sum(),
        }
    }

    /// Forward and backward with the noise in `ws.eps`: the gradients of the objective are
    /// left in the layers (replacing the previous ones).
    pub fn forward_backward(&mut self, ws: &mut Workspace, obj: &Objective) -> Losses {
        let l = self.cfg.latent;
        self.encode_ws(ws);
        self.reparameterise(ws, true);
        self.decode_ws(ws);
        let recon = {
            let target = ws.enc_in.slice(s![..self.cfg.bands * self.cfg.frames, ..]);
            let (y, mut dy) = self.decoder.output_and_grad(&mut ws.dec);
            let r = loss::reconstruction(obj.recon, &y, &target, &mut dy);
            if obj.flux > 0.0 {
                loss::flux(
                    obj.recon,
                    &y,
                    &target,
                    self.cfg.frames,
                    obj.flux,
                    Some(&mut dy),
                );
            }
            r
        };
        self.decoder.backward(
            &ws.dec_in.view(),
            &mut ws.dec,
            Some(&mut ws.dec_in_grad.view_mut()),
        );

        // Reparameterisation: dmu = dz, dlogvar = dz * eps * exp(logvar/2) / 2; then the KL.
        let kl = {
            let h = self.encoder.output(&ws.enc).to_owned();
            let (mu, lv) = (h.slice(s![..l, ..]), h.slice(s![l.., ..]));
            let dz = ws.dec_in_grad.slice(s![..l, ..]);
            let mut g = self.encoder.output_grad(&mut ws.enc);
            let (mut dmu, mut dlv) = g.view_mut().split_at(Axis(0), l);
            dmu.assign(&dz);
            ndarray::Zip::from(&mut dlv)
                .and(&dz)
                .and(&ws.eps)
                .and(&lv)
                .for_each(|d, &dz, &e, &v| *d = dz * e * 0.5 * (0.5 * v).exp());
            loss::kl(&mu, &lv, obj.beta, obj.free_bits, &mut dmu, &mut dlv)
        };
        // The encoder's input gradient is never needed.
        self.encoder.backward(&ws.enc_in.view(), &mut ws.enc, None);
        Losses { recon, kl }
    }

    /// Decode one latent vector with genre weights (a one-hot, or a blend when interpolating)
    /// to a clip, frame-major `frames x bands`.
    pub fn decode_clip(&self, z: &[f32], genre: &[f32]) -> Vec<f32> {
        let mut ws = Workspace::new(self, 1);
        self.set_latent(&mut ws, z, genre);
        self.decode_ws(&mut ws);
        self.output_clip(&ws, 0)
    }

    /// The decoder's raw output (channel-major, PyTorch's `[bands, frames]` flattened).
    pub fn decode_raw(&self, z: &[f32], genre: &[f32]) -> Vec<f32> {
        let mut ws = Workspace::new(self, 1);
        self.set_latent(&mut ws, z, genre);
        self.decode_ws(&mut ws);
        self.decoder.output(&ws.dec).column(0).to_vec()
    }

    /// The decoder input of column 0: latent `z` (`latent` values), then the genre weights
    /// (one per genre) at every latent step.
    fn set_latent(&self, ws: &mut Workspace, z: &[f32], genre: &[f32]) {
        let mut col = ws.dec_in.column_mut(0);
        for (d, &v) in col.iter_mut().zip(z.iter().take(self.cfg.latent)) {
            *d = v;
        }
        for (g, &v) in genre.iter().take(self.cfg.n_genres).enumerate() {
            col.slice_mut(s![self.genre_rows(g)]).fill(v);
        }
    }

    /// The decoder-input rows that hold genre `g`'s weight: one per latent step, after the
    /// latent.
    fn genre_rows(&self, g: usize) -> std::ops::Range<usize> {
        let (l, steps) = (self.cfg.latent, self.cfg.latent_steps);
        l + g * steps..l + (g + 1) * steps
    }

    /// Posterior mean of a normalised clip (frame-major) of a genre.
    pub fn encode_mean(&self, clip: &[f32], genre: usize) -> Vec<f32> {
        let mut ws = Workspace::new(self, 1);
        ws.set_sample(0, clip, genre);
        self.encode_ws(&mut ws);
        self.mu_logvar(&ws).0.column(0).to_vec()
    }
}

impl super::adam::Params for Vae {
    fn each_param<'a>(&'a self, f: &mut dyn FnMut(Param<'a>)) {
        self.visit(&mut |_, p| f(p));
    }
    fn each_param_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        self.visit_mut(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsp::rng::SplitMix64;

    fn tiny(arch: &Architecture) -> (Vae, Workspace) {
        let cfg = VaeConfig::new(6, 3, 2, 3, arch);
        let vae = Vae::new(cfg, &mut SplitMix64::new(11)).unwrap();
        let mut ws = Workspace::new(&vae, 3);
        let mut rng = SplitMix64::new(5);
        for b in 0..3 {
            let clip: Vec<f32> = (0..18).map(|_| 0.5 * rng.normal()).collect();
            ws.set_sample(b, &clip, b % 2);
        }
        ws.sample_eps(&mut rng);
        (vae, ws)
    }

    fn objective_value(vae: &Vae, ws: &mut Workspace, obj: &Objective) -> f64 {
        let l = vae.forward(ws, true, obj.recon);
        let (mu, lv) = vae.mu_logvar(ws);
        let flux = loss::flux(
            obj.recon,
            &vae.decoder.output(&ws.dec),
            &ws.target(),
            vae.cfg.frames,
            obj.flux,
            None,
        );
        l.recon
            + flux
            + obj.beta as f64 * loss::kl_objective(&loss::kl_per_dim(&mu, &lv), obj.free_bits)
    }

    /// Central finite differences for every weight and bias of both architectures (so every
    /// layer kind, the reparameterisation and the KL term are covered), in f32. Tolerance:
    /// `|analytic - numeric| <= 2e-2 * max(|numeric|, 0.1)` at h = 1e-2, or at h/4 where a
    /// step crosses a LeakyReLU kink; at most 2% (MLP) or 10% (conv, whose weights are shared
    /// over time steps, so one kink touches every weight of a layer) of the entries may need
    /// the smaller step.
    #[test]
    fn gradients_match_finite_differences() {
        let archs = [
            Architecture::Mlp { hidden: vec![6, 5] },
            Architecture::Conv {
                channels: 4,
                layers: 2,
                kernel: 3,
                step_latent: 0,
            },
            Architecture::Conv {
                channels: 4,
                layers: 2,
                kernel: 3,
                step_latent: 2,
            },
        ];
        for arch in archs {
            let (mut vae, mut ws) = tiny(&arch);
            // Larger weights in the small output layers so that every path carries signal, and
            // biases that are never exactly 0: a zero bias on an all-zero input (a padded edge)
            // puts a LeakyReLU exactly on its kink, where a central difference measures the
            // mean of both slopes whatever the step.
            vae.visit_mut(&mut |p| {
                if p.name == "weight" {
                    p.value.iter_mut().for_each(|w| *w *= 1.5);
                } else {
                    p.value
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, b)| *b = 0.05 * (i as f32 - 2.5));
                }
            });
            let obj = Objective {
                beta: 0.7,
                flux: 0.6,
                ..Default::default()
            };
            let l = vae.forward_backward(&mut ws, &obj);
            assert!(l.recon + l.kl < 80.0, "{l:?}");
            let mut analytic = Vec::new();
            vae.visit(&mut |_, p| analytic.push(p.grad.to_vec()));
            let h = 1e-2f32;
            let (mut checked, mut small_step) = (0, 0);
            for (pi, g) in analytic.iter().enumerate() {
                for (k, &gk) in g.iter().enumerate() {
                    let mut numeric_at = |h: f32| {
                        let bump = |vae: &mut Vae, d: f32| {
                            let mut idx = 0;
                            vae.visit_mut(&mut |p| {
                                if idx == pi {
                                    p.value[k] += d;
                                }
                                idx += 1;
                            });
                        };
                        bump(&mut vae, h);
                        let plus = objective_value(&vae, &mut ws, &obj);
                        bump(&mut vae, -2.0 * h);
                        let minus = objective_value(&vae, &mut ws, &obj);
                        bump(&mut vae, h);
                        (plus - minus) / (2.0 * h as f64)
                    };
                    let a = gk as f64;
                    let close = |n: f64| (a - n).abs() <= 2e-2 * n.abs().max(1e-1);
                    let n1 = numeric_at(h);
                    if !close(n1) {
                        let n2 = numeric_at(h / 4.0);
                        assert!(close(n2), "{arch}: tensor {pi}[{k}]: analytic {a} vs numeric {n1} (h) / {n2} (h/4)");
                        small_step += 1;
                    }
                    checked += 1;
                }
            }
            assert_eq!(checked, vae.parameter_count());
            let allowed = if matches!(arch, Architecture::Mlp { .. }) {
                50
            } else {
                10
            };
            assert!(
                small_step * allowed <= checked,
                "{arch}: {small_step} of {checked} entries needed the small step"
            );
        }
    }

    #[test]
    fn conv_preset_has_the_declared_shape_and_names() {
        let cfg = VaeConfig::new(256, 128, 5, 64, &Architecture::default());
        let vae = Vae::new(cfg, &mut SplitMix64::new(0)).unwrap();
        let mut names = Vec::new();
        vae.visit(&mut |n, p| names.push((n, p.shape)));
        assert_eq!(
            names[0],
            ("encoder.0.weight".to_string(), vec![192, 133, 5])
        );
        // 256 frames -> 128 -> 64 -> 32 steps of 192 channels into the dense layer.
        assert_eq!(
            names[6],
            ("encoder.6.weight".to_string(), vec![128, 192 * 32])
        );
        assert_eq!(names.last().unwrap().0, "decoder.10.bias");
        // A clip length that does not halve evenly (259 frames) is cropped back.
        let odd = VaeConfig::new(259, 128, 5, 64, &Architecture::default());
        assert_eq!(odd.decoder.last(), Some(&LayerSpec::Crop { time: 259 }));
        Vae::new(odd, &mut SplitMix64::new(0)).unwrap();
    }

    /// A latent per time step: the declared shapes, and each step's latent reaches only the
    /// frames near its step, while the genre reaches all. The decoder's kernel-3
    /// convolutions at 1, 2 and 4 frames per step spread a step by 4 + 2 + 1 frames on
    /// either side: step 5 (frames 20-23) reaches frames 13-30 and no others (a clip decoded
    /// alone takes the direct products, whose zero taps add nothing; batches of 8 or more take
    /// the Winograd products, whose terms cancel only in exact arithmetic).
    #[test]
    fn a_latent_per_step_acts_locally_and_the_genre_everywhere() {
        let arch = Architecture::Conv {
            channels: 4,
            layers: 2,
            kernel: 3,
            step_latent: 2,
        };
        // 64 frames -> 32 -> 16 steps of 2 latent values; 4 frames per step.
        let (frames, bands, genres) = (64, 3, 2);
        let cfg = VaeConfig::new(frames, bands, genres, 99, &arch);
        assert_eq!((cfg.latent, cfg.latent_steps), (32, 16));
        assert_eq!(cfg.decoder_input(), Shape::new(2 + genres, 16));
        let vae = Vae::new(cfg, &mut SplitMix64::new(3)).unwrap();
        let mut shapes = Vec::new();
        vae.visit(&mut |n, p| shapes.push((n, p.shape)));
        assert!(shapes.contains(&("encoder.4.weight".to_string(), vec![4, 4, 3])));
        assert!(shapes.contains(&("decoder.0.weight".to_string(), vec![4, 2 + genres, 3])));

        let mut rng = SplitMix64::new(8);
        let z: Vec<f32> = (0..32).map(|_| rng.normal()).collect();
        let base = vae.decode_clip(&z, &[1.0, 0.0]);
        // The first value of step 5 (channel-major: channel 0's steps come first).
        let mut z5 = z.clone();
        z5[5] += 1.0;
        let moved = vae.decode_clip(&z5, &[1.0, 0.0]);
        let changed = |a: &[f32], b: &[f32], t: usize| {
            (0..bands).any(|k| a[t * bands + k] != b[t * bands + k])
        };
        let touched: Vec<usize> = (0..frames).filter(|&t| changed(&base, &moved, t)).collect();
        assert!(touched.contains(&20) && touched.contains(&23));
        assert!(
            touched.iter().all(|&t| (13..=30).contains(&t)),
            "step 5 (frames 20-23) reached frames {touched:?}"
        );
        let other_genre = vae.decode_clip(&z, &[0.0, 1.0]);
        assert!(changed(&base, &other_genre, 0) && changed(&base, &other_genre, frames - 1));
    }

    #[test]
    fn a_declared_network_with_the_wrong_output_is_refused() {
        let mut cfg = VaeConfig::new(8, 4, 2, 3, &Architecture::Mlp { hidden: vec![5] });
        cfg.encoder.push(LayerSpec::Dense { out: 5 });
        let err = Vae::new(cfg, &mut SplitMix64::new(0))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("encoder ends in 5x1 values, expected 2 x latent = 6"),
            "{err}"
        );
    }

    #[test]
    fn training_drives_the_loss_down_on_a_small_problem() {
        // Four prototype clips, one per genre, plus noise: both networks must learn them.
        for arch in [
            Architecture::Mlp {
                hidden: vec![32, 16],
            },
            Architecture::Conv {
                channels: 8,
                layers: 2,
                kernel: 3,
                step_latent: 0,
            },
        ] {
            let cfg = VaeConfig::new(8, 5, 4, 4, &arch);
            let mut vae = Vae::new(cfg, &mut SplitMix64::new(3)).unwrap();
            let mut adam = super::super::AdamState::new(&vae);
            let acfg = super::super::AdamConfig {
                lr: 3e-3,
                clip_norm: Some(10.0),
                ..Default::default()
            };
            let mut ws = Workspace::new(&vae, 16);
            let mut rng = SplitMix64::new(9);
            let protos: Vec<Vec<f32>> = (0..4)
                .map(|g| {
                    (0..40)
                        .map(|i| ((i * (g + 1)) as f32 * 0.3).sin() * 2.0)
                        .collect()
                })
                .collect();
            let fill = |ws: &mut Workspace, rng: &mut SplitMix64| {
                for b in 0..16 {
                    let g = b % 4;
                    let clip: Vec<f32> = protos[g].iter().map(|v| v + 0.1 * rng.normal()).collect();
                    ws.set_sample(b, &clip, g);
                }
                ws.sample_eps(rng);
            };
            fill(&mut ws, &mut rng);
            let first = vae.forward(&mut ws, false, ReconLoss::Mse).recon;
            let obj = Objective {
                beta: 0.1,
                ..Default::default()
            };
            for _ in 0..400 {
                fill(&mut ws, &mut rng);
                vae.forward_backward(&mut ws, &obj);
                adam.apply(&mut vae, &acfg);
            }
            fill(&mut ws, &mut rng);
            let last = vae.forward(&mut ws, false, ReconLoss::Mse).recon;
            assert!(
                last < first * 0.1,
                "{arch}: reconstruction {first} -> {last}"
            );
        }
    }
}
