"""Seedable Gaia-like cones with known truth: a cluster on top of a realistic field.

Built so that the easy cues of a toy field are absent, as they are in real Gaia cones:

- Field stars are drawn in distance along the line of sight through an exponential disc
  (scale height 300 pc, so the latitude sets how deep the field goes), given absolute
  magnitudes from a disc luminosity function (dwarfs and red-clump giants), reddened by
  a dust layer, and kept when brighter than the cone's G limit. Parallax therefore falls
  with magnitude, and proper motions are velocities over distance: the solar reflex plus
  thin-disc, thick-disc and halo dispersions, so the field's motion depends on magnitude
  and distance exactly where a cluster has to be told from it.
- The cluster: Plummer or King (1962) sky profile, internal velocity dispersion in km/s
  turned into proper motion at its distance, depth in parallax, a Kroupa-like mass
  function down to the G limit (so a distant cluster shows only its brightest stars),
  and unresolved binaries (brighter and redder, with an inflated RUWE and a perturbed
  proper motion when resolved orbital motion matters).
- Errors follow the Gaia DR3 or DR2 magnitude dependence; RUWE has a realistic tail;
  `with_errors=False` gives a table like the VizieR and literature extracts that carry no
  error columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from vocluster.core.sample import RELEASE_ERRORS, gaia_parallax_error
from vocluster.membership.perspective import KMS_PER_MASYR_KPC, local_basis

DISC_SCALE_HEIGHT_KPC = 0.3
DUST_SCALE_HEIGHT_KPC = 0.1
SOLAR_MOTION_KMS = (11.1, 12.2, 7.3)  # (U, V, W), Schoenrich et al. 2010
SUN_GALACTOCENTRIC_KPC = 8.2


@dataclass(frozen=True)
class FieldPopulation:
    """A Galactic component: local density, vertical scale, kinematics."""

    local_density: float                     # relative to the thin disc at the Sun
    scale_height_kpc: float | None           # None: a halo falling as r^-3
    sigma_uvw: tuple[float, float, float]    # km/s
    asymmetric_drift: float                  # km/s lag in V

    def density(self, distance_kpc: np.ndarray, sin_b: float) -> np.ndarray:
        if self.scale_height_kpc is None:
            r = np.hypot(SUN_GALACTOCENTRIC_KPC, distance_kpc)
            return self.local_density * (SUN_GALACTOCENTRIC_KPC / r) ** 3
        return self.local_density * np.exp(-distance_kpc * sin_b / self.scale_height_kpc)


FIELD_POPULATIONS = (FieldPopulation(1.0, 0.3, (35.0, 25.0, 18.0), 10.0),
                     FieldPopulation(0.12, 0.9, (65.0, 50.0, 42.0), 45.0),
                     FieldPopulation(0.005, None, (140.0, 100.0, 95.0), 220.0))
BINARY_FRACTION = 0.35


@dataclass(frozen=True)
class ClusterPreset:
    """A synthetic field modelled on a real cluster's cone."""

    name: str
    ra: float
    dec: float
    cone_radius: float        # deg
    n_stars: int              # total rows in the cone
    n_members: int            # observed members (brighter than g_limit)
    r50: float                # deg, Plummer half-number radius
    pmra: float
    pmdec: float
    parallax: float
    velocity_dispersion: float = 0.8   # km/s
    depth_fraction: float = 0.02       # 1-sigma depth as a fraction of the distance
    profile: str = "plummer"
    extinction_per_kpc: float = 0.7    # A_G (mag) per kpc of path inside the dust layer
    g_limit: float = 20.5
    release: str = "dr3"


PRESETS: dict[str, ClusterPreset] = {p.name: p for p in (
    ClusterPreset("NGC 2682", 132.846, 11.814, 0.25, 2_800, 600, 0.166, -10.986, -2.964, 1.135,
                  velocity_dispersion=0.8, g_limit=19.0),
    ClusterPreset("NGC 2516", 119.527, -60.800, 0.82, 30_000, 700, 0.549, -4.748, 11.221, 2.416,
                  velocity_dispersion=0.7),
    ClusterPreset("NGC 2632", 130.054, 19.621, 1.58, 40_000, 900, 1.052, -35.953, -12.920, 5.371,
                  velocity_dispersion=0.6),
    ClusterPreset("Melotte 22", 56.75, 24.12, 1.91, 100_000, 1_300, 1.274, 20.077, -45.503, 7.346,
                  velocity_dispersion=0.6),
    ClusterPreset("Melotte 25", 66.725, 15.870, 6.0, 434_000, 700, 3.0, 101.005, -28.490, 21.052,
                  velocity_dispersion=0.4, depth_fraction=0.05),
    # Distant clusters: motion and parallax barely separate them from the field.
    ClusterPreset("NGC 2243", 97.395, -31.282, 0.3, 12_000, 500, 0.05, -1.27, 5.50, 0.23,
                  velocity_dispersion=1.0, profile="king", depth_fraction=0.0),
    ClusterPreset("Berkeley 29", 103.268, 16.929, 0.2, 9_000, 120, 0.02, 0.08, -1.04, 0.075,
                  velocity_dispersion=1.0, depth_fraction=0.0, g_limit=20.8, release="dr2"),
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


def _main_sequence(mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M_G, intrinsic BP-RP) of a main-sequence star of `mass` (solar masses)."""
    log_m = np.log10(mass)
    return 4.8 - 10.0 * log_m, np.clip(0.82 - 2.4 * log_m, -0.3, 4.5)


def _extinction(distance_kpc: np.ndarray, latitude: float, per_kpc: float) -> np.ndarray:
    """A_G along the path through a dust layer of scale height 100 pc."""
    sin_b = max(abs(np.sin(np.radians(latitude))), 1e-3)
    depth = DUST_SCALE_HEIGHT_KPC / sin_b
    return per_kpc * depth * (1.0 - np.exp(-distance_kpc / depth))


def _tangent_basis(ra: float, dec: float) -> np.ndarray:
    """Rows: the Galactic (U, V, W) axes projected on (east, north) at (ra, dec)."""
    axes = SkyCoord(l=[0.0, 90.0, 0.0] * u.deg, b=[0.0, 0.0, 90.0] * u.deg, frame="galactic")
    icrs = axes.icrs.cartesian.xyz.value.T  # each Galactic axis in ICRS cartesian
    east, north, _ = (v[0] for v in local_basis(np.array([ra]), np.array([dec])))
    return icrs @ np.column_stack([east, north])


def _field(rng: np.random.Generator, n: int, p: ClusterPreset, latitude: float
           ) -> dict[str, np.ndarray]:
    """`n` field stars brighter than the G limit, drawn along the line of sight.

    Each population contributes in proportion to its stars along the column; distances
    follow d^2 times its density; a star is kept when it is brighter than the G limit,
    so faint stars are mostly distant ones, as in a real magnitude-limited cone.
    """
    sin_b = max(abs(np.sin(np.radians(latitude))), 0.02)
    grid = np.linspace(0.005, 30.0, 6000)  # kpc
    columns = [grid**2 * pop.density(grid, sin_b) for pop in FIELD_POPULATIONS]
    weights = np.array([c.sum() for c in columns])
    cdfs = [np.cumsum(c) / c.sum() for c in columns]
    parts: list[dict[str, np.ndarray]] = []
    kept, rate = 0, 0.05
    while kept < n:
        m = int((n - kept) / rate * 1.3) + 1000
        population = rng.choice(len(FIELD_POPULATIONS), m, p=weights / weights.sum())
        distance = np.empty(m)
        for k, cdf in enumerate(cdfs):
            here = population == k
            distance[here] = np.interp(rng.uniform(size=here.sum()), cdf, grid)
        giant = rng.uniform(size=m) < 0.02
        abs_g, colour = _main_sequence(np.clip(0.1 * (1 - rng.uniform(size=m)) ** (-1 / 1.3),
                                               0.1, 1.3))
        abs_g = np.where(giant, rng.normal(0.6, 0.7, m), abs_g)
        colour = np.where(giant, rng.normal(1.15, 0.12, m), colour)
        a_g = _extinction(distance, latitude, p.extinction_per_kpc)
        g = abs_g + 5 * np.log10(distance * 100.0) + a_g
        ok = (g < p.g_limit) & (g > 4.0)
        rate = max(ok.mean(), 1e-3)
        parts.append({"distance": distance[ok], "g": g[ok], "bp_rp": (colour + a_g / 1.9)[ok],
                      "population": population[ok]})
        kept += int(ok.sum())
    out = {k: np.concatenate([part[k] for part in parts])[:n] for k in parts[0]}
    population = out["population"]
    sigma = np.array([pop.sigma_uvw for pop in FIELD_POPULATIONS])[population]
    velocity = sigma * rng.normal(size=(n, 3))
    velocity[:, 1] -= np.array([pop.asymmetric_drift for pop in FIELD_POPULATIONS])[population]
    velocity -= np.asarray(SOLAR_MOTION_KMS)
    pm = velocity @ _tangent_basis(p.ra, p.dec) / (KMS_PER_MASYR_KPC * out["distance"][:, None])
    return {"parallax": 1.0 / out["distance"], "pmra": pm[:, 0], "pmdec": pm[:, 1],
            "g": out["g"], "bp_rp": out["bp_rp"], "binary": np.zeros(n, bool)}


def _cluster_photometry(rng: np.random.Generator, n: int, distance_modulus: float,
                        g_limit: float) -> dict[str, np.ndarray]:
    """G, BP-RP and binarity of `n` observed members (brighter than the G limit).

    Masses from a Kroupa-like power law above 0.1 solar masses; a binary's companion
    (mass ratio uniform in 0.1-1) adds its flux, so binaries sit up to 0.75 mag above
    the single-star sequence and slightly redder, as unresolved pairs do in Gaia.
    """
    parts: list[dict[str, np.ndarray]] = []
    kept = 0
    while kept < n:
        m = 8 * (n - kept) + 500
        mass = np.clip(0.1 * (1 - rng.uniform(size=m)) ** (-1 / 1.3), 0.1, 4.0)
        abs_g, colour = _main_sequence(mass)
        binary = rng.uniform(size=m) < BINARY_FRACTION
        companion_g, companion_colour = _main_sequence(
            np.maximum(mass * rng.uniform(0.1, 1.0, m), 0.1))
        flux, companion_flux = 10 ** (-0.4 * abs_g), binary * 10 ** (-0.4 * companion_g)
        g = -2.5 * np.log10(flux + companion_flux) + distance_modulus
        colour = (colour * flux + companion_colour * companion_flux) / (flux + companion_flux)
        ok = g < g_limit
        parts.append({"g": g[ok], "bp_rp": colour[ok], "binary": binary[ok]})
        kept += int(ok.sum())
    return {k: np.concatenate([part[k] for part in parts])[:n] for k in parts[0]}


def make_cone(p: ClusterPreset | str, seed: int = 0, n_stars: int | None = None,
              n_members: int | None = None, release: str | None = None,
              with_errors: bool = True) -> Table:
    """A Gaia-archive-like cone with a simulated cluster and its truth.

    Parameters
    ----------
    p : ClusterPreset or str
        A preset or its name (`"Melotte 22"`, `"Berkeley 29"`, ...; see `PRESETS`).
    seed : int
        Every draw comes from this seed.
    n_stars, n_members : int, optional
        Override the preset's counts (members scale with the stars when only
        `n_stars` is given).
    release : {"dr3", "dr2"}, optional
        Whose error model; the preset's by default.
    with_errors : bool
        Include the `*_error` columns (False: a table like most literature tables).

    Returns
    -------
    astropy.table.Table
        Archive column names, units and UCDs, plus a boolean `true_member`.

    Examples
    --------
    >>> from vocluster.datasets.synthetic import make_cone
    >>> cone = make_cone("Melotte 22", seed=0, n_stars=2000)
    >>> int(cone["true_member"].sum()) > 0
    True
    """
    p = preset(p) if isinstance(p, str) else p
    if n_stars is not None or n_members is not None:
        scale = (n_stars or p.n_stars) / p.n_stars
        p = replace(p, n_stars=n_stars or p.n_stars,
                    n_members=n_members or max(30, int(p.n_members * min(scale, 1.0))))
    release = release or p.release
    rng = np.random.default_rng(seed)
    n_cl = p.n_members
    n_field = p.n_stars - n_cl
    latitude = float(SkyCoord(p.ra * u.deg, p.dec * u.deg).galactic.b.deg)
    # cluster
    r = _cluster_radii(rng, n_cl, p.r50, p.profile, p.cone_radius)
    ra_c, dec_c = _offsets_to_sky(p.ra, p.dec, r, rng.uniform(0, 2 * np.pi, n_cl))
    distance_pc = 1000.0 / p.parallax * (1.0 + p.depth_fraction * rng.normal(size=n_cl))
    a_g = float(_extinction(np.array([1.0 / p.parallax]), latitude, p.extinction_per_kpc)[0])
    cluster = _cluster_photometry(rng, n_cl, 5 * np.log10(1000.0 / p.parallax) - 5 + a_g,
                                  p.g_limit)
    cluster["g"] += 5 * np.log10(distance_pc * p.parallax / 1000.0)
    cluster["bp_rp"] += a_g / 1.9
    pm_sigma = p.velocity_dispersion * p.parallax / KMS_PER_MASYR_KPC
    # orbital motion of unresolved pairs adds to the proper motion of some binaries
    pm_jitter = np.where(cluster["binary"] & (rng.uniform(size=n_cl) < 0.3), 3.0, 1.0)
    pmra_c = p.pmra + pm_sigma * pm_jitter * rng.normal(size=n_cl)
    pmdec_c = p.pmdec + pm_sigma * pm_jitter * rng.normal(size=n_cl)
    # field, uniform over the cone
    r_f = p.cone_radius * np.sqrt(rng.uniform(0, 1, n_field))
    ra_f, dec_f = _offsets_to_sky(p.ra, p.dec, r_f, rng.uniform(0, 2 * np.pi, n_field))
    field = _field(rng, n_field, p, latitude)

    g = np.concatenate([cluster["g"], field["g"]])
    plx_err = gaia_parallax_error(g, release) * rng.lognormal(0, 0.15, g.size)
    pm_err = plx_err * RELEASE_ERRORS[release][1]
    binary = np.concatenate([cluster["binary"], field["binary"]])
    truth = np.concatenate([np.ones(n_cl, bool), np.zeros(n_field, bool)])
    true_pmra = np.concatenate([pmra_c, field["pmra"]])
    true_pmdec = np.concatenate([pmdec_c, field["pmdec"]])
    true_plx_all = np.concatenate([1000.0 / distance_pc, field["parallax"]])
    ruwe = (1.0 + np.abs(rng.normal(0, 0.05, g.size)) + rng.pareto(3.0, g.size) * 0.05
            + binary * rng.exponential(0.3, g.size))
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
        "bp_rp": (np.concatenate([cluster["bp_rp"], field["bp_rp"]]), u.mag,
                  "phot.color;em.opt.B;em.opt.R"),
    }
    for name, (values, unit, ucd) in columns.items():
        if not with_errors and name.endswith("_error"):
            continue
        table[name] = values[order]
        table[name].unit = unit
        table[name].meta["ucd"] = ucd
    table["true_member"] = truth[order]
    table.meta.update({"preset": p.name, "seed": seed, "n_members": int(n_cl),
                       "vocluster_gaia_release": release})
    return table
