"""The cluster-scaled space and seeded centroids that K-Means and DEC start from.

Plain K-Means with a silhouette-chosen k (2-10, as the 2020 thesis had it) splits the
field in a few pieces and drowns a 1% cluster in one of them: on the five real fields its
raw lists were 1,670-8,756 stars, refused as unbound or not significant. Both methods now
start as the thesis proposed next: the cluster's centroid from the density clustering's
seed, the field's from K-Means on the stars outside the cluster's ball, in a space where
the cluster is a unit ball, with enough field pieces to hem it in.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from vocluster.membership.mixture import robust_sigma

FIELD_RADIUS = 2.0
# A cluster's motions are near Gaussian (95% within 2.4 sigma in 2-D), its projected sky
# profile is Plummer- or King-like (95% within 4.4 Plummer scales): the halo reaches
# about 5/3 further on the sky, in units of the core's spread, than in proper motion.
SKY_TAIL = 5.0 / 3.0


def cluster_scaled(z: np.ndarray, seed_stars: np.ndarray, n_sky_axes: int = 0, reach: float = 5.0,
                   widen: float = 3.0) -> np.ndarray:
    """Each axis in units of the seed cluster's own spread, softly bounded at `reach`.

    The cluster becomes a unit ball: an axis in which it is as broad as the field (the
    sky, for a nearby cluster larger than the cone) stops cutting it into pieces, and an
    axis in which it is narrow (the sky, for a distant one) separates it. Squashing with
    tanh keeps the field's far tails from dominating the autoencoder's loss and the K-Means
    centroids. The first `n_sky_axes` are the sky, widened `SKY_TAIL` times more for the
    profile's long tail.
    """
    members = z[seed_stars > 0]
    centre = np.median(members, axis=0)
    # The seed is the cluster's dense core: its halo reaches a few times further.
    widths = np.full(z.shape[1], widen)
    widths[:n_sky_axes] *= SKY_TAIL
    spread = widths * robust_sigma(members)
    return reach * np.tanh((z - centre) / spread / reach)


def field_centroid_count(n_field: int, n_cluster: int, low: int = 8, high: int = 30) -> int:
    """Field centroids enough that each holds about as many stars as the cluster.

    A centroid claims its whole Voronoi cell: with a few field centroids far away, the
    cluster's cell reaches deep into the field. Field pieces of the cluster's size hem
    it in (8 at least: the field is a continuum, not a handful of groups).
    """
    return int(np.clip(n_field // max(n_cluster, 1), low, high))


def seeded_centroids(points: np.ndarray, field_rows: np.ndarray, seed_stars: np.ndarray,
                     k: int | None, seed: int) -> np.ndarray:
    """k centroids in `points`: the seed stars' mean first, then K-Means (k - 1) on the
    `field_rows` (default k: `field_centroid_count` + 1).

    The field's centroids come from stars outside the cluster's ball: the seed is only
    its core, and a field centroid placed among its halo would cut it in two.
    """
    field = points[field_rows]
    k = k or field_centroid_count(len(field), int((seed_stars > 0).sum())) + 1
    field_centres = KMeans(k - 1, n_init=10, random_state=seed).fit(field).cluster_centers_
    return np.vstack([points[seed_stars > 0].mean(axis=0), field_centres])
