"""Training-unit peer comparison: the same VAE in PyTorch (CPU, torch.set_num_threads(2)) and
beatgen. The network is the one beatgen declares for the default representation (2 bars on the
bar grid, 256 frames x 128 bands, 5 genres, latent 64): beatgen's hidden `bench-train --json`
prints its layer specs and PyTorch builds the same nn.Sequential from them (see
check_safetensors.py). Loss = sum of squared error averaged over the batch + KL, Adam (1e-3,
0.9, 0.999, 1e-8), batch 32, global-norm clipping at 1000. Random standardised data, so only
speed and memory are compared. Each side runs in its own child process (PyTorch here, beatgen
through `bench-train`): samples per second is the median of 5 timing windows of 10 steps after
3 warm-up steps, and peak memory is each process's maximum resident set size.

    bench/.venv/bin/python bench/training.py --beatgen target/release/beatgen [--arch conv|mlp] [--step-latent C]
"""
import argparse, json, os, resource, subprocess, sys, time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from check_safetensors import build  # noqa: E402


def torch_run(net, steps, windows):
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(0)
    T, F, L, B = net["frames"], net["bands"], net["latent"], net["batch"]
    G, S = net["n_genres"], net.get("latent_steps", 1)
    enc = build(net["encoder"], F + G, T)
    # One latent vector (S = 1), or L / S values at each of S steps with the genre broadcast
    # over the steps (--step-latent).
    dec = build(net["decoder"], L // S + G, S) if S > 1 else build(net["decoder"], L + G, 1)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.randn(B, F, T)
    c = torch.nn.functional.one_hot(torch.arange(B) % G, G).float()

    def step():
        opt.zero_grad()
        h = enc(torch.cat([x, c[:, :, None].expand(B, G, T)], 1)).reshape(B, -1)
        mu, logvar = h.chunk(2, 1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        if S > 1:
            d_in = torch.cat([z.reshape(B, L // S, S), c[:, :, None].expand(B, G, S)], 1)
        else:
            d_in = torch.cat([z, c], 1)
        y = dec(d_in).reshape(B, F, T)
        rec = ((y - x) ** 2).sum() / B
        kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum() / B
        (rec + kl).backward()
        torch.nn.utils.clip_grad_norm_(params, 1000.0)
        opt.step()

    for _ in range(3):
        step()
    rates = []
    for _ in range(windows):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * B / (time.perf_counter() - t))
    return float(np.median(rates)), sum(p.numel() for p in params)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", required=True)
    ap.add_argument("--arch", default="conv")
    ap.add_argument("--step-latent", type=int, help="conv: a latent map of this many values per step")
    ap.add_argument("--json-out")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        rate, n = torch_run(json.loads(args.child), 10, 5)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"samples_per_second": rate, "peak_mb": peak_mb, "parameters": n}))
        return
    extra = ["--step-latent", str(args.step_latent)] if args.step_latent else []
    res = subprocess.run([args.beatgen, "--threads", "2", "bench-train", "--arch", args.arch,
                          "--steps", "10", "--windows", "5", "--json"] + extra,
                         check=True, capture_output=True, text=True)
    ours = json.loads(res.stdout)
    net = dict(ours["network"], batch=ours["batch"])
    torch_res = json.loads(subprocess.run([sys.executable, __file__, "--beatgen", args.beatgen, "--child", json.dumps(net)],
                                          check=True, capture_output=True, text=True).stdout)
    assert torch_res["parameters"] == ours["parameters"], (torch_res, ours["parameters"])
    import torch
    arch = args.arch + (f", {args.step_latent} latent values per step" if args.step_latent else "")
    print(f"Training unit ({arch}, {ours['parameters']} parameters): {net['frames']} frames x {net['bands']} bands "
          f"+ {net['n_genres']} genres, latent {net['latent']}, batch {net['batch']}, 2 threads (median of 5 windows of 10 steps)")
    print()
    print("| implementation | samples/s | peak memory | beatgen is faster by |")
    print("|---|---:|---:|---:|")
    print(f"| PyTorch {torch.__version__.split('+')[0]} | {torch_res['samples_per_second']:.0f} | {torch_res['peak_mb']:.0f} MB | "
          f"{ours['samples_per_second'] / torch_res['samples_per_second']:.2f}x |")
    print(f"| beatgen | {ours['samples_per_second']:.0f} | {ours['peak_mb']:.0f} MB | 1.00x |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"pytorch": torch_res, "beatgen": ours}, f, indent=1)


if __name__ == "__main__":
    main()
