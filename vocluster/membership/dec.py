"""Deep Embedded Clustering (Xie et al. 2016), as the 2020 thesis used it, made seed-stable.

1. Pretrain an autoencoder (MSE) on the standardised features and, where the table has
   them, the sky positions (the same 5-D space the detection uses).
2. Initialise the centroids as the thesis proposed as its next step: the cluster's from a
   density clustering (the detected candidate the seed holds, detection.py), the field's
   from K-Means on the other stars (seeded.py: as many pieces as hem the cluster in).
   K-Means alone on the whole table splits the field and drowns a 1% cluster in one of
   its pieces.
3. Train encoder + centroids on KL(P || Q): q_ij is the Student's t kernel,
   p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'); P is refreshed every
   `update_interval` steps; stop when fewer than `tol` of the labels change.
4. The memberships are the final P (the assignment DEC trains towards), the labels the
   argmax of q.

Seed stability: `n_init` independent runs (seeds drawn from `random_state`) have their
clusters matched to the first run's (Hungarian assignment on label overlap) and their
q averaged; the consensus is what the rest of the pipeline sees. The calibrated
mixture that follows removes the remaining run-to-run jitter at the cluster's edge.

Devices: the nets are tiny (50-50-10 units, 512-star batches), so a GPU's kernel launches,
not its arithmetic, set the pace. On an H100 the fit took 0.95-1.5x the time of its
16-core host CPU (Pleiades 50k stars 17.5 s against 16.7 s, M67 11.3 against 7.7, a 200k
cone 31.4 against 33.1; benchmarks/dec_device.py), with the same members to 7 of 668.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from vocluster.devices import resolve_device
from vocluster.membership.base import MIN_SIGNIFICANCE, MembershipEstimator
from vocluster.membership.detection import detection_space
from vocluster.membership.methods import subsample
from vocluster.membership.mixture import ClusterFieldMixture
from vocluster.membership.seeded import (
    cluster_scaled,
    seeded_centroids,
)
from vocluster.membership.soft import student_t_kernel, target_distribution


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _DECNet(nn.Module):
    def __init__(self, n_features: int, encoder_dims: tuple[int, ...]) -> None:
        super().__init__()
        dims = [n_features, *encoder_dims]
        self.encoder = _mlp(dims)
        self.decoder = _mlp(dims[::-1])
        self.centroids: nn.Parameter | None = None

    def soft_assign(self, z: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        q = student_t_kernel(torch.cdist(z, self.centroids) ** 2, alpha)
        return q / q.sum(dim=1, keepdim=True)


class DECMembership(MembershipEstimator):
    """Deep Embedded Clustering in torch; see the module docstring for the recipe."""

    def __init__(self, n_clusters: int | None = None, encoder_dims: tuple[int, ...] = (50, 50, 10),
                 pretrain_epochs: int = 20, pretrain_sample: int = 20000, max_steps: int = 1500,
                 update_interval: int = 100, batch_size: int = 512, tol: float = 0.001,
                 n_init: int = 3, device: str = "auto", target_mean=None, target_spread=None,
                 calibrate: bool = True, random_state: int = 0, candidate: int = 1,
                 min_significance: float = MIN_SIGNIFICANCE,
                 mixture: ClusterFieldMixture | None = None, target_sky=None) -> None:
        super().__init__(target_mean, target_spread, calibrate, random_state, candidate,
                         min_significance, mixture, target_sky)
        self.n_clusters = n_clusters
        self.encoder_dims = encoder_dims
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_sample = pretrain_sample
        self.max_steps = max_steps
        self.update_interval = update_interval
        self.batch_size = batch_size
        self.tol = tol
        self.n_init = n_init
        self.device = device

    def _run_once(self, z: np.ndarray, seed_stars: np.ndarray, k: int | None, seed: int,
                  device: torch.device) -> np.ndarray:
        rng = np.random.default_rng(seed)
        data = torch.as_tensor(z, dtype=torch.float32, device=device)
        with torch.random.fork_rng(devices=[]):  # the seed sets the initial weights, and
            torch.manual_seed(seed)  # the caller's torch RNG is left as it was
            net = _DECNet(z.shape[1], tuple(self.encoder_dims)).to(device)
        self._pretrain(net, data[torch.as_tensor(subsample(len(z), self.pretrain_sample, rng))],
                       rng)
        with torch.inference_mode():
            latent = net.encoder(data).cpu().numpy()
        centres = seeded_centroids(latent, np.linalg.norm(z, axis=1), seed_stars, k, seed)
        self.n_clusters_ = len(centres)
        net.centroids = nn.Parameter(torch.as_tensor(centres, dtype=torch.float32, device=device))
        self._cluster(net, data, rng)
        with torch.inference_mode():
            return net.soft_assign(net.encoder(data)).cpu().numpy()

    def _pretrain(self, net: _DECNet, data: torch.Tensor, rng: np.random.Generator) -> None:
        optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
        for _ in range(self.pretrain_epochs):
            order = torch.as_tensor(rng.permutation(len(data)), device=data.device)
            for start in range(0, len(data), self.batch_size):
                batch = data[order[start:start + self.batch_size]]
                loss = nn.functional.mse_loss(net.decoder(net.encoder(batch)), batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()

    def _cluster(self, net: _DECNet, data: torch.Tensor, rng: np.random.Generator) -> None:
        optimiser = torch.optim.SGD([*list(net.encoder.parameters()), net.centroids], lr=0.01,
                                    momentum=0.9)
        previous = None
        target = None
        # Every step's batch drawn up front (the same draws, in the same order) and sent to
        # the device once: a copy from host memory each step would make a GPU wait for the
        # host at every step of nets this small.
        batches = torch.as_tensor(np.stack([rng.integers(0, len(data), self.batch_size)
                                            for _ in range(self.max_steps)]), device=data.device)
        for step, idx in enumerate(batches):
            if step % self.update_interval == 0:
                with torch.no_grad():
                    q = net.soft_assign(net.encoder(data))
                    target = target_distribution(q)
                    labels = q.argmax(dim=1)
                if previous is not None:
                    changed = (labels != previous).float().mean().item()
                    if changed < self.tol:
                        break
                previous = labels
            q_batch = net.soft_assign(net.encoder(data[idx]))
            loss = nn.functional.kl_div(q_batch.log(), target[idx], reduction="batchmean")
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

    def _group(self, x, errors, seed_stars, positions):
        device = resolve_device(self.device)
        z = cluster_scaled(detection_space(x, positions), seed_stars,
                           n_sky_axes=0 if positions is None else 2)
        seeds = np.random.default_rng(self.random_state).integers(0, 2**31 - 1, self.n_init)
        runs = [self._run_once(z, seed_stars, self.n_clusters, int(s), device) for s in seeds]
        consensus = runs[0].copy()
        reference = runs[0].argmax(axis=1)
        for q in runs[1:]:
            k = min(q.shape[1], consensus.shape[1])
            overlap = np.zeros((consensus.shape[1], q.shape[1]))
            np.add.at(overlap, (reference, q.argmax(axis=1)), 1.0)
            rows, cols = linear_sum_assignment(-overlap)
            aligned = np.zeros_like(consensus)
            aligned[:, rows[:k]] = q[:, cols[:k]]
            consensus += aligned
        consensus /= consensus.sum(axis=1, keepdims=True)
        # The memberships are DEC's own confident assignment, its target distribution, not
        # q: the kernel's heavy tails spread every star's q over all k centroids, so with
        # 30 field pieces even the cluster's centre has q 0.6-0.8 and its halo 0.3-0.5
        # (q >= 0.5 kept 69% of the Pleiades' listed members); see target_distribution.
        labels = consensus.argmax(axis=1)
        return labels, target_distribution(torch.as_tensor(consensus)).numpy()
