"""StarcNet inference throughput (stamps/s): published eager vs vocluster's paths, same batches.

    python benchmarks/starcnet_throughput.py [--repeat 3] [--stamps 512] [--device cpu|cuda]
                                             [--batch-size 256] [--compile]

Baseline: the published net evaluated the straightforward way (eval(), torch.no_grad(),
NCHW float32). Ours: vocluster's default Predictor (ONNX Runtime on a CPU, verified
against torch), torch with inference_mode and channels-last, and optionally
torch.compile. Each path's first call (export, compile) is timed apart; then the paths
run interleaved `--repeat` times, and the medians, ratios to the baseline and the largest
softmax difference are printed. Inputs are simulated HST-like stamps with StarcNet's
published normalisation (at most 2048 simulated, repeated to `--stamps`); weights are
random (speed depends on neither).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from vocluster.classification.inference import Predictor
from vocluster.classification.nets.starcnet import StarcNet
from vocluster.classification.preprocessing import STARCNET_PREPROCESSING
from vocluster.datasets.stamp_simulator import simulate_stamps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stamps", type=int, default=512)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--compile", action="store_true", help="also torch.compile (slow start)")
    args = parser.parse_args()
    torch.manual_seed(0)
    simulated = STARCNET_PREPROCESSING.apply(simulate_stamps(min(args.stamps, 2048), seed=3).stamps)
    x = simulated.repeat(-(-args.stamps // len(simulated)), 1, 1, 1)[:args.stamps]
    batch = args.batch_size
    device = torch.device(args.device)
    net = StarcNet().eval().to(device)
    print(f"StarcNet {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M weights, "
          f"{args.stamps} stamps, batch {batch}, {torch.get_num_threads()} threads, {device}")

    def eager(batch_all: torch.Tensor) -> torch.Tensor:
        outs = []
        with torch.no_grad():
            for start in range(0, len(batch_all), batch):
                outs.append(net(batch_all[start:start + batch].to(device)).cpu())
        return torch.cat(outs)

    paths = {"published eager fp32 NCHW": eager}
    for label, kwargs in (("torch inference_mode + CL", {"backend": "torch"}),
                          ("vocluster default", {"backend": "auto"}),
                          ("torch.compile", {"compile": True})):
        if "compile" in kwargs and not args.compile:
            continue
        predictor = Predictor(StarcNet().eval(), device, batch_size=batch, **kwargs)
        predictor.net.load_state_dict(net.state_dict())
        start = time.perf_counter()
        predictor.logits(x)  # export / compile / oneDNN primitives, once
        print(f"{label}: first call {time.perf_counter() - start:.1f} s"
              + (f" (backend {'onnxruntime' if any(predictor._onnx.values()) else 'torch'})"
                 if kwargs.get("backend") == "auto" else ""))
        paths[label] = predictor.logits
    times: dict[str, list[float]] = {label: [] for label in paths}
    outputs = {}
    for _ in range(args.repeat):  # interleaved, so that drift of the machine hits all alike
        for label, run in paths.items():
            start = time.perf_counter()
            outputs[label] = run(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[label].append(time.perf_counter() - start)
    base = statistics.median(times["published eager fp32 NCHW"])
    reference = torch.softmax(outputs["published eager fp32 NCHW"].float(), dim=1)
    for label, values in times.items():
        t = statistics.median(values)
        dp = float((torch.softmax(outputs[label].float(), dim=1) - reference).abs().max())
        print(f"{label:28} {args.stamps / t:8.1f} stamps/s  x{base / t:.2f}  "
              f"(runs {', '.join(f'{args.stamps / v:.1f}' for v in values)})  max|dp| {dp:.1e}")


if __name__ == "__main__":
    main()
