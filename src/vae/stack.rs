//! A sequence of layers (PyTorch's `nn.Sequential`), with the per-batch buffers it runs in.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::layer::{
    Init, Layer, LayerSpec, Param, ParamMut, Shape, ShapeError, MAX_LAYER_OUTPUTS,
    MAX_LAYER_WEIGHTS, MAX_STACK_WEIGHTS,
};
use super::reshape::Reshape;
use super::upconv::UpsampleConv1d;

pub struct Stack {
    input: Shape,
    layers: Vec<Box<dyn Layer>>,
}

/// Activations, their gradients and each layer's scratch for one batch size, allocated once.
pub struct StackBuffers {
    acts: Vec<Array2<f32>>,
    grads: Vec<Array2<f32>>,
    scratch: Vec<Vec<f32>>,
}

/// `(factor, out, kernel)` when `specs[i]` upsamples and `specs[i + 1]` is a stride-1
/// convolution of odd kernel: a pair [`Stack::build`] computes as one [`UpsampleConv1d`].
fn upsample_conv(specs: &[LayerSpec], i: usize) -> Option<(usize, usize, usize)> {
    match (specs.get(i)?, specs.get(i + 1)?) {
        (
            &LayerSpec::Upsample { factor },
            &LayerSpec::Conv1d {
                out,
                kernel,
                stride: 1,
            },
        ) if factor >= 1 && out > 0 && kernel % 2 == 1 => Some((factor, out, kernel)),
        _ => None,
    }
}

impl Stack {
    /// Build `specs` in order from `input`. The last layer with parameters is initialised with
    /// `out_gain`, the others with gain 1. An upsampling followed by a stride-1 convolution of
    /// odd kernel is computed as one [`UpsampleConv1d`] in the convolution's place (the same
    /// function and parameters, fewer operations), the upsampling's place passing its input
    /// through; every parameter keeps its name.
    pub fn build(
        specs: &[LayerSpec],
        input: Shape,
        init: &mut Init,
        out_gain: f32,
    ) -> Result<Self, ShapeError> {
        let last_param = specs.iter().rposition(LayerSpec::has_params);
        let mut layers = Vec::with_capacity(specs.len());
        let mut shape = input;
        let mut weights = 0usize;
        for (i, spec) in specs.iter().enumerate() {
            let gain = if Some(i) == last_param { out_gain } else { 1.0 };
            let refuse = |reason: String| ShapeError {
                index: i,
                spec: spec.clone(),
                input: shape,
                reason,
            };
            // Both weight limits before the layer is allocated (a fused upsampling's `shape`
            // has the channels its convolution sees).
            let layer_weights = spec.weights(shape);
            if layer_weights > MAX_LAYER_WEIGHTS {
                return Err(refuse(format!(
                    "{layer_weights} weights, more than the {MAX_LAYER_WEIGHTS} a layer may have"
                )));
            }
            weights = weights.saturating_add(layer_weights);
            if weights > MAX_STACK_WEIGHTS {
                return Err(refuse(format!(
                    "the layers up to this one have {weights} weights, more than the {MAX_STACK_WEIGHTS} a network's encoder or decoder may have"
                )));
            }
            let layer: Box<dyn Layer> = if let Some((factor, out, kernel)) =
                i.checked_sub(1).and_then(|p| upsample_conv(specs, p))
            {
                // Its upsampling passed the input through: `shape` is before upsampling.
                Box::new(UpsampleConv1d::new(shape, factor, out, kernel, init, gain))
            } else if upsample_conv(specs, i).is_some() {
                Box::new(Reshape::new(shape, shape))
            } else {
                spec.build(shape, init, gain).map_err(refuse)?
            };
            let out = layer.output_shape();
            if out
                .channels
                .checked_mul(out.time)
                .is_none_or(|n| n > MAX_LAYER_OUTPUTS)
            {
                return Err(refuse(format!(
                    "{} x {} outputs per sample, more than the {MAX_LAYER_OUTPUTS} a layer may give",
                    out.channels, out.time
                )));
            }
            shape = out;
            layers.push(layer);
        }
        Ok(Stack { input, layers })
    }

    pub fn input_shape(&self) -> Shape {
        self.input
    }

    pub fn output_shape(&self) -> Shape {
        self.layers.last().map_or(self.input, |l| l.output_shape())
    }

    /// Values [`Stack::buffers`] holds for `batch` samples: every layer's output and its
    /// gradient, and the layers' scratch.
    pub fn buffer_values(&self, batch: usize) -> usize {
        self.layers
            .iter()
            .map(|l| {
                (2 * l.output_shape().features())
                    .saturating_mul(batch)
                    .saturating_add(l.scratch_len(batch))
            })
            .fold(0, usize::saturating_add)
    }

    pub fn buffers(&self, batch: usize) -> StackBuffers {
        let mk = || {
            self.layers
                .iter()
                .map(|l| Array2::zeros((l.output_shape().features(), batch)))
                .collect()
        };
        StackBuffers {
            acts: mk(),
            grads: mk(),
            scratch: self
                .layers
                .iter()
                .map(|l| vec![0.0; l.scratch_len(batch)])
                .collect(),
        }
    }

    /// Run every layer on `x` (`[input features, B]`).
    pub fn forward(&self, x: &ArrayView2<f32>, buf: &mut StackBuffers) {
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, rest) = buf.acts.split_at_mut(i);
            let input = if i == 0 {
                x.view()
            } else {
                before[i - 1].view()
            };
            layer.forward(&input, &mut rest[0].view_mut(), &mut buf.scratch[i]);
        }
    }

    /// The last forward pass's output `[output features, B]`.
    pub fn output<'a>(&self, buf: &'a StackBuffers) -> ArrayView2<'a, f32> {
        buf.acts.last().expect("a stack has layers").view()
    }

    /// Where the caller writes `dL/d(output)` before [`Stack::backward`].
    pub fn output_grad<'a>(&self, buf: &'a mut StackBuffers) -> ArrayViewMut2<'a, f32> {
        buf.grads.last_mut().expect("a stack has layers").view_mut()
    }

    /// The last output and its gradient buffer at once (for losses that read one and write the other).
    pub fn output_and_grad<'a>(
        &self,
        buf: &'a mut StackBuffers,
    ) -> (ArrayView2<'a, f32>, ArrayViewMut2<'a, f32>) {
        (
            buf.acts.last().expect("a stack has layers").view(),
            buf.grads.last_mut().expect("a stack has layers").view_mut(),
        )
    }

    /// Backpropagate the output gradient through every layer (same `x` as the forward pass),
    /// leaving parameter gradients in the layers and, if asked, `dL/dx` in `dx`.
    pub fn backward(
        &mut self,
        x: &ArrayView2<f32>,
        buf: &mut StackBuffers,
        mut dx: Option<&mut ArrayViewMut2<f32>>,
    ) {
        for i in (0..self.layers.len()).rev() {
            let (g_before, g_rest) = buf.grads.split_at_mut(i);
            let y = buf.acts[i].view();
            let dy = g_rest[0].view();
            if i == 0 {
                self.layers[0].backward(x, &y, &dy, dx.as_deref_mut(), &mut buf.scratch[0]);
            } else {
                let input = buf.acts[i - 1].view();
                let mut prev = g_before[i - 1].view_mut();
                self.layers[i].backward(&input, &y, &dy, Some(&mut prev), &mut buf.scratch[i]);
            }
        }
    }

    /// Visit parameters as `{prefix}.{layer index}.{name}`.
    pub fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(String, Param<'a>)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(&mut |p| f(format!("{prefix}.{i}.{}", p.name), p));
        }
    }

    pub fn visit_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        for l in self.layers.iter_mut() {
            l.visit_mut(f);
        }
    }
}

impl super::adam::Params for Stack {
    fn each_param<'a>(&'a self, f: &mut dyn FnMut(Param<'a>)) {
        for l in &self.layers {
            l.visit(f);
        }
    }
    fn each_param_mut<'a>(&'a mut self, f: &mut dyn FnMut(ParamMut<'a>)) {
        self.visit_mut(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vae::layer::check::rand_array;
    use dsp::rng::SplitMix64;

    /// Layers too large for memory are refused before their weights or outputs exist, each
    /// kind at the first layer over its limit; the largest allowed ones build.
    #[test]
    fn oversized_layers_are_refused_before_allocating() {
        let build = |specs: &[LayerSpec], input: Shape| {
            Stack::build(specs, input, &mut Init::Zeros, 1.0)
                .err()
                .map(|e| (e.index, e.reason))
        };
        let wide = Shape::new(64, 16);
        // 1024 x 65536 = 2^26 weights: the limit itself.
        assert_eq!(
            build(&[LayerSpec::Dense { out: 65536 }], Shape::flat(1024)),
            None
        );
        let (at, why) = build(&[LayerSpec::Dense { out: 65537 }], Shape::flat(1024)).unwrap();
        assert!(at == 0 && why.contains("weights"), "{why}");
        let conv = |out| LayerSpec::Conv1d {
            out,
            kernel: 3,
            stride: 1,
        };
        // 8192 channels x kernel 3 in, 3000 out: 73.7M weights (and only 3000 outputs).
        let deep = Shape::new(8192, 1);
        let (at, why) = build(&[conv(3000)], deep).unwrap();
        assert!(at == 0 && why.contains("weights"), "{why}");
        let (at, why) = build(&[conv(8192), conv(3000)], Shape::new(4, 1)).unwrap();
        assert!(at == 1 && why.contains("weights"), "{why}");
        // Fused upsampling and convolution (built at the convolution's place): the same check.
        let (at, why) = build(&[LayerSpec::Upsample { factor: 2 }, conv(3000)], deep).unwrap();
        assert!(at == 1 && why.contains("weights"), "{why}");
        // Many layers, each within its own limit: refused at the first that takes the stack's
        // weights over its limit (8 x 8192 x 8192 x 1 = 2^29 > 2^27: the third).
        let many: Vec<LayerSpec> = (0..8)
            .map(|_| LayerSpec::Conv1d {
                out: 8192,
                kernel: 1,
                stride: 1,
            })
            .collect();
        let (at, why) = build(&many, Shape::new(8192, 1)).unwrap();
        assert!(at == 2 && why.contains("encoder or decoder"), "{why}");
        // 64 channels x 16 steps upsampled 1024 times: 2^20 outputs, the limit; 2048 times is over.
        assert_eq!(build(&[LayerSpec::Upsample { factor: 1024 }], wide), None);
        let (at, why) = build(&[LayerSpec::Upsample { factor: 2048 }], wide).unwrap();
        assert!(at == 0 && why.contains("outputs per sample"), "{why}");
    }

    /// An upsampling and the convolution after it run fused, with the output of the two
    /// layers built one by one from the same draws, and the parameters keep the convolution's
    /// place in the names (checkpoints and PyTorch see the declared layers).
    #[test]
    fn a_fused_upsampling_convolution_is_the_declared_pair() {
        let specs = vec![
            LayerSpec::Upsample { factor: 2 },
            LayerSpec::Conv1d {
                out: 3,
                kernel: 5,
                stride: 1,
            },
            LayerSpec::LeakyRelu { slope: 0.1 },
        ];
        let input = Shape::new(4, 6);
        let st = Stack::build(
            &specs,
            input,
            &mut Init::Random(&mut SplitMix64::new(3)),
            1.0,
        )
        .unwrap();
        let mut rng = SplitMix64::new(3);
        let mut init = Init::Random(&mut rng);
        let mut shape = input;
        let one_by_one: Vec<Box<dyn Layer>> = specs
            .iter()
            .map(|s| {
                let l = s.build(shape, &mut init, 1.0).unwrap();
                shape = l.output_shape();
                l
            })
            .collect();
        let bsz = 2;
        let x = rand_array(input.features(), bsz, 5);
        let mut buf = st.buffers(bsz);
        st.forward(&x.view(), &mut buf);
        let mut y = x.clone();
        for l in &one_by_one {
            let mut out = Array2::zeros((l.output_shape().features(), bsz));
            let mut scratch = vec![0.0; l.scratch_len(bsz)];
            l.forward(&y.view(), &mut out.view_mut(), &mut scratch);
            y = out;
        }
        assert_eq!(st.output(&buf).dim(), y.dim());
        for (a, b) in st.output(&buf).iter().zip(y.iter()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let mut names = Vec::new();
        st.visit("decoder", &mut |name, p| names.push((name, p.shape)));
        assert_eq!(
            names,
            vec![
                ("decoder.1.weight".to_string(), vec![3, 4, 5]),
                ("decoder.1.bias".to_string(), vec![3])
            ]
        );
    }

    /// The composed stack's gradients against finite differences of `sum(y * r)`, for the
    /// input and a sample of the parameters (every layer kind of the conv VAE).
    #[test]
    fn composed_gradients_match_finite_differences() {
        let specs = vec![
            LayerSpec::Conv1d {
                out: 4,
                kernel: 3,
                stride: 2,
            },
            LayerSpec::LeakyRelu { slope: 0.1 },
            LayerSpec::Dense { out: 12 },
            LayerSpec::Unflatten { channels: 3 },
            LayerSpec::Upsample { factor: 2 },
            LayerSpec::Conv1d {
                out: 2,
                kernel: 3,
                stride: 1,
            },
            LayerSpec::Crop { time: 7 },
        ];
        let mut rng = SplitMix64::new(2);
        let mut st =
            Stack::build(&specs, Shape::new(3, 7), &mut Init::Random(&mut rng), 1.0).unwrap();
        assert_eq!(st.output_shape(), Shape::new(2, 7));
        let bsz = 2;
        let x = rand_array(21, bsz, 1);
        let r = rand_array(14, bsz, 2);
        let mut buf = st.buffers(bsz);
        let loss = |st: &Stack, x: &Array2<f32>, buf: &mut StackBuffers| -> f64 {
            st.forward(&x.view(), buf);
            st.output(buf)
                .iter()
                .zip(r.iter())
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum()
        };
        loss(&st, &x, &mut buf);
        st.output_grad(&mut buf).assign(&r);
        let mut dx = Array2::zeros((21, bsz));
        st.backward(&x.view(), &mut buf, Some(&mut dx.view_mut()));
        let h = 1e-3f32;
        let close = |a: f64, n: f64| (a - n).abs() <= 2e-2 * n.abs().max(5e-2);
        // Where a step of h crosses a LeakyReLU kink the quotient mixes two slopes: such
        // entries are checked again at h/8, and may be at most 10% of them.
        let mut small_step = 0;
        let numeric = |st: &Stack, x: &Array2<f32>, buf: &mut StackBuffers, i: usize, h: f32| {
            let mut xp = x.clone();
            xp.as_slice_mut().unwrap()[i] += h;
            let p = loss(st, &xp, buf);
            xp.as_slice_mut().unwrap()[i] -= 2.0 * h;
            let m = loss(st, &xp, buf);
            (p - m) / (2.0 * h as f64)
        };
        for i in 0..x.len() {
            let a = dx.as_slice().unwrap()[i] as f64;
            let n = numeric(&st, &x, &mut buf, i, h);
            if !close(a, n) {
                let n2 = numeric(&st, &x, &mut buf, i, h / 8.0);
                assert!(
                    close(a, n2),
                    "x[{i}]: analytic {a} vs numeric {n} (h) / {n2} (h/8)"
                );
                small_step += 1;
            }
        }
        assert!(
            small_step * 10 <= x.len(),
            "{small_step} of {} inputs needed the small step",
            x.len()
        );
        let mut grads = Vec::new();
        st.visit("s", &mut |name, p| grads.push((name, p.grad.to_vec())));
        let names: Vec<&str> = grads.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "s.0.weight",
                "s.0.bias",
                "s.2.weight",
                "s.2.bias",
                "s.5.weight",
                "s.5.bias"
            ]
        );
        // Parameters feed the kinks too: the same two-step rule, on every third entry.
        for (pi, (name, g)) in grads.iter().enumerate() {
            for k in (0..g.len()).step_by(3) {
                let bump = |st: &mut Stack, d: f32| {
                    let mut idx = 0;
                    st.visit_mut(&mut |p| {
                        if idx == pi {
                            p.value[k] += d;
                        }
                        idx += 1;
                    });
                };
                let numeric = |st: &mut Stack, buf: &mut StackBuffers, h: f32| {
                    bump(st, h);
                    let p = loss(st, &x, buf);
                    bump(st, -2.0 * h);
                    let m = loss(st, &x, buf);
                    bump(st, h);
                    (p - m) / (2.0 * h as f64)
                };
                let a = g[k] as f64;
                let n = numeric(&mut st, &mut buf, h);
                if !close(a, n) {
                    let n2 = numeric(&mut st, &mut buf, h / 8.0);
                    assert!(
                        close(a, n2),
                        "{name}[{k}]: analytic {a} vs numeric {n} (h) / {n2} (h/8)"
                    );
                }
            }
        }
    }

    #[test]
    fn a_shape_that_does_not_fit_is_an_error_naming_the_layer() {
        let specs = vec![
            LayerSpec::Dense { out: 10 },
            LayerSpec::Unflatten { channels: 3 },
        ];
        let err = Stack::build(&specs, Shape::flat(4), &mut Init::Zeros, 1.0)
            .err()
            .unwrap();
        assert_eq!(err.index, 1);
        assert!(
            err.to_string()
                .contains("10 features do not split into 3 channels"),
            "{err}"
        );
    }
}
