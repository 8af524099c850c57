"""Training-unit peer comparison (../shared/DESIGN.md): the same MLP VAE in PyTorch (CPU,
torch.set_num_threads(2)) and beatgen, input 128 bands x 259 frames = 33,152 values + 5-genre
one-hot, hidden 512 and 256, latent 64, LeakyReLU 0.01, linear output, loss = sum of squared
error averaged over the batch + beta * KL, Adam (1e-3, 0.9, 0.999, 1e-8), batch 32,
global-norm clipping at 1000. Random standardised data, so only speed and memory are compared.
Each side runs in its own child process (PyTorch here, beatgen through its hidden
`bench-train` command): samples per second is the median of 5 timing windows of 10 steps
after 3 warm-up steps, and peak memory is each process's maximum resident set size.
"""
import argparse, json, os, resource, subprocess, sys, time

import numpy as np

D, G, H1, H2, L, B = 33152, 5, 512, 256, 64, 32


def torch_run(steps, windows):
    import torch
    from torch import nn
    torch.set_num_threads(2)
    torch.manual_seed(0)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.ModuleList([nn.Linear(D + G, H1), nn.Linear(H1, H2), nn.Linear(H2, 2 * L)])
            self.decoder = nn.ModuleList([nn.Linear(L + G, H2), nn.Linear(H2, H1), nn.Linear(H1, D)])
            self.act = nn.LeakyReLU(0.01)

        def forward(self, x, c):
            h = torch.cat([x, c], 1)
            h = self.act(self.encoder[0](h))
            h = self.act(self.encoder[1](h))
            mu, logvar = self.encoder[2](h).chunk(2, 1)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            d = torch.cat([z, c], 1)
            d = self.act(self.decoder[0](d))
            d = self.act(self.decoder[1](d))
            return self.decoder[2](d), mu, logvar

    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(B, D)
    c = torch.nn.functional.one_hot(torch.arange(B) % G, G).float()

    def step():
        opt.zero_grad()
        y, mu, logvar = model(x, c)
        rec = ((y - x) ** 2).sum() / B
        kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum() / B
        (rec + kl).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1000.0)
        opt.step()

    for _ in range(3):
        step()
    rates = []
    for _ in range(windows):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps * B / (time.perf_counter() - t))
    return float(np.median(rates))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", required=True)
    ap.add_argument("--json-out")
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        rate = torch_run(10, 5)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"samples_per_second": rate, "peak_mb": peak_mb}))
        return
    torch_res = json.loads(subprocess.run([sys.executable, __file__, "--beatgen", args.beatgen, "--child"],
                                          check=True, capture_output=True, text=True).stdout)
    res = subprocess.run([args.beatgen, "--threads", "2", "bench-train", "--steps", "10", "--windows", "5", "--json"],
                         check=True, capture_output=True, text=True)
    ours = json.loads(res.stdout)
    import torch
    print(f"Training unit: input {D} + {G} genres, hidden {H1}/{H2}, latent {L}, batch {B}, 2 threads "
          f"(median of 5 windows of 10 steps)")
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
