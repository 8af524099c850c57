//! The conditional VAE, written by hand on ndarray.
//!
//! ```text
//! encoder: [x; onehot(genre)] -> Dense -> LeakyReLU -> ... (hidden, e.g. 512, 256)
//!          -> Dense -> [mu; logvar]                 (2 * latent values: mu first)
//! sample:  z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)   (reparameterisation)
//! decoder: [z; onehot(genre)] -> Dense -> LeakyReLU -> ... (hidden reversed, e.g. 256, 512)
//!          -> Dense -> y                          (linear: inputs are standardised)
//! ```
//!
//! Activations are feature-major `[features, batch]`. Every buffer lives in a [`Workspace`]
//! sized for a batch once, so a training step allocates nothing after the first.

use ndarray::{s, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::adam::{adam_update, sum_squares, AdamConfig};
use super::dense::{leaky_relu, leaky_relu_backward, Dense};
use super::loss;
use dsp::rng::SplitMix64;

/// The network's shape. Defaults: hidden (512, 256), latent 64, LeakyReLU slope 0.01.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Values per clip (frames x bands).
    pub input_dim: usize,
    pub n_genres: usize,
    /// Encoder hidden sizes; the decoder uses them reversed.
    pub hidden: Vec<usize>,
    pub latent: usize,
    pub leaky_slope: f32,
}

impl VaeConfig {
    pub fn new(input_dim: usize, n_genres: usize) -> Self {
        VaeConfig {
            input_dim,
            n_genres,
            hidden: vec![512, 256],
            latent: 64,
            leaky_slope: 0.01,
        }
    }
}

/// Loss terms of a batch (per clip: sums over the clip, averaged over the batch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Losses {
    pub recon: f64,
    pub kl: f64,
}

#[derive(Debug, Clone)]
pub struct Vae {
    pub cfg: VaeConfig,
    pub enc: Vec<Dense>,
    pub dec: Vec<Dense>,
}

/// Per-batch buffers: inputs, activations and their gradients, noise.
pub struct Workspace {
    pub batch: usize,
    /// Encoder input `[input_dim + n_genres, B]`: the clip, then the genre one-hot. The caller
    /// fills it (see [`Workspace::set_sample`]).
    pub enc_in: Array2<f32>,
    enc_act: Vec<Array2<f32>>,
    enc_grad: Vec<Array2<f32>>,
    /// Decoder input `[latent + n_genres, B]`.
    dec_in: Array2<f32>,
    dec_in_grad: Array2<f32>,
    dec_act: Vec<Array2<f32>>,
    dec_grad: Vec<Array2<f32>>,
    /// Noise `[latent, B]`.
    pub eps: Array2<f32>,
}

impl Workspace {
    pub fn new(cfg: &VaeConfig, batch: usize) -> Self {
        let enc_sizes: Vec<usize> = cfg.hidden.iter().copied().chain([2 * cfg.latent]).collect();
        let dec_sizes: Vec<usize> = cfg
            .hidden
            .iter()
            .rev()
            .copied()
            .chain([cfg.input_dim])
            .collect();
        let mk = |sizes: &[usize]| {
            sizes
                .iter()
                .map(|&n| Array2::zeros((n, batch)))
                .collect::<Vec<_>>()
        };
        Workspace {
            batch,
            enc_in: Array2::zeros((cfg.input_dim + cfg.n_genres, batch)),
            enc_act: mk(&enc_sizes),
            enc_grad: mk(&enc_sizes),
            dec_in: Array2::zeros((cfg.latent + cfg.n_genres, batch)),
            dec_in_grad: Array2::zeros((cfg.latent + cfg.n_genres, batch)),
            dec_act: mk(&dec_sizes),
            dec_grad: mk(&dec_sizes),
            eps: Array2::zeros((cfg.latent, batch)),
        }
    }

    /// Put sample `col` of the batch: a normalised clip (`input_dim` values) and its genre.
    pub fn set_sample(&mut self, col: usize, clip: &[f32], genre: usize) {
        let d = clip.len();
        let mut c = self.enc_in.column_mut(col);
        for (dst, &v) in c.iter_mut().zip(clip) {
            *dst = v;
        }
        for (g, dst) in c.iter_mut().skip(d).enumerate() {
            *dst = if g == genre { 1.0 } else { 0.0 };
        }
    }

    pub fn sample_eps(&mut self, rng: &mut SplitMix64) {
        self.eps.iter_mut().for_each(|e| *e = rng.normal());
    }

    /// The decoder output `[input_dim, B]` of the last forward pass.
    pub fn output(&self) -> ArrayView2<'_, f32> {
        self.dec_act.last().expect("decoder has layers").view()
    }

    /// `mu` and `logvar` `[latent, B]` of the last forward pass.
    pub fn mu_logvar(&self) -> (ArrayView2<'_, f32>, ArrayView2<'_, f32>) {
        let h = self.enc_act.last().expect("encoder has layers");
        let l = h.nrows() / 2;
        (h.slice(s![..l, ..]), h.slice(s![l.., ..]))
    }
}

impl Vae {
    /// A new network with seeded He-uniform weights.
    pub fn new(cfg: VaeConfig, seed: u64) -> Self {
        let mut rng = SplitMix64::stream(seed, 0x1417);
        let mut enc = Vec::new();
        let mut inp = cfg.input_dim + cfg.n_genres;
        for &h in &cfg.hidden {
            enc.push(Dense::new(inp, h, &mut rng, 1.0));
            inp = h;
        }
        // Small output layers start the posterior near N(0, I) and the reconstruction near 0.
        enc.push(Dense::new(inp, 2 * cfg.latent, &mut rng, 0.1));
        let mut dec = Vec::new();
        let mut inp = cfg.latent + cfg.n_genres;
        for &h in cfg.hidden.iter().rev() {
            dec.push(Dense::new(inp, h, &mut rng, 1.0));
            inp = h;
        }
        dec.push(Dense::new(inp, cfg.input_dim, &mut rng, 0.1));
        Vae { cfg, enc, dec }
    }

    /// Names and layers in safetensors order: `encoder.{i}`, `decoder.{i}`.
    pub fn layers(&self) -> Vec<(String, &Dense)> {
        let e = self
            .enc
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("encoder.{i}"), l));
        let d = self
            .dec
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("decoder.{i}"), l));
        e.chain(d).collect()
    }

    pub fn layers_mut(&mut self) -> Vec<&mut Dense> {
        self.enc.iter_mut().chain(self.dec.iter_mut()).collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.layers()
            .iter()
            .map(|(_, l)| l.w.len() + l.b.len())
            .sum()
    }

    /// Encoder forward from `ws.enc_in` into `ws.enc_act`.
    pub fn encode_ws(&self, ws: &mut Workspace) {
        forward_stack(&self.enc, &ws.enc_in, &mut ws.enc_act, self.cfg.leaky_slope);
    }

    /// Fill the decoder input: `z = mu + exp(logvar/2) * eps` (or `z = mu` when `sample` is
    /// false), then the genre one-hot copied from the encoder input.
    fn reparameterise(&self, ws: &mut Workspace, sample: bool) {
        let l = self.cfg.latent;
        let d = self.cfg.input_dim;
        let h = ws.enc_act.last().expect("encoder has layers");
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
        let onehot = ws.enc_in.slice(s![d.., ..]);
        ws.dec_in.slice_mut(s![l.., ..]).assign(&onehot);
    }

    /// Decoder forward from `ws.dec_in` into `ws.dec_act`.
    pub fn decode_ws(&self, ws: &mut Workspace) {
        forward_stack(&self.dec, &ws.dec_in, &mut ws.dec_act, self.cfg.leaky_slope);
    }

    /// Forward pass and loss values (no gradients). `sample` uses `ws.eps`; otherwise `z = mu`.
    pub fn forward(&self, ws: &mut Workspace, sample: bool) -> Losses {
        self.encode_ws(ws);
        self.reparameterise(ws, sample);
        self.decode_ws(ws);
        let d = self.cfg.input_dim;
        let recon = loss::reconstruction_value(&ws.output(), &ws.enc_in.slice(s![..d, ..]));
        let (mu, lv) = ws.mu_logvar();
        let kl = ndarray::Zip::from(&mu)
            .and(&lv)
            .fold(0.0f64, |acc, &m, &v| {
                acc - 0.5 * (1.0 + v as f64 - (m as f64) * (m as f64) - (v as f64).exp())
            })
            / ws.batch as f64;
        Losses { recon, kl }
    }

    /// Forward and backward with the noise in `ws.eps`: the gradients of `recon + beta * kl`
    /// are left in the layers (replacing the previous ones).
    pub fn forward_backward(&mut self, ws: &mut Workspace, beta: f32) -> Losses {
        let slope = self.cfg.leaky_slope;
        let (l, d) = (self.cfg.latent, self.cfg.input_dim);
        self.encode_ws(ws);
        self.reparameterise(ws, true);
        self.decode_ws(ws);

        // Decoder, from the reconstruction loss back to the decoder input.
        let n = self.dec.len();
        let recon = {
            let x = ws.enc_in.slice(s![..d, ..]);
            loss::reconstruction(
                &ws.dec_act[n - 1].view(),
                &x,
                &mut ws.dec_grad[n - 1].view_mut(),
            )
        };
        for i in (0..n).rev() {
            let (g_before, g_rest) = ws.dec_grad.split_at_mut(i);
            let dy = g_rest[0].view();
            let x = if i == 0 {
                ws.dec_in.view()
            } else {
                ws.dec_act[i - 1].view()
            };
            if i == 0 {
                self.dec[i].backward(&x, &dy, Some(&mut ws.dec_in_grad.view_mut()));
            } else {
                let dx = &mut g_before[i - 1];
                self.dec[i].backward(&x, &dy, Some(&mut dx.view_mut()));
                leaky_relu_backward(&ws.dec_act[i - 1].view(), &mut dx.view_mut(), slope);
            }
        }

        // Reparameterisation: dmu = dz, dlogvar = dz * eps * exp(logvar/2) / 2; then the KL.
        let m = self.enc.len();
        let kl = {
            let h = &ws.enc_act[m - 1];
            let (mu, lv) = (h.slice(s![..l, ..]), h.slice(s![l.., ..]));
            let dz = ws.dec_in_grad.slice(s![..l, ..]);
            let g = &mut ws.enc_grad[m - 1];
            let (mut dmu, mut dlv) = g.view_mut().split_at(Axis(0), l);
            dmu.assign(&dz);
            ndarray::Zip::from(&mut dlv)
                .and(&dz)
                .and(&ws.eps)
                .and(&lv)
                .for_each(|d, &dz, &e, &v| *d = dz * e * 0.5 * (0.5 * v).exp());
            loss::kl(&mu, &lv, beta, &mut dmu, &mut dlv)
        };

        // Encoder; the first layer's input gradient is never needed.
        for i in (0..m).rev() {
            let (g_before, g_rest) = ws.enc_grad.split_at_mut(i);
            let dy = g_rest[0].view();
            if i == 0 {
                self.enc[0].backward(&ws.enc_in.view(), &dy, None);
            } else {
                let dx = &mut g_before[i - 1];
                self.enc[i].backward(&ws.enc_act[i - 1].view(), &dy, Some(&mut dx.view_mut()));
                leaky_relu_backward(&ws.enc_act[i - 1].view(), &mut dx.view_mut(), slope);
            }
        }
        Losses { recon, kl }
    }

    /// Decode latent vectors `z: [latent, B]` with genre weights `genre: [n_genres, B]` (a
    /// one-hot, or a blend when interpolating) to outputs `[input_dim, B]`.
    pub fn decode(&self, z: &ArrayView2<f32>, genre: &ArrayView2<f32>) -> Array2<f32> {
        let mut ws = Workspace::new(&self.cfg, z.ncols());
        let l = self.cfg.latent;
        ws.dec_in.slice_mut(s![..l, ..]).assign(z);
        ws.dec_in.slice_mut(s![l.., ..]).assign(genre);
        self.decode_ws(&mut ws);
        ws.output().to_owned()
    }

    /// Posterior means `[latent, B]` of normalised clips `x: [input_dim, B]` with genres.
    pub fn encode_mean(&self, x: &ArrayView2<f32>, genres: &[usize]) -> Array2<f32> {
        let mut ws = Workspace::new(&self.cfg, x.ncols());
        for (b, &g) in genres.iter().enumerate() {
            let col = x.column(b).to_vec();
            ws.set_sample(b, &col, g);
        }
        self.encode_ws(&mut ws);
        ws.mu_logvar().0.to_owned()
    }

    /// Global L2 norm of all gradients.
    pub fn grad_norm(&self) -> f64 {
        self.layers()
            .iter()
            .map(|(_, l)| {
                sum_squares(l.gw.as_slice().expect("contiguous"))
                    + sum_squares(l.gb.as_slice().expect("contiguous"))
            })
            .sum::<f64>()
            .sqrt()
    }
}

/// Run a stack of dense layers: LeakyReLU after every layer but the last (linear output);
/// `acts[i]` receives layer `i`'s output.
fn forward_stack(layers: &[Dense], input: &Array2<f32>, acts: &mut [Array2<f32>], slope: f32) {
    let n = layers.len();
    for i in 0..n {
        let (before, rest) = acts.split_at_mut(i);
        let x = if i == 0 {
            input.view()
        } else {
            before[i - 1].view()
        };
        let y = &mut rest[0];
        layers[i].forward(&x, &mut y.view_mut());
        if i + 1 < n {
            leaky_relu(&mut y.view_mut(), slope);
        }
    }
}

/// Adam moments for every tensor of a [`Vae`], in `layers()` order (weight, then bias).
#[derive(Debug, Clone)]
pub struct AdamState {
    pub step: u64,
    pub m: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
}

impl AdamState {
    pub fn new(vae: &Vae) -> Self {
        let sizes: Vec<usize> = vae
            .layers()
            .iter()
            .flat_map(|(_, l)| [l.w.len(), l.b.len()])
            .collect();
        AdamState {
            step: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// One optimiser step from the gradients in `vae` (clipped to `cfg.clip_norm` if set).
    /// Returns the gradient norm before clipping.
    pub fn apply(&mut self, vae: &mut Vae, cfg: &AdamConfig) -> f64 {
        let norm = vae.grad_norm();
        let scale = match cfg.clip_norm {
            Some(c) if norm > c as f64 => (c as f64 / norm) as f32,
            _ => 1.0,
        };
        self.step += 1;
        let t = self.step;
        for (i, layer) in vae.layers_mut().into_iter().enumerate() {
            let (w, gw) = (
                layer.w.as_slice_mut().expect("contiguous"),
                layer.gw.as_slice().expect("contiguous"),
            );
            adam_update(cfg, t, scale, w, gw, &mut self.m[2 * i], &mut self.v[2 * i]);
            let (b, gb) = (
                layer.b.as_slice_mut().expect("contiguous"),
                layer.gb.as_slice().expect("contiguous"),
            );
            adam_update(
                cfg,
                t,
                scale,
                b,
                gb,
                &mut self.m[2 * i + 1],
                &mut self.v[2 * i + 1],
            );
        }
        norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (Vae, Workspace) {
        let cfg = VaeConfig {
            input_dim: 7,
            n_genres: 3,
            hidden: vec![6, 5],
            latent: 3,
            leaky_slope: 0.1,
        };
        let vae = Vae::new(cfg.clone(), 11);
        let mut ws = Workspace::new(&cfg, 4);
        let mut rng = SplitMix64::new(5);
        for b in 0..4 {
            let clip: Vec<f32> = (0..7).map(|_| 0.5 * rng.normal()).collect();
            ws.set_sample(b, &clip, b % 3);
        }
        ws.sample_eps(&mut rng);
        (vae, ws)
    }

    fn total(vae: &Vae, ws: &mut Workspace, beta: f32) -> f64 {
        let l = vae.forward(ws, true);
        l.recon + beta as f64 * l.kl
    }

    /// Central finite differences for every weight and bias of every layer (so every layer,
    /// the reparameterisation and the KL term are covered), in f32.
    /// Tolerance: |analytic - numeric| <= 2e-2 * max(|numeric|, 1e-1) at h = 1e-2 or, where a
    /// step of h crosses a LeakyReLU kink (the difference quotient then averages two slopes),
    /// at h = 2.5e-3; at most 2% of the entries may need the smaller step.
    #[test]
    fn gradients_match_finite_differences() {
        let (mut vae, mut ws) = tiny();
        // Larger weights in the small output layers so that every path carries signal.
        for layer in vae.layers_mut() {
            layer.w.mapv_inplace(|w| w * 1.5);
            layer
                .b
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = 0.05 * (i as f32 - 2.0));
        }
        let beta = 0.7;
        let l = vae.forward_backward(&mut ws, beta);
        // Keep the loss small: f32 rounding of the loss, divided by 2h, is the noise floor.
        assert!(l.recon + l.kl < 50.0, "{l:?}");
        let analytic: Vec<(Vec<f32>, Vec<f32>)> = vae
            .layers()
            .iter()
            .map(|(_, l)| {
                (
                    l.gw.iter().copied().collect(),
                    l.gb.iter().copied().collect(),
                )
            })
            .collect();
        let h = 1e-2f32;
        let (mut checked, mut small_step) = (0, 0);
        for li in 0..analytic.len() {
            for which in 0..2 {
                let n = if which == 0 {
                    analytic[li].0.len()
                } else {
                    analytic[li].1.len()
                };
                for k in 0..n {
                    let get = |vae: &mut Vae| -> *mut f32 {
                        let layer = &mut vae.layers_mut()[li];
                        if which == 0 {
                            &mut layer.w.as_slice_mut().unwrap()[k]
                        } else {
                            &mut layer.b.as_slice_mut().unwrap()[k]
                        }
                    };
                    let p = get(&mut vae);
                    let mut numeric_at = |h: f32| {
                        // SAFETY: p points into vae's own parameter storage, which is not resized.
                        let orig = unsafe { *p };
                        unsafe { *p = orig + h };
                        let plus = total(&vae, &mut ws, beta);
                        unsafe { *p = orig - h };
                        let minus = total(&vae, &mut ws, beta);
                        unsafe { *p = orig };
                        (plus - minus) / (2.0 * h as f64)
                    };
                    let a = if which == 0 {
                        analytic[li].0[k]
                    } else {
                        analytic[li].1[k]
                    } as f64;
                    let close =
                        |numeric: f64| (a - numeric).abs() <= 2e-2 * numeric.abs().max(1e-1);
                    let n1 = numeric_at(h);
                    if !close(n1) {
                        let n2 = numeric_at(h / 4.0);
                        assert!(
                            close(n2),
                            "layer {li} {} [{k}]: analytic {a} vs numeric {n1} (h) / {n2} (h/4)",
                            if which == 0 { "weight" } else { "bias" }
                        );
                        small_step += 1;
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, vae.parameter_count());
        assert!(
            small_step * 50 <= checked,
            "{small_step} of {checked} entries needed the small step"
        );
    }

    #[test]
    fn kl_gradient_alone_matches_finite_differences() {
        // KL of mu, logvar as free variables, in f64 arithmetic through the f32 API.
        let mu = Array2::from_shape_vec((2, 2), vec![0.3f32, -1.2, 0.8, 0.0]).unwrap();
        let lv = Array2::from_shape_vec((2, 2), vec![-0.5f32, 0.4, 1.1, -2.0]).unwrap();
        let mut dmu = Array2::zeros((2, 2));
        let mut dlv = Array2::zeros((2, 2));
        let k0 = loss::kl(
            &mu.view(),
            &lv.view(),
            1.0,
            &mut dmu.view_mut(),
            &mut dlv.view_mut(),
        );
        // Closed form for one entry: -0.5 (1 + lv - mu^2 - e^lv) / B.
        let expect: f64 = mu
            .iter()
            .zip(lv.iter())
            .map(|(&m, &v)| -0.5 * (1.0 + v as f64 - (m * m) as f64 - (v as f64).exp()))
            .sum::<f64>()
            / 2.0;
        assert!((k0 - expect).abs() < 1e-6);
        let h = 1e-3f32;
        for i in 0..4 {
            for (which, g) in [(0, &dmu), (1, &dlv)] {
                let eval = |delta: f32| {
                    let (mut m2, mut v2) = (mu.clone(), lv.clone());
                    if which == 0 {
                        m2.as_slice_mut().unwrap()[i] += delta;
                    } else {
                        v2.as_slice_mut().unwrap()[i] += delta;
                    }
                    let (mut a, mut b) = (Array2::zeros((2, 2)), Array2::zeros((2, 2)));
                    loss::kl(
                        &m2.view(),
                        &v2.view(),
                        1.0,
                        &mut a.view_mut(),
                        &mut b.view_mut(),
                    )
                };
                let numeric = (eval(h) - eval(-h)) / (2.0 * h as f64);
                let a = g.as_slice().unwrap()[i] as f64;
                assert!((a - numeric).abs() < 1e-3, "{which} {i}: {a} vs {numeric}");
            }
        }
    }

    #[test]
    fn training_drives_the_loss_down_on_a_small_problem() {
        // Four prototype clips, one per genre, plus noise: the VAE must learn to reconstruct.
        let cfg = VaeConfig {
            input_dim: 40,
            n_genres: 4,
            hidden: vec![32, 16],
            latent: 4,
            leaky_slope: 0.01,
        };
        let mut vae = Vae::new(cfg.clone(), 3);
        let mut adam = AdamState::new(&vae);
        let acfg = AdamConfig {
            lr: 3e-3,
            clip_norm: Some(10.0),
            ..Default::default()
        };
        let mut ws = Workspace::new(&cfg, 16);
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
        let first = vae.forward(&mut ws, false).recon;
        for _ in 0..400 {
            fill(&mut ws, &mut rng);
            vae.forward_backward(&mut ws, 0.1);
            adam.apply(&mut vae, &acfg);
        }
        fill(&mut ws, &mut rng);
        let last = vae.forward(&mut ws, false).recon;
        assert!(last < first * 0.1, "reconstruction {first} -> {last}");
    }
}
