"""Batched inference: ONNX Runtime on a CPU, torch (channels-last, optional compile) else.

On a CPU, ONNX Runtime runs StarcNet's GroupNorm + LeakyReLU + pooling as fused kernels
with pre-packed weights: measured 1.4-2.1x the published eager code on this 2-core CPU
(benchmarks/starcnet_throughput.py), where channels-last torch gave 1.0-1.4x, OpenVINO
(no GroupNorm kernel on this CPU) 1.0x, and `torch.compile` 1.5x after 9-23 s of
compiling. The net is exported once per input shape (about 1 s, in memory), and the
exported net is used only after it reproduces torch's softmax to 1e-4 on the first
stamps; anything else (no onnxruntime, a net that does not export, a GPU) runs torch.
Channels-last is for the CPU only: on an H100 it ran StarcNet at 0.75x of plain NCHW
(14,700 against 19,600 stamps/s, batch 256), whose cuDNN kernels are the fast ones there.
Logits stay float32 and agree with plain eager evaluation to ~1e-6.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable

import torch
from torch import nn

from vocluster.devices import resolve_device

log = logging.getLogger(__name__)

#: below this many stamps the export and warm-up (2-4 s here) cost more than they save
ONNX_MIN_STAMPS = 512
#: largest softmax difference from torch that the exported net may show
ONNX_TOLERANCE = 1e-4


class Predictor:
    """Logits of a net for many inputs, batch by batch."""

    def __init__(self, net: nn.Module, device: str | torch.device = "auto", *,
                 fast: bool = True, compile: bool = False, batch_size: int = 256,
                 backend: str = "auto") -> None:
        if backend not in ("auto", "torch", "onnx"):
            raise ValueError(f"backend must be auto, torch or onnx, got {backend!r}")
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.batch_size = batch_size
        self.channels_last = fast and self.device.type == "cpu"
        self.net = net.eval().to(self.device)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self._forward: Callable[[torch.Tensor], torch.Tensor] = self.net
        if compile:
            self._forward = _compiled(self.net)
        # ONNX Runtime: CPU only, not with compile; "onnx" insists even for few stamps.
        self.backend = backend if self.device.type == "cpu" and not compile else "torch"
        self._onnx: dict[tuple[int, ...], Callable[[torch.Tensor], torch.Tensor] | None] = {}

    def _onnx_for(self, x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The exported net for this input shape (built once), or None to run torch."""
        if self.backend == "torch" or (self.backend == "auto" and len(x) < ONNX_MIN_STAMPS):
            return None
        shape = tuple(x.shape[1:])
        if shape not in self._onnx:
            self._onnx[shape] = onnx_forward(self.net, x[:16].contiguous())
        return self._onnx[shape]

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, non_blocking=True)
        return (batch.contiguous(memory_format=torch.channels_last) if self.channels_last
                else batch)

    def logits(self, x: torch.Tensor, progress: Callable[[int], None] | None = None
               ) -> torch.Tensor:
        outputs = []
        exported = self._onnx_for(x)
        with torch.inference_mode():
            for start in range(0, len(x), self.batch_size):
                batch = x[start:start + self.batch_size]
                if exported is not None:
                    outputs.append(exported(batch))
                else:
                    outputs.append(self._forward(self._prepare(batch)).float().cpu())
                if progress:
                    progress(min(start + self.batch_size, len(x)))
        if not outputs:
            return torch.empty(0, 0)
        return torch.cat(outputs)


def onnx_forward(net: nn.Module, probe: torch.Tensor
                 ) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """`net` exported to ONNX and run by ONNX Runtime, if it reproduces torch on `probe`."""
    try:
        import onnxruntime
    except ImportError:
        return None
    try:
        buffer = io.BytesIO()
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer notes on shape checks in forward()
            torch.onnx.export(net, (probe,), buffer, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, dynamo=False)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(buffer.getvalue(), options,
                                               providers=["CPUExecutionProvider"])

        def forward(batch: torch.Tensor) -> torch.Tensor:
            x = batch.detach().cpu().contiguous().numpy()
            return torch.from_numpy(session.run(None, {"x": x})[0]).float()

        with torch.inference_mode():
            expected = torch.softmax(net(probe).float().cpu(), dim=1)
        difference = float((torch.softmax(forward(probe), dim=1) - expected).abs().max())
    except Exception as exc:  # a net the exporter cannot trace, a runtime without an op
        log.info("ONNX Runtime not used (%s: %s); running torch", type(exc).__name__, exc)
        return None
    if difference > ONNX_TOLERANCE:
        log.warning("ONNX Runtime differs from torch by %.1e; running torch", difference)
        return None
    return forward


def _compiled(net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """torch.compile with frozen weights; plain eager when no compiler is usable."""
    try:
        import torch._inductor.config as inductor

        inductor.freezing = True
        compiled = torch.compile(net)
    except Exception as exc:
        log.warning("torch.compile unavailable (%s); running eager", exc)
        return net

    def forward(batch: torch.Tensor) -> torch.Tensor:
        try:
            return compiled(batch)
        except Exception as exc:
            log.warning("compiled forward failed (%s); running eager", type(exc).__name__)
            return net(batch)

    return forward
