//! Data-parallel training steps: a batch split into shards, each shard through its own copy
//! of the network on its own thread, the gradients averaged into the main network.
//!
//! One matrix product per layer parallelised over two threads keeps both busy only in the
//! large products, and everything between them (im2col copies, activations, the loss) runs on
//! one; two shards of half a batch keep both threads busy for the whole step. The result is the
//! gradient of the whole batch (each shard's gradient is the mean over its own samples,
//! averaged weighted by the shard's size), up to floating-point rounding: the sums run in a
//! different order than in one pass over the batch.
//!
//! The number of shards is fixed by the batch ([`SHARDS`], fewer for tiny batches), never by
//! the number of threads, so a run gives the same numbers whatever the number of threads (on
//! one thread the shards simply run one after the other; tested).

use rand::RngCore;
use rayon::prelude::*;

use super::adam::{chunk_squares, CHUNK};
use super::matmul::with_threads;
use super::model::{Losses, Objective, Vae, Workspace};

/// Shards per batch.
pub const SHARDS: usize = 2;

/// The replicas and per-shard workspaces of data-parallel steps for one network and batch
/// size. Shard 0 runs on the main network itself; shard `i > 0` on `replicas[i - 1]`, whose
/// weights are copied from the main network before every step.
pub struct ShardedStep {
    replicas: Vec<Vae>,
    workspaces: Vec<Workspace>,
    /// The global L2 norm of the last step's averaged gradients (computed while averaging).
    grad_norm: f64,
}

impl ShardedStep {
    /// Shards for batches of `batch` samples of `vae` (`min(SHARDS, batch)` shards, sizes
    /// differing by at most one, the larger first).
    pub fn new(vae: &Vae, batch: usize) -> Self {
        let n = SHARDS.min(batch).max(1);
        let workspaces = (0..n)
            .map(|i| Workspace::new(vae, batch / n + usize::from(i < batch % n)))
            .collect();
        let replicas = (1..n)
            .map(|_| Vae::zeros(vae.cfg.clone()).expect("the network's own configuration"))
            .collect();
        ShardedStep {
            replicas,
            workspaces,
            grad_norm: 0.0,
        }
    }

    /// Samples per batch.
    pub fn batch(&self) -> usize {
        self.workspaces.iter().map(|w| w.batch).sum()
    }

    /// The workspace holding sample `col` of the batch, and the sample's column in it.
    pub fn locate(&mut self, mut col: usize) -> (&mut Workspace, usize) {
        for ws in &mut self.workspaces {
            if col < ws.batch {
                return (ws, col);
            }
            col -= ws.batch;
        }
        panic!("sample beyond the batch");
    }

    /// Draw every shard's reparameterisation noise from `rng`, shard after shard.
    pub fn sample_eps(&mut self, rng: &mut dyn RngCore) {
        for ws in &mut self.workspaces {
            ws.sample_eps(rng);
        }
    }

    /// The global L2 norm of the gradients the last [`ShardedStep::forward_backward`] left in
    /// the network: exactly [`super::adam::Params::grad_norm`] of them (the same sums in the
    /// same order), found in the pass that averaged them instead of one more pass over them.
    pub fn grad_norm(&self) -> f64 {
        self.grad_norm
    }

    /// Forward and backward over the whole batch: afterwards `vae` holds the batch's gradients
    /// (as [`Vae::forward_backward`] on the whole batch would, up to rounding), and the losses
    /// are the batch's.
    pub fn forward_backward(&mut self, vae: &mut Vae, obj: &Objective) -> Losses {
        for r in &mut self.replicas {
            copy_weights(vae, r);
        }
        // Each shard's products get an equal part of the threads.
        let threads = (rayon::current_num_threads() / self.workspaces.len()).max(1);
        let (first, rest) = self.workspaces.split_at_mut(1);
        let (main_loss, other_losses) = rayon::join(
            || with_threads(threads, || vae.forward_backward(&mut first[0], obj)),
            || {
                self.replicas
                    .par_iter_mut()
                    .zip(rest.par_iter_mut())
                    .map(|(r, ws)| with_threads(threads, || r.forward_backward(ws, obj)))
                    .collect::<Vec<Losses>>()
            },
        );
        let batch = self.batch() as f32;
        let weights: Vec<f32> = self
            .workspaces
            .iter()
            .map(|w| w.batch as f32 / batch)
            .collect();
        self.grad_norm = average_gradients(vae, &self.replicas, &weights).sqrt();
        let mut total = Losses {
            recon: main_loss.recon * weights[0] as f64,
            kl: main_loss.kl * weights[0] as f64,
        };
        for (l, &w) in other_losses.iter().zip(&weights[1..]) {
            total.recon += l.recon * w as f64;
            total.kl += l.kl * w as f64;
        }
        total
    }
}

/// Set `to`'s weights to `from`'s (same configuration).
fn copy_weights(from: &Vae, to: &mut Vae) {
    let mut values = Vec::new();
    from.visit(&mut |_, p| values.push(p.value));
    let mut i = 0;
    to.visit_mut(&mut |p| {
        p.value
            .par_chunks_mut(CHUNK)
            .zip(values[i].par_chunks(CHUNK))
            .for_each(|(d, s)| d.copy_from_slice(s));
        i += 1;
    });
}

/// `main.grad = weights[0] * main.grad + sum_i weights[i + 1] * replicas[i].grad`; returns
/// the sum of squares of the result, summed as [`super::adam::sum_squares`] sums each tensor (per chunk of
/// [`CHUNK`], the chunks in order) and the tensors in visiting order.
fn average_gradients(main: &mut Vae, replicas: &[Vae], weights: &[f32]) -> f64 {
    let mut grads: Vec<Vec<&[f32]>> = vec![Vec::new(); replicas.len()];
    for (r, g) in replicas.iter().zip(&mut grads) {
        r.visit(&mut |_, p| g.push(p.grad));
    }
    let mut i = 0;
    let mut squares = 0.0;
    main.visit_mut(&mut |p| {
        let parts: Vec<f64> = p
            .grad
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, d)| {
                let at = c * CHUNK;
                d.iter_mut().for_each(|v| *v *= weights[0]);
                for (g, &w) in grads.iter().zip(&weights[1..]) {
                    for (v, &x) in d.iter_mut().zip(&g[i][at..]) {
                        *v += w * x;
                    }
                }
                chunk_squares(d)
            })
            .collect();
        squares += parts.iter().sum::<f64>();
        i += 1;
    });
    squares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::model::{Architecture, VaeConfig};
    use dsp::rng::SplitMix64;

    /// A conv VAE of `frames x bands` clips, 3 genres, latent 4, 2 layers of `channels`.
    fn vae_of(frames: usize, bands: usize, channels: usize) -> Vae {
        let arch = Architecture::Conv {
            channels,
            layers: 2,
            kernel: 3,
            step_latent: 0,
        };
        let cfg = VaeConfig::new(frames, bands, 3, 4, &arch);
        Vae::new(cfg, &mut SplitMix64::new(3)).unwrap()
    }

    fn small_vae() -> Vae {
        vae_of(16, 6, 8)
    }

    /// The batch's clips, genres and noise, set into a whole-batch workspace and into the
    /// shards identically.
    fn fill(vae: &Vae, batch: usize) -> (Workspace, ShardedStep) {
        let mut whole = Workspace::new(vae, batch);
        let mut sharded = ShardedStep::new(vae, batch);
        let mut rng = SplitMix64::new(11);
        let len = vae.cfg.clip_len();
        for col in 0..batch {
            let clip: Vec<f32> = (0..len).map(|_| rng.normal()).collect();
            let genre = col % vae.cfg.n_genres;
            whole.set_sample(col, &clip, genre);
            let (ws, c) = sharded.locate(col);
            ws.set_sample(c, &clip, genre);
            for j in 0..vae.cfg.latent {
                let e = rng.normal();
                whole.eps[[j, col]] = e;
                ws.eps[[j, c]] = e;
            }
        }
        (whole, sharded)
    }

    fn grads(vae: &Vae) -> Vec<f32> {
        let mut g = Vec::new();
        vae.visit(&mut |_, p| g.extend_from_slice(p.grad));
        g
    }

    /// The gradients of `a` and `b` agree to 1e-4 of the largest (rounding differs).
    fn assert_same_gradients(a: &Vae, b: &Vae, what: &str) {
        let (ga, gb) = (grads(a), grads(b));
        let scale = ga.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = ga
            .iter()
            .zip(&gb)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            scale > 0.0 && worst <= 1e-4 * scale,
            "{what}: {worst} of {scale}"
        );
    }

    #[test]
    fn sharded_gradients_equal_the_whole_batch_gradients() {
        for batch in [1, 4, 5] {
            let mut a = small_vae();
            let mut b = small_vae();
            let obj = Objective::default();
            let (mut whole, mut sharded) = fill(&a, batch);
            assert_eq!(sharded.batch(), batch);
            let la = a.forward_backward(&mut whole, &obj);
            let lb = sharded.forward_backward(&mut b, &obj);
            assert!(
                (la.recon - lb.recon).abs() <= 1e-5 * la.recon.abs(),
                "{la:?} {lb:?}"
            );
            assert!(
                (la.kl - lb.kl).abs() <= 1e-5 * la.kl.abs().max(1e-3),
                "{la:?} {lb:?}"
            );
            assert_same_gradients(&a, &b, &format!("batch {batch}"));
            // The norm found while averaging is the norm of what was left, to the last bit.
            use crate::vae::adam::Params;
            assert_eq!(sharded.grad_norm(), b.grad_norm(), "batch {batch}");
            assert!(sharded.grad_norm() > 0.0);
        }
    }

    #[test]
    fn the_step_does_not_depend_on_the_number_of_threads() {
        let run = |threads: usize, batch: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                // Large enough that the first layer's products run in parallel on 4 threads (two
                // per shard).
                let mut vae = vae_of(128, 32, 64);
                let (_, mut sharded) = fill(&vae, batch);
                let l = sharded.forward_backward(&mut vae, &Objective::default());
                (l, grads(&vae))
            })
        };
        // Shards of 3 (the decoder's direct products) and of 8 (its Winograd products).
        for batch in [6, 2 * crate::vae::upconv::WINOGRAD_MIN_BATCH] {
            let (one, two, four) = (run(1, batch), run(2, batch), run(4, batch));
            assert_eq!(one, two, "batch {batch}");
            assert_eq!(one, four, "batch {batch}");
        }
    }

    #[test]
    fn replicas_take_the_main_weights_before_each_step() {
        let mut main = small_vae();
        let (_, mut sharded) = fill(&main, 4);
        // Change the main network after the shards were made: a stale replica would give the
        // second half of the batch other gradients than the first half's network.
        main.visit_mut(&mut |p| p.value.iter_mut().for_each(|v| *v *= 0.5));
        let mut reference = small_vae();
        reference.visit_mut(&mut |p| p.value.iter_mut().for_each(|v| *v *= 0.5));
        let (mut whole, _) = fill(&main, 4);
        let obj = Objective::default();
        reference.forward_backward(&mut whole, &obj);
        sharded.forward_backward(&mut main, &obj);
        assert_same_gradients(&reference, &main, "after the weights changed");
    }
}
