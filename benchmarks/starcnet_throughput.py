"""StarcNet inference throughput (stamps/s), batch 256: plain eager vs vocluster's path.

    python benchmarks/starcnet_throughput.py [--repeat 5] [--stamps 1024] [--device cpu|cuda]

Baseline: the published net evaluated the straightforward way (eval(), torch.no_grad(),
NCHW float32). Ours: vocluster's Predictor (inference_mode, channels-last) and the same
with torch.compile (frozen weights; compile time reported separately). Inputs are
simulated HST-like stamps with StarcNet's published normalisation; weights are random
(speed does not depend on them). Prints medians, ratios and the max |logit difference|.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vocluster.classification.inference import Predictor
from vocluster.classification.nets.starcnet import StarcNet
from vocluster.classification.preprocessing import STARCNET_PREPROCESSING
from vocluster.sources.stamp_simulator import simulate_stamps


def timed(fn, x: torch.Tensor, repeat: int) -> tuple[float, torch.Tensor]:
    fn(x[:256])  # warm-up (oneDNN primitive creation, compile)
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(x)
        if x.device.type == "cuda" or (out is not None and out.device.type == "cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stamps", type=int, default=1024)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = STARCNET_PREPROCESSING.apply(simulate_stamps(args.stamps, seed=3).stamps)
    device = torch.device(args.device)
    net = StarcNet().eval().to(device)
    print(f"StarcNet {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M weights, "
          f"{args.stamps} stamps, batch 256, {torch.get_num_threads()} threads, {device}")

    def eager(batch_all: torch.Tensor) -> torch.Tensor:
        outs = []
        with torch.no_grad():
            for start in range(0, len(batch_all), 256):
                outs.append(net(batch_all[start:start + 256].to(device)).cpu())
        return torch.cat(outs)

    base_t, base = timed(eager, x, args.repeat)
    print(f"eager fp32 NCHW        {args.stamps / base_t:8.1f} stamps/s   (median {base_t:.2f} s)")
    fast = Predictor(StarcNet().eval(), device, batch_size=256)
    fast.net.load_state_dict(net.state_dict())
    t, out = timed(fast.logits, x, args.repeat)
    print(f"inference_mode + CL    {args.stamps / t:8.1f} stamps/s   x{base_t / t:.2f}   "
          f"max|dlogit| {float((out - base).abs().max()):.1e}")
    compiled = Predictor(StarcNet().eval(), device, batch_size=256, compile=True)
    compiled.net.load_state_dict(net.state_dict())
    start = time.perf_counter()
    compiled.logits(x[:256])
    print(f"(torch.compile took {time.perf_counter() - start:.1f} s once)")
    t, out = timed(compiled.logits, x, args.repeat)
    print(f"+ torch.compile        {args.stamps / t:8.1f} stamps/s   x{base_t / t:.2f}   "
          f"max|dlogit| {float((out - base).abs().max()):.1e}")


if __name__ == "__main__":
    main()
