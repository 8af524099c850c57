"""Loads a beatgen model's weights.safetensors into the same decoder written in PyTorch and
checks that it gives beatgen's output for the same latent and genre (within 1e-4).

    bench/.venv/bin/python bench/check_safetensors.py --beatgen target/release/beatgen --model models/demo
"""
import argparse, json, subprocess

import torch
from torch import nn
from safetensors.torch import load_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", required=True)
    ap.add_argument("--model", default="models/demo")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    cfg = json.load(open(f"{args.model}/config.json"))
    vae, genres = cfg["vae"], cfg["genres"]
    weights = load_file(f"{args.model}/weights.safetensors")
    sizes = [vae["latent"] + len(genres)] + list(reversed(vae["hidden"])) + [vae["input_dim"]]
    layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
    layers.load_state_dict({k.removeprefix("decoder."): v for k, v in weights.items() if k.startswith("decoder.")})
    act = nn.LeakyReLU(vae["leaky_slope"])
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    for genre in genres:
        z = torch.randn(vae["latent"], generator=g)
        out = subprocess.run([args.beatgen, "decode-raw", "--model", args.model, "--genre", genre,
                              "--z", ",".join(f"{v:.9g}" for v in z.tolist())],
                             check=True, capture_output=True, text=True).stdout
        ours = torch.tensor(json.loads(out)["output"])
        h = torch.cat([z, nn.functional.one_hot(torch.tensor(genres.index(genre)), len(genres)).float()])
        with torch.no_grad():
            for i, layer in enumerate(layers):
                h = layer(h)
                if i + 1 < len(layers):
                    h = act(h)
        diff = (h - ours).abs().max().item()
        worst = max(worst, diff)
        print(f"{genre:>10}: max |pytorch - beatgen| = {diff:.2e} over {h.numel()} outputs")
    print("OK" if worst < 1e-4 else "MISMATCH", f"(worst {worst:.2e}, tolerance 1e-4)")
    if args.json_out:
        json.dump({"worst_abs_diff": worst}, open(args.json_out, "w"))
    raise SystemExit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
