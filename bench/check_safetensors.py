"""The PyTorch twin of beatgen's network: builds the decoder that a model's config.json declares
as a torch.nn.Sequential (Linear, Conv1d, Upsample, LeakyReLU, Unflatten, crop; its input a
latent vector and the genre one-hot, or for `--step-latent` a latent map over time with the
one-hot broadcast over it), loads
weights.safetensors into it by name (encoder.{i}.weight ... decoder.{i}.bias, i counting every
layer as nn.Sequential does), and checks that it gives beatgen's output for the same latent and
genre (within 1e-4), for every genre of the model.

    bench/.venv/bin/python bench/check_safetensors.py --beatgen target/release/beatgen --model models/demo
"""
import argparse, json, subprocess

import torch
from torch import nn
from safetensors.torch import load_file


class Crop(nn.Module):
    """Keep the first `time` steps (beatgen's Crop layer)."""

    def __init__(self, time):
        super().__init__()
        self.time = time

    def forward(self, x):
        return x[..., : self.time]


def build(specs, channels, time):
    """nn.Sequential of beatgen's layer specs for an input of `channels x time` (a flat vector
    is `features x 1`), tracking the shape as beatgen's Stack does."""
    layers = []
    flat = time == 1
    for s in specs:
        kind = s["type"]
        if kind == "dense":
            # beatgen's dense layer takes all features of a `channels x time` map, flattened
            # channel-major: PyTorch's Flatten of [B, C, T].
            layers.append(nn.Sequential(nn.Flatten(), nn.Linear(channels * time, s["out"])) if not flat
                          else nn.Linear(channels * time, s["out"]))
            channels, time, flat = s["out"], 1, True
        elif kind == "conv1d":
            k = s["kernel"]
            layers.append(nn.Conv1d(channels, s["out"], k, s["stride"], (k - 1) // 2))
            time = (time + 2 * ((k - 1) // 2) - k) // s["stride"] + 1
            channels = s["out"]
        elif kind == "upsample":
            layers.append(nn.Upsample(scale_factor=s["factor"], mode="nearest"))
            time *= s["factor"]
        elif kind == "leaky_relu":
            layers.append(nn.LeakyReLU(s["slope"]))
        elif kind == "unflatten":
            layers.append(nn.Unflatten(1, (s["channels"], channels // s["channels"])))
            channels, time, flat = s["channels"], channels // s["channels"], False
        elif kind == "crop":
            layers.append(Crop(s["time"]))
            time = s["time"]
        else:
            raise SystemExit(f"unknown layer type {kind}")
    return nn.Sequential(*layers)


def load(seq, weights, prefix):
    state = {}
    for i, layer in enumerate(seq):
        # A dense layer after a conv is Sequential(Flatten, Linear): its Linear is [1].
        inner = f"{i}.1." if isinstance(layer, nn.Sequential) else f"{i}."
        for name in ("weight", "bias"):
            key = f"{prefix}.{i}.{name}"
            if key in weights:
                state[inner + name] = weights[key]
    seq.load_state_dict(state)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", required=True)
    ap.add_argument("--model", default="models/demo")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    cfg = json.load(open(f"{args.model}/config.json"))
    vae, genres = cfg["vae"], cfg["genres"]
    weights = load_file(f"{args.model}/weights.safetensors")
    # A latent over time steps (spec-train --step-latent) is a map of latent / steps channels,
    # the genre one-hot broadcast over the steps as more channels; otherwise a flat vector.
    steps = vae.get("latent_steps", 1)
    per_step = vae["latent"] // steps
    dec = build(vae["decoder"], per_step + len(genres), steps)
    load(dec, weights, "decoder")
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    for genre in genres:
        z = torch.randn(vae["latent"], generator=g)
        out = subprocess.run([args.beatgen, "decode-raw", "--model", args.model, "--genre", genre,
                              "--z", ",".join(f"{v:.9g}" for v in z.tolist())],
                             check=True, capture_output=True, text=True).stdout
        # beatgen prints the decoder output channel-major: PyTorch's [bands, frames] flattened.
        ours = torch.tensor(json.loads(out)["output"])
        one_hot = nn.functional.one_hot(torch.tensor(genres.index(genre)), len(genres)).float()
        if steps > 1:
            h = torch.cat([z.reshape(per_step, steps), one_hot[:, None].expand(-1, steps)])
        else:
            h = torch.cat([z, one_hot])
        with torch.no_grad():
            y = dec(h.unsqueeze(0)).reshape(-1)
        diff = (y - ours).abs().max().item()
        worst = max(worst, diff)
        print(f"{genre:>10}: max |pytorch - beatgen| = {diff:.2e} over {y.numel()} outputs")
    print("OK" if worst < 1e-4 else "MISMATCH", f"(worst {worst:.2e}, tolerance 1e-4)")
    if args.json_out:
        json.dump({"worst_abs_diff": worst}, open(args.json_out, "w"))
    raise SystemExit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
