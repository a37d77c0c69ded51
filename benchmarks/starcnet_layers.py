"""Where StarcNet's CPU time goes: each conv shape's GFLOP/s (NCHW and channels-last), and
the pointwise layers, batch 256. Shows how close the convolutions run to the FLOP peak.

    python benchmarks/starcnet_layers.py
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

BATCH = 256


def median_time(fn, x: torch.Tensor, repeat: int = 5) -> float:
    fn(x)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    total = 0.0
    with torch.inference_mode():
        for cin, size, count in [(5, 32, 1), (128, 32, 3), (128, 16, 3)]:
            conv = torch.nn.Conv2d(cin, 128, 3, padding=1)
            x = torch.randn(BATCH, cin, size, size)
            flop = 2 * BATCH * 128 * cin * 9 * size * size
            nchw = median_time(conv, x)
            conv_cl = conv.to(memory_format=torch.channels_last)
            cl = median_time(conv_cl, x.contiguous(memory_format=torch.channels_last))
            total += 3 * count * cl
            print(f"conv {cin:3d}->128 at {size}x{size}: NCHW {flop / nchw / 1e9:5.0f} GFLOP/s, "
                  f"channels-last {flop / cl / 1e9:5.0f} GFLOP/s ({count} per pathway)")
        x = torch.randn(BATCH, 128, 32, 32).contiguous(memory_format=torch.channels_last)
        norm = torch.nn.GroupNorm(8, 128)
        print(f"GroupNorm {median_time(norm, x) * 1e3:.0f} ms, LeakyReLU "
              f"{median_time(F.leaky_relu, x) * 1e3:.0f} ms, max-pool "
              f"{median_time(lambda a: F.max_pool2d(a, 2), x) * 1e3:.0f} ms per 32x32 layer")
    print(f"convolutions alone (3 pathways, channels-last): {total:.2f} s per {BATCH} stamps "
          f"= at most {BATCH / total:.0f} stamps/s in fp32")


if __name__ == "__main__":
    main()
