"""Is what was found a cluster? Figures and refusals applied to every final member list.

Whatever method grouped the stars, the list it returns is checked the same way, with
physics that does not depend on the method:

- significance: the members must be denser than the field around them (the k-NN test
  that ranked the detection's candidates, now on the final list);
- boundness: their intrinsic proper-motion and parallax spreads (observed robust spread
  less the median error) must be within what a bound cluster at their parallax can have
  (base.intrinsic_spread_limit, with a factor 2 for escaping halo stars and binaries).
  A list that is wider has taken in field stars, which is how an over-large list shows
  itself without a published list to compare with. A proper-motion spread beyond that is
  refused (on the real fields, calibrated lists sit at 0.2-0.3 of the limit and unbound
  raw lists at 3.6-11 times it); the parallax depth only warns, because a table without
  error columns underestimates faint stars' errors enough to put good lists near it;
- how the members sit in the table: their fraction of it, their concentration on the
  sky, and their r50 against the cone's radius (a cone smaller than the cluster makes r50
  and the member count lower limits);
- for a raw method, which has no model of the field: the share of its members that the
  calibrated mixture, fitted from the same start, holds to be field stars;
- how the table sits on the sky: a table of a round number of rows whose disc has empty
  patches was cut at an archive's row limit (a TOP N query returns the first N rows in
  the archive's order, which for Gaia is HEALPix order: whole patches of the cone are
  missing, not a random subset).
"""

from __future__ import annotations

import numpy as np

from vocluster.membership.base import MIN_SIGNIFICANCE, intrinsic_spread_limit
from vocluster.membership.detection import MIN_TESTED_MEMBERS
from vocluster.membership.mixture import robust_sigma

SPREAD_TOLERANCE = 2.0
# A Plummer cluster cut at radius R keeps r50 < R/2 or so: beyond this the cone is too small.
MAX_R50_FRACTION = 0.4
# With ~20 stars per cell an empty cell inside a full cone is a 1-in-10^8 chance: a disc
# less than 95% covered has holes. Row limits are round numbers of rows.
STARS_PER_CELL, MIN_COVERED, ROUND_ROWS = 20, 0.95, 1000
# On the shared real fields raw lists hold 0-12% stars that the mixture calls field, and
# raw DEC's 4.4x-too-long Berkeley 29 list 48%: a third is well clear of both.
MAX_RAW_FIELD_SHARE = 1 / 3


class NotACluster(ValueError):
    """The final member list fails the significance test or is not bound."""


def intrinsic_spread(values: np.ndarray, errors: np.ndarray) -> float:
    """Robust observed spread with the typical measurement error taken out (0 if smaller)."""
    observed = float(robust_sigma(values[:, None])[0])
    return float(np.sqrt(max(observed**2 - np.median(errors**2), 0.0)))


def assess(significance: float, astrometry: dict[str, np.ndarray], member: np.ndarray,
           positions: np.ndarray | None, force: bool,
           n_rows: int | None = None,
           raw_field_share: float | None = None,
           n_tested: int | None = None) -> dict[str, float]:
    """Sanity figures of a member list; raises NotACluster when it is not significant.

    `raw_field_share`: for a raw method's list, `field_share` (None for a calibrated one).
    `n_tested`: how many members took part in the significance test. Far away in a deep
    field nearly all of a small cluster's members are too faint to be compared with the
    field's stars: "0.0 sigma" would read as if they had been, so that is said instead.
    """
    if n_tested is not None and n_tested < MIN_TESTED_MEMBERS and not force:
        raise NotACluster(f"the {int(member.sum())} members found cannot be tested against "
                          f"the field: only {n_tested} of them are precise enough to be "
                          f"compared with the field's stars ({MIN_TESTED_MEMBERS} needed); "
                          f"--force returns them anyway")
    if significance < MIN_SIGNIFICANCE and not force:
        raise NotACluster(f"the {int(member.sum())} members found are not a significant "
                          f"cluster ({significance:.1f} sigma against the field around them, "
                          f"{MIN_SIGNIFICANCE:g} needed); --force returns them anyway")
    figures = {"significance": round(significance, 2),
               "member_fraction": round(float(member.mean()), 4),
               "sky_concentration": round(sky_concentration(positions, member), 2)}
    if positions is not None and member.sum() >= 3:
        centre = np.median(positions[member], axis=0)
        r50 = float(np.median(np.hypot(*(positions[member] - centre).T)))
        cone = float(np.quantile(np.hypot(*(positions - np.median(positions, axis=0)).T), 0.99))
        figures["r50_over_cone_radius"] = round(r50 / max(cone, 1e-9), 3)
        figures["footprint_covered"] = round(footprint_coverage(positions), 3)
    if n_rows is not None:
        figures["n_rows"] = n_rows
    if raw_field_share is not None:
        figures["raw_field_share"] = raw_field_share
    if member.sum() >= 3 and {"pmra", "parallax"} <= set(astrometry):
        spread = {k: intrinsic_spread(astrometry[k][member], astrometry[f"{k}_error"][member])
                  for k in ("pmra", "pmdec", "parallax")}
        parallax = float(np.median(astrometry["parallax"][member]))
        motion = float(np.hypot(np.median(astrometry["pmra"][member]),
                                np.median(astrometry["pmdec"][member])))
        pm_limit, plx_limit = intrinsic_spread_limit(parallax, motion)
        figures.update({"intrinsic_pm_spread": round(max(spread["pmra"], spread["pmdec"]), 3),
                        "intrinsic_parallax_spread": round(spread["parallax"], 3),
                        "pm_spread_limit": round(pm_limit, 3),
                        "parallax_spread_limit": round(plx_limit, 3)})
        unbound = unbound_reason(figures)
        if unbound and not force:
            raise NotACluster(f"the {int(member.sum())} members found are not a bound cluster: "
                              f"{unbound}; --force returns them anyway")
    return figures


def unbound_reason(figures: dict[str, float]) -> str | None:
    """Why a list's proper motions are too wide for a bound cluster, or None."""
    if figures.get("intrinsic_pm_spread", 0.0) <= SPREAD_TOLERANCE * figures.get(
            "pm_spread_limit", np.inf):
        return None
    return (f"their intrinsic proper-motion spread ({figures['intrinsic_pm_spread']:.2f} "
            f"mas/yr) is more than {SPREAD_TOLERANCE:g}x what a bound cluster at their "
            f"parallax allows ({figures['pm_spread_limit']:.2f}): field stars are among them")


def warnings(figures: dict[str, float], n_fitted: int) -> list[str]:
    """What a user must be told: a forced weak or unbound list, a small cone, a member table."""
    out = []
    if figures["significance"] < MIN_SIGNIFICANCE:
        out.append(f"forced: the members are only {figures['significance']:.1f} sigma above "
                   f"the field")
    unbound = unbound_reason(figures)
    if unbound:
        out.append(f"forced: not a bound cluster, {unbound}")
    elif figures.get("intrinsic_parallax_spread", 0.0) > SPREAD_TOLERANCE * figures.get(
            "parallax_spread_limit", np.inf):
        out.append(f"the members' intrinsic parallax spread "
                   f"({figures['intrinsic_parallax_spread']:.3f} mas) is more than "
                   f"{SPREAD_TOLERANCE:g}x the depth a cluster at their parallax can have "
                   f"({figures['parallax_spread_limit']:.3f}): field stars are among them")
    share = figures.get("raw_field_share", 0.0)
    if share > MAX_RAW_FIELD_SHARE:
        out.append(f"the calibrated cluster/field mixture holds {share:.0%} of these raw "
                   f"members to be field stars (their mean 1 - p): the raw list has taken in "
                   f"field stars; the calibrated run (without --no-calibrate) counts them out")
    elif np.isnan(share):
        out.append("the calibrated mixture could not be fitted from this raw list, so nothing "
                   "checks how many of its members are field stars")
    if figures.get("r50_over_cone_radius", 0.0) > MAX_R50_FRACTION:
        out.append(f"r50 is {figures['r50_over_cone_radius']:.0%} of the table's radius on "
                   f"the sky: the cluster probably extends beyond the cone, so r50 and the "
                   f"member count are lower limits")
    if (figures.get("footprint_covered", 1.0) < MIN_COVERED
            and figures.get("n_rows", 1) % ROUND_ROWS == 0):
        out.append(f"only {figures['footprint_covered']:.0%} of the table's disc on the sky "
                   f"holds stars and it has exactly {figures['n_rows']:,} rows: it looks cut "
                   f"at an archive's row limit, so whole patches of the cone are missing "
                   f"(members there are not counted); fetch it without the limit")
    if figures["member_fraction"] > 0.5:
        out.append(f"{figures['member_fraction']:.0%} of the {n_fitted} fitted rows are "
                   f"members: check that the table is not already a member list")
    return out


def field_share(member: np.ndarray, calibrated: np.ndarray | None) -> float:
    """The members' mean calibrated probability of being field stars (NaN: no check)."""
    if calibrated is None or not member.any():
        return float("nan")
    return round(float(np.mean(1.0 - calibrated[member])), 3)


def footprint_coverage(positions: np.ndarray) -> float:
    """The fraction of the table's disc (0.9 of its 99% radius) in cells that hold stars,
    on a grid of about `STARS_PER_CELL` stars per cell."""
    offsets = positions - np.median(positions, axis=0)
    radius = max(float(np.quantile(np.hypot(*offsets.T), 0.99)), 1e-9)
    n_side = int(np.clip(np.sqrt(len(positions) / STARS_PER_CELL * 4 / np.pi), 4, 64))
    counts, _, _ = np.histogram2d(*offsets.T, bins=n_side, range=[[-radius, radius]] * 2)
    centres = ((np.arange(n_side) + 0.5) / n_side * 2 - 1) * radius
    gx, gy = np.meshgrid(centres, centres, indexing="ij")
    disc = np.hypot(gx, gy) < 0.9 * radius
    return float((counts[disc] > 0).mean())


def sky_concentration(positions: np.ndarray | None, member: np.ndarray) -> float:
    """Members inside the circle that holds 10% of all stars around their centre, over 10%.

    1 means the members are spread like the table; a compact cluster gives several.
    """
    if positions is None or member.sum() < 3:
        return float("nan")
    centre = np.median(positions[member], axis=0)
    radius2 = np.sum((positions - centre) ** 2, axis=1)
    inside = radius2 <= np.quantile(radius2, 0.1)
    return float(inside[member].mean() / 0.1)
