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
# The field's centroids nearest the cluster: at most this many, from the field stars
# between these multiples of FIELD_RADIUS (beyond the halo, which the ball's radius holds;
# from 1x, they cut a halo twice the core's width in two).
NEAR_CENTROIDS = 10
NEAR_SHELL = (1.5, 2.5)
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


def seeded_centroids(points: np.ndarray, cluster_distance: np.ndarray, seed_stars: np.ndarray,
                     k: int | None, seed: int) -> np.ndarray:
    """k centroids in `points`: the seed stars' mean first, then the field's (default k:
    `field_centroid_count` + 1), from the stars whose `cluster_distance` (their norm in
    the cluster-scaled space) puts them outside the cluster's ball.

    The field's centroids come from stars outside the ball: the seed is only the
    cluster's core, and a field centroid placed among its halo would cut it in two. Up to
    `NEAR_CENTROIDS` of them come from the field stars just beyond the halo's reach
    (`NEAR_SHELL` ball radii): near a sparse cluster the field is sparse too, so K-Means on
    the whole field puts no centroid there, and the cluster's cell, reaching halfway to
    the nearest field centroid, took in field stars 5-40 sigma off its motion or
    parallax (a 50-star cluster in 5,000 field stars: 19 of them with DEC, 5 with K-Means).
    """
    field_rows = cluster_distance > FIELD_RADIUS
    near_rows = ((cluster_distance > NEAR_SHELL[0] * FIELD_RADIUS)
                 & (cluster_distance <= NEAR_SHELL[1] * FIELD_RADIUS))
    k = k or field_centroid_count(int(field_rows.sum()), int((seed_stars > 0).sum())) + 1
    n_near = min(NEAR_CENTROIDS, int(near_rows.sum()) // 2, k - 2)
    centres = [points[seed_stars > 0].mean(axis=0)]
    if n_near > 0:
        centres += list(KMeans(n_near, n_init=10, random_state=seed)
                        .fit(points[near_rows]).cluster_centers_)
    centres += list(KMeans(k - 1 - n_near, n_init=10, random_state=seed)
                    .fit(points[field_rows]).cluster_centers_)
    return np.vstack(centres)
