"""Blind detection of cluster candidates: HDBSCAN in rescaled 5-D, ranked by significance.

This follows Hunt & Reffert (2021, 2023). A cluster is a group of stars that is compact
in proper motion and parallax *and*, unless it is nearby and larger than the field,
on the sky. Far away, motion and parallax barely tell a cluster from the field; its
concentration on the sky does. So the stars are clustered in (xi, eta, pmra, pmdec,
parallax), each axis scaled robustly (the two sky axes together, so the sky keeps its
shape), with HDBSCAN at several minimum cluster sizes: small sizes find sparse distant
clusters, large ones keep an extended nearby cluster in one piece.

HDBSCAN finds groups in any field, random ones included. Each group is therefore
tested as HR23 did: the distances of its members to their k-th nearest neighbour are
compared with those of the field stars around it (a one-sided Mann-Whitney U test,
given in Gaussian sigma). Only the precise stars are clustered (errors at most the
`precise_quantile` of the table): faint stars with large errors blur every group.

HDBSCAN's usual "excess of mass" selection keeps the largest stable groups. In a deep
field, a cluster that moves as the field at its distance moves sits inside the field's
dense kinematic core, and that selection returns the core (which is then rejected as
unbound), never the cluster within it. HDBSCAN's "leaf" selection returns the cluster,
but also dozens of fragments of the core, and these pass the k-NN test too: the core's
density falls steeply in motion and parallax, so a fragment at its peak is denser than
the field around it. What tells them apart is the sky. Among the stars that move like a
fragment of the field, the fragment's own patch of sky holds what the footprint gives
it; a cluster's patch holds far more (`sky_excess`). Leaf groups are therefore kept only
with positions, and only when they are concentrated on the sky beyond what the field's
own fragments reach (`MIN_SKY_EXCESS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import rankdata
from sklearn.cluster import HDBSCAN

from vocluster.membership.mixture import precise_rows, robust_sigma

MIN_CLUSTER_SIZES = (10, 20, 40, 80)
MIN_SAMPLES = 5
NEIGHBOURS = 10
BALL_SCALES = (2.0, 4.0, 8.0, 16.0)
MIN_FIELD_STARS = 30
# A list with fewer members among the precise stars than this has no significance.
MIN_TESTED_MEMBERS = 3
# Field fragments of the Pleiades cone (G to 22, ~50 leaves in each of 4 injection
# runs) reached 5.8 sigma of sky excess, injected clusters 17-66 sigma.
MIN_SKY_EXCESS = 10.0
# A 95% ellipsoid (chi-square, 3 degrees of freedom) in motion and parallax.
KINEMATIC_MATCH = 7.81
# A leaf mostly inside a group already found is a piece of it, not another candidate.
MAX_INSIDE_FOUND = 0.5
# A candidate whose proper-motion spread is this many times what a bound cluster at its
# parallax can have (intrinsic limit and the members' errors together) is a field mode.
MAX_SPREAD_RATIO = 2.0


@dataclass(eq=False)
class Candidate:
    """One detected group; `members` index the rows of the table the DetectionSpace was built on."""

    members: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    significance: float
    sky_centre: np.ndarray | None

    @property
    def size(self) -> int:
        return len(self.members)

    def describe(self, names: tuple[str, ...]) -> str:
        values = ", ".join(f"{n}={v:.3f}" for n, v in zip(names, self.mean, strict=True))
        return f"{self.size} stars, {self.significance:.1f} sigma, {values}"


def detection_space(x: np.ndarray, positions: np.ndarray | None) -> np.ndarray:
    """Robustly rescaled (xi, eta, features); the sky axes share one scale."""
    kin = (x - np.median(x, axis=0)) / robust_sigma(x)
    if positions is None:
        return kin
    sky_scale = float(np.mean(robust_sigma(positions)))
    sky = (positions - np.median(positions, axis=0)) / sky_scale
    return np.column_stack([sky, kin])


def _mann_whitney_sigma(group: np.ndarray, reference: np.ndarray) -> float:
    """Sigma by which `group` is smaller than `reference` (the Mann-Whitney U statistic in
    units of its standard deviation, normal approximation), so that very strong clusters
    stay ordered instead of all reaching the smallest representable p-value."""
    n1, n2 = len(group), len(reference)
    ranks = rankdata(np.concatenate([group, reference]))
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    return float((n1 * n2 / 2.0 - u) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12.0))


def significance(z: np.ndarray, knn_distance: np.ndarray, members: np.ndarray) -> float:
    """Sigma by which members' k-NN distances are smaller than those of the field around them.

    "Around them" is the field inside a ball 2, 4, 8 or 16 times the size of the group
    (the radius holding 90% of its members about its centre), or, for a group isolated
    from the field, simply the field stars nearest to it (at least 30 field stars, at
    most the 5N nearest), and the group is as significant as it is against the most
    favourable of these neighbourhoods. The stars merely nearest to the centre would,
    for a cluster isolated in proper motion, be the field's dense core far away; a
    single small ball would, next to another cluster, be that cluster.

    A group with fewer than 30 field stars even in the smallest ball is isolated, and
    the field nearest to it may be no guide at all: a nearby cluster spread over the
    whole cone, with a proper motion far from everything else, has sparser members than
    the field's dense core, which is still the nearest field there is. For such a group
    the field is also measured where the group is: each member's distance to its k-th
    nearest field star, against its k-NN distance among all stars.
    """
    centre = np.median(z[members], axis=0)
    distance = np.linalg.norm(z - centre, axis=1)
    radius = float(np.quantile(distance[members], 0.9))
    outside = np.ones(len(z), dtype=bool)
    outside[members] = False
    n1 = len(members)
    field_rows = np.flatnonzero(outside)
    by_distance = field_rows[np.argsort(distance[field_rows])]
    neighbourhoods = [by_distance[distance[by_distance] <= scale * radius]
                      for scale in BALL_SCALES] + [by_distance]
    best = 0.0
    for field in neighbourhoods:
        if len(field) < MIN_FIELD_STARS:
            continue
        best = max(best, _mann_whitney_sigma(knn_distance[members],
                                             knn_distance[field[:max(5 * n1, 200)]]))
    if len(neighbourhoods[0]) < MIN_FIELD_STARS and len(field_rows) >= NEIGHBOURS:
        field_distance = _kth_neighbour_distance(z[field_rows], z[members], NEIGHBOURS)
        best = max(best, _mann_whitney_sigma(knn_distance[members], field_distance))
    return best


def _kth_neighbour_distance(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Distance from each query to its k-th nearest point (a query among the points counts
    itself). scipy's KD-tree on all cores: 2.7x scikit-learn's on 16,000 stars in 5-D."""
    return cKDTree(points).query(queries, k=[k], workers=-1)[0][:, 0]


def _label_sets(z: np.ndarray, sizes: tuple[int, ...]
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """HDBSCAN labels at every minimum cluster size, from one single-linkage tree, for
    both selections ("eom" then "leaf"; see the module's docstring).

    The tree (the expensive part) depends neither on the minimum cluster size nor on the
    selection; scikit-learn keeps it, and condensing it again costs milliseconds.
    """
    from sklearn.cluster._hdbscan.hdbscan import tree_to_labels

    sizes = tuple(s for s in sizes if 2 * s <= len(z))
    if not sizes:
        return [], []
    model = HDBSCAN(min_cluster_size=sizes[0], min_samples=MIN_SAMPLES, copy=True).fit(z)
    eom = [model.labels_] + [tree_to_labels(model._single_linkage_tree_, size, "eom")[0]
                             for size in sizes[1:]]
    leaf = [tree_to_labels(model._single_linkage_tree_, size, "leaf")[0] for size in sizes]
    return eom, leaf


def _labelled(labels: np.ndarray) -> list[np.ndarray]:
    """Member index arrays of each label (noise, -1, left out)."""
    return [np.flatnonzero(labels == label) for label in range(labels.max() + 1)]


def _distinct(groups: Iterable[np.ndarray]) -> list[np.ndarray]:
    """The groups, repeats (70% of either shared) removed."""
    found: list[np.ndarray] = []
    for members in groups:
        if any(len(np.intersect1d(members, old)) > 0.7 * max(len(members), len(old))
               for old in found):
            continue
        found.append(members)
    return found


def _groups(label_sets: list[np.ndarray]) -> list[np.ndarray]:
    """Member index arrays of the groups in every label set, repeats removed."""
    return _distinct(members for labels in label_sets for members in _labelled(labels))


def sky_excess(z: np.ndarray, members: np.ndarray) -> float:
    """Sigma by which the stars that move like a group crowd into its patch of sky.

    The stars inside the group's 95% ellipsoid in motion and parallax (z's columns after
    the two sky axes) are counted inside the circle that holds 90% of its members, and
    compared with the fraction of all stars in that circle (so the footprint's holes and
    gradients are the reference, not an ideal disc): a binomial excess in units of its
    standard deviation.
    """
    sky, kin = z[:, :2], z[:, 2:]
    centre = np.median(kin[members], axis=0)
    covariance = np.cov(kin[members].T) + 1e-9 * np.eye(kin.shape[1])
    offset = kin - centre
    moving_alike = np.sum((offset @ np.linalg.inv(covariance)) * offset,
                          axis=1) <= KINEMATIC_MATCH
    radius2 = np.sum((sky - np.median(sky[members], axis=0)) ** 2, axis=1)
    inside = radius2 <= np.quantile(radius2[members], 0.9)
    expected_fraction = float(inside.mean())
    n = int(moving_alike.sum())
    variance = n * expected_fraction * (1.0 - expected_fraction)
    return float(((moving_alike & inside).sum() - n * expected_fraction)
                 / np.sqrt(max(variance, 1e-12)))


def _piece_of(members: np.ndarray, found: list[np.ndarray]) -> bool:
    """Whether most of a group lies inside one already found (see MAX_INSIDE_FOUND)."""
    return any(len(np.intersect1d(members, old)) > MAX_INSIDE_FOUND * len(members)
               for old in found)


def _bound(x: np.ndarray, errors: np.ndarray, astrometry_columns: tuple[int, int, int] | None
           ) -> bool:
    """Whether a group's proper-motion spread is possible for a bound cluster at its distance."""
    if astrometry_columns is None:
        return True
    from vocluster.membership.base import intrinsic_spread_limit

    pm_cols, plx_col = list(astrometry_columns[:2]), astrometry_columns[2]
    pm = x[:, pm_cols]
    pm_limit, _ = intrinsic_spread_limit(float(np.median(x[:, plx_col])),
                                         float(np.hypot(*np.median(pm, axis=0))))
    # The group's core (the half nearest its centre): a real cluster found with some field
    # around it is still tight there, a field mode is not.
    offset = np.linalg.norm(pm - np.median(pm, axis=0), axis=1)
    spread = robust_sigma(pm[offset <= np.median(offset)])
    allowed = np.sqrt(pm_limit**2 + np.median(errors[:, pm_cols], axis=0) ** 2)
    return bool(np.all(spread <= MAX_SPREAD_RATIO * allowed))


class DetectionSpace:
    """The precise stars of a table in rescaled 5-D, with their k-NN distances.

    At most `max_stars` precise stars (mixture.precise_rows: errors at most a quarter of
    the field's spread, and never fewer than the most precise half) take part, a seeded
    random subset beyond that. The same space serves detection and the significance of
    a final list. HDBSCAN's minimum spanning tree costs O(n^2) here (Prim's), so 16,000
    rather than 20,000 stars take 0.8 s off a 50k call; blind injections into the
    Pleiades cone found 10 of 25 clusters with 16,000 and 8 with 20,000.
    """

    def __init__(self, x: np.ndarray, errors: np.ndarray, positions: np.ndarray | None,
                 random_state: int = 0, max_stars: int = 16000) -> None:
        rows = np.flatnonzero(precise_rows(x, errors**2, at_least=0.5))
        if len(rows) > max_stars:
            rng = np.random.default_rng(random_state)
            rows = np.sort(rng.choice(rows, max_stars, replace=False))
        self.x, self.errors, self.positions, self.rows = x, errors, positions, rows
        self.z = detection_space(x[rows], None if positions is None else positions[rows])
        self.usable = len(rows) >= 2 * NEIGHBOURS
        # The test is made in 5-D and, with positions, also in motion and parallax alone:
        # a nearby cluster that fills the cone is no denser than the field on the sky,
        # and in 5-D its sky spread hides how compact it is in the other three.
        self.spaces = []
        if self.usable:
            spaces = [self.z] if positions is None else [self.z, self.z[:, 2:]]
            for z in spaces:
                self.spaces.append((z, _kth_neighbour_distance(z, z, NEIGHBOURS + 1)))

    def _significance(self, members: np.ndarray) -> float:
        """The larger of the 5-D and the kinematic-only significance (see __init__)."""
        return max(significance(z, knn, members) for z, knn in self.spaces)

    def tested_members(self, member: np.ndarray) -> int:
        """How many rows of a boolean member mask take part in its significance test."""
        return int(np.count_nonzero(member[self.rows])) if self.usable else 0

    def significance_of(self, member: np.ndarray) -> float:
        """Significance of a boolean member mask over all rows (its precise part is used);
        0 when fewer than MIN_TESTED_MEMBERS of them take part."""
        if self.tested_members(member) < MIN_TESTED_MEMBERS:
            return 0.0
        return self._significance(np.flatnonzero(member[self.rows]))

    def candidates(self, sizes: tuple[int, ...] = MIN_CLUSTER_SIZES,
                   astrometry_columns: tuple[int, int, int] | None = None) -> list[Candidate]:
        """Candidates, most significant first; members index the rows of x.

        With `astrometry_columns` (pmra, pmdec, parallax in x), groups too spread in proper
        motion to be bound clusters (the field's own modes) are left out. What was left
        out, and why, is counted in `left_out_` (`refusal` words it).
        """
        self.left_out_ = {"unbound": 0, "not on the sky": 0}
        if not self.usable:
            return []
        diffuse: list[np.ndarray] = []
        eom, leaf = _label_sets(self.z, sizes)
        groups = []
        for members in _groups(eom):
            if self._bound(members, astrometry_columns):
                groups.append(members)
            else:
                self.left_out_["unbound"] += 1
        if self.positions is not None:
            # Pieces of a bound group are that group; pieces of an unbound one (the field's
            # kinematic core) may be the clusters inside it. Larger sizes first, so that a
            # cluster's own leaves at smaller sizes count as pieces of it.
            # (The leaves of one size are disjoint, so none is a piece of another.)
            for labels in reversed(leaf):
                for members in _labelled(labels):
                    if _piece_of(members, groups) or not self._bound(members,
                                                                     astrometry_columns):
                        continue
                    if sky_excess(self.z, members) >= MIN_SKY_EXCESS:
                        groups.append(members)
                    else:
                        diffuse.append(members)
            # the same piece is often a leaf at several sizes: counted once
            self.left_out_["not on the sky"] = len(_distinct(diffuse))
        found = [Candidate(members=self.rows[members],
                           mean=np.median(self.x[self.rows[members]], axis=0),
                           std=self.x[self.rows[members]].std(axis=0),
                           significance=self._significance(members),
                           sky_centre=None if self.positions is None
                           else np.median(self.positions[self.rows[members]], axis=0))
                 for members in groups]
        return sorted(found, key=lambda c: -c.significance)

    def refusal(self) -> str:
        """Why `candidates` found nothing, in words (after it ran)."""
        unbound, diffuse = self.left_out_["unbound"], self.left_out_["not on the sky"]
        if not unbound and not diffuse:
            return "no group was found at all"
        parts = [f"{unbound} group(s), too spread in proper motion to be bound at their "
                 "parallax"] if unbound else []
        if diffuse:
            parts.append(f"{diffuse} smaller bound group(s), none denser on the sky than the "
                         "stars that move alike (as when a cluster fills the table's footprint)")
        return "HDBSCAN found " + " and ".join(parts)

    def _bound(self, members: np.ndarray, astrometry_columns) -> bool:
        chosen = self.rows[members]
        return _bound(self.x[chosen], self.errors[chosen], astrometry_columns)
