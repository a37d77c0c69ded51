"""Seedable Gaia-like cones with known truth: a cluster on top of a realistic field.

Cluster: Plummer (or King 1962) sky profile, internal velocity dispersion in km/s
turned into proper-motion spread at its distance, depth in parallax, a main
sequence in (G, BP-RP) from a power-law mass function. Field: a disc-like mix
whose parallaxes follow a distance distribution and whose proper motions grow
with parallax (solar reflex + velocity dispersion), plus a halo tail. Errors
follow the Gaia DR3 magnitude dependence; RUWE has a realistic tail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from astropy import units as u
from astropy.table import Table

from vocluster.core.sample import RELEASE_ERRORS, gaia_parallax_error

K_MAS = 4.74047  # km/s per (mas/yr) at 1 kpc


@dataclass(frozen=True)
class ClusterPreset:
    """A synthetic field modelled on a real cluster's cone."""

    name: str
    ra: float
    dec: float
    cone_radius: float        # deg
    n_stars: int              # total rows in the cone
    n_members: int
    r50: float                # deg, Plummer half-number radius
    pmra: float
    pmdec: float
    parallax: float
    velocity_dispersion: float = 0.8   # km/s
    depth_fraction: float = 0.02       # 1-sigma depth as a fraction of the distance
    profile: str = "plummer"
    field_parallax_scale: float = 0.6  # mas, typical field parallax
    g_limit: float = 20.5


PRESETS: dict[str, ClusterPreset] = {p.name: p for p in (
    ClusterPreset("NGC 2682", 132.846, 11.814, 0.25, 2_800, 600, 0.166, -10.986, -2.964, 1.135,
                  velocity_dispersion=0.8, field_parallax_scale=0.5, g_limit=19.0),
    ClusterPreset("NGC 2516", 119.527, -60.800, 0.82, 30_000, 700, 0.549, -4.748, 11.221, 2.416,
                  velocity_dispersion=0.7, field_parallax_scale=0.7),
    ClusterPreset("NGC 2632", 130.054, 19.621, 1.58, 40_000, 900, 1.052, -35.953, -12.920, 5.371,
                  velocity_dispersion=0.6),
    ClusterPreset("Melotte 22", 56.75, 24.12, 1.91, 100_000, 1_300, 1.274, 20.077, -45.503, 7.346,
                  velocity_dispersion=0.6),
    ClusterPreset("Melotte 25", 66.725, 15.870, 6.0, 434_000, 700, 3.0, 101.005, -28.490, 21.052,
                  velocity_dispersion=0.4, depth_fraction=0.05, field_parallax_scale=0.8),
)}


def preset(name: str) -> ClusterPreset:
    key = name.replace("_", " ").lower()
    for preset_name, value in PRESETS.items():
        if preset_name.lower() == key:
            return value
    raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")


def _cluster_radii(rng: np.random.Generator, n: int, r50: float, profile: str,
                   max_radius: float) -> np.ndarray:
    """Projected radii: Plummer by inverse CDF; King (c = 10) by rejection."""
    if profile == "plummer":
        cdf_max = max_radius**2 / (max_radius**2 + r50**2)
        v = rng.uniform(0, cdf_max, n)
        return r50 * np.sqrt(v / (1 - v))
    core, tidal = r50 / 2.0, r50 * 5.0
    out = np.empty(0)
    limit = min(tidal, max_radius)
    while out.size < n:
        r = limit * np.sqrt(rng.uniform(0, 1, 4 * n))
        king = (1 / np.sqrt(1 + (r / core) ** 2) - 1 / np.sqrt(1 + (tidal / core) ** 2)) ** 2
        out = np.concatenate([out, r[rng.uniform(0, 1, r.size) < king / king.max()]])
    return out[:n]


def _offsets_to_sky(ra0: float, dec0: float, radius: np.ndarray, angle: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Positions at angular distance `radius` (deg) and position angle from (ra0, dec0)."""
    d, a = np.radians(radius), angle
    dec0_r = np.radians(dec0)
    dec = np.arcsin(np.sin(dec0_r) * np.cos(d) + np.cos(dec0_r) * np.sin(d) * np.cos(a))
    ra = np.radians(ra0) + np.arctan2(np.sin(a) * np.sin(d) * np.cos(dec0_r),
                                      np.cos(d) - np.sin(dec0_r) * np.sin(dec))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def _main_sequence(rng: np.random.Generator, n: int, distance_modulus: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(G, BP-RP) of cluster stars: Salpeter-like masses on a simple MS relation."""
    mass = (rng.pareto(1.35, n) + 1.0) * 0.15
    mass = np.clip(mass, 0.15, 4.0)
    abs_g = 4.8 - 10.0 * np.log10(mass)
    colour = np.clip(0.82 - 1.5 * np.log10(mass) * 1.6, -0.2, 4.0)
    return abs_g + distance_modulus, colour + rng.normal(0, 0.03, n)


def _field(rng: np.random.Generator, n: int, p: ClusterPreset) -> dict[str, np.ndarray]:
    """Disc field: distances from an exponential-ish law; pm from reflex motion + dispersion."""
    parallax = rng.gamma(2.0, p.field_parallax_scale / 2.0, n)
    parallax += rng.exponential(p.field_parallax_scale * 2.0, n) * (rng.uniform(size=n) < 0.05)
    distance_kpc = 1.0 / np.maximum(parallax, 0.02)
    reflex = np.array([-12.0, -6.0]) + rng.normal(0, 3.0, 2)  # km/s direction on this sky
    halo = rng.uniform(size=n) < 0.03
    sigma_v = np.where(halo, 120.0, 30.0)
    v = reflex[None, :] + sigma_v[:, None] * rng.normal(size=(n, 2))
    pm = v / (K_MAS * distance_kpc[:, None])
    g = p.g_limit - rng.exponential(2.2, n)
    colour = rng.normal(1.2, 0.5, n)
    return {"parallax": parallax, "pmra": pm[:, 0], "pmdec": pm[:, 1], "g": g, "bp_rp": colour}


def make_cone(p: ClusterPreset | str, seed: int = 0, n_stars: int | None = None,
              n_members: int | None = None) -> Table:
    """A Gaia-archive-like table (same column names, units, UCDs) plus `true_member`."""
    p = preset(p) if isinstance(p, str) else p
    if n_stars is not None or n_members is not None:
        scale = (n_stars or p.n_stars) / p.n_stars
        p = replace(p, n_stars=n_stars or p.n_stars,
                    n_members=n_members or max(30, int(p.n_members * min(scale, 1.0))))
    rng = np.random.default_rng(seed)
    n_cl = p.n_members
    n_field = p.n_stars - n_cl
    # cluster
    r = _cluster_radii(rng, n_cl, p.r50, p.profile, p.cone_radius)
    ra_c, dec_c = _offsets_to_sky(p.ra, p.dec, r, rng.uniform(0, 2 * np.pi, n_cl))
    distance_pc = 1000.0 / p.parallax * (1.0 + p.depth_fraction * rng.normal(size=n_cl))
    true_plx = 1000.0 / distance_pc
    pm_sigma = p.velocity_dispersion * p.parallax / K_MAS
    pmra_c = p.pmra + pm_sigma * rng.normal(size=n_cl)
    pmdec_c = p.pmdec + pm_sigma * rng.normal(size=n_cl)
    g_c, col_c = _main_sequence(rng, n_cl, 5 * np.log10(distance_pc) - 5)
    # field, uniform over the cone
    r_f = p.cone_radius * np.sqrt(rng.uniform(0, 1, n_field))
    ra_f, dec_f = _offsets_to_sky(p.ra, p.dec, r_f, rng.uniform(0, 2 * np.pi, n_field))
    field = _field(rng, n_field, p)

    g = np.concatenate([g_c, field["g"]])
    g = np.clip(g, 5.0, None)
    plx_err = gaia_parallax_error(g) * rng.lognormal(0, 0.15, g.size)
    pm_err = plx_err * RELEASE_ERRORS["dr3"][1]
    truth = np.concatenate([np.ones(n_cl, bool), np.zeros(n_field, bool)])
    true_pmra = np.concatenate([pmra_c, field["pmra"]])
    true_pmdec = np.concatenate([pmdec_c, field["pmdec"]])
    true_plx_all = np.concatenate([true_plx, field["parallax"]])
    ruwe = 1.0 + np.abs(rng.normal(0, 0.05, g.size)) + rng.pareto(3.0, g.size) * 0.05
    order = rng.permutation(g.size)
    table = Table()
    table["source_id"] = (np.arange(g.size, dtype=np.int64) * 7919 + 4_295_806_720)[order]
    columns = {
        "ra": (np.concatenate([ra_c, ra_f]), u.deg, "pos.eq.ra;meta.main"),
        "dec": (np.concatenate([dec_c, dec_f]), u.deg, "pos.eq.dec;meta.main"),
        "parallax": (true_plx_all + plx_err * rng.normal(size=g.size), u.mas, "pos.parallax.trig"),
        "parallax_error": (plx_err, u.mas, "stat.error;pos.parallax.trig"),
        "pmra": (true_pmra + pm_err * rng.normal(size=g.size), u.mas / u.yr, "pos.pm;pos.eq.ra"),
        "pmra_error": (pm_err, u.mas / u.yr, "stat.error;pos.pm;pos.eq.ra"),
        "pmdec": (true_pmdec + pm_err * rng.normal(size=g.size), u.mas / u.yr,
                  "pos.pm;pos.eq.dec"),
        "pmdec_error": (pm_err * rng.lognormal(0, 0.05, g.size), u.mas / u.yr,
                        "stat.error;pos.pm;pos.eq.dec"),
        "ruwe": (ruwe, None, "phys.size.axisRatio"),
        "phot_g_mean_mag": (g, u.mag, "phot.mag;em.opt"),
        "bp_rp": (np.concatenate([col_c, field["bp_rp"]]), u.mag, "phot.color;em.opt.B;em.opt.R"),
    }
    for name, (values, unit, ucd) in columns.items():
        table[name] = values[order]
        table[name].unit = unit
        table[name].meta["ucd"] = ucd
    table["true_member"] = truth[order]
    table.meta.update({"preset": p.name, "seed": seed, "n_members": int(n_cl)})
    return table
