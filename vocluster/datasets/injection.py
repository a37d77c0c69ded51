"""Realistic simulated clusters (ocelot) injected into a real Gaia field.

A simulated cluster is only a fair test when it is observed the way the field around it
was. So the simulation (ocelot: King profile, Kroupa IMF, Moe & Di Stefano binaries,
PARSEC photometry with differential reddening, unresolved pairs) is observed with:

- the field's own astrometric errors: each simulated star takes the errors of the real
  field star nearest to it in G (ocelot's Gaia DR3 method), so a deep field gives
  faint members the errors that faint stars have there;
- Gaia DR3 photometric noise: that star's G, BP and RP flux errors, modelled from its G and
  colour (`photometric_errors`, since tables seldom carry them), and DR3's overestimate of
  faint BP and RP fluxes (Riello et al. 2021), both applied by ocelot, so injected
  sequences widen and turn blue at the faint end as real ones do;
- the field's own completeness in G, measured from its magnitude counts (the counts a
  power law fitted to the complete range predicts, against those seen), instead of the
  Gaia selection function ocelot would download from Zenodo.

Injected stars keep the field's column names, units and error columns (none when the
field has none, so errors are estimated for every row alike), plus `injected_id`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table, vstack

from vocluster.core.columns import QUANTITY_BY_KEY
from vocluster.core.sample import GaiaSample
from vocluster.datasets.isochrones import ensure_isochrones, missing_extra
from vocluster.datasets.photometric_errors import flux_errors

ERROR_KEYS = ("parallax_error", "pmra_error", "pmdec_error")
PC_PER_SOLAR_MASS_CUBE_ROOT = 1.46  # Jacobi radius ~ 1.46 (M / Msun)^(1/3) pc near the Sun


@dataclass(frozen=True)
class ClusterSpec:
    """One cluster to simulate: where, how far, how it moves, how massive and old."""

    ra: float
    dec: float
    distance_pc: float
    pmra: float
    pmdec: float
    mass: float
    log_age: float = 8.5
    metallicity: float = 0.0
    extinction: float = 0.3      # A_V, mag
    core_fraction: float = 0.2   # r_core / r_tidal

    @property
    def parallax(self) -> float:
        return 1000.0 / self.distance_pc

    @property
    def r_tidal_pc(self) -> float:
        return PC_PER_SOLAR_MASS_CUBE_ROOT * self.mass ** (1 / 3)

    @property
    def r_tidal_deg(self) -> float:
        return float(np.degrees(self.r_tidal_pc / self.distance_pc))


def completeness_curve(g: np.ndarray, bin_width: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(G grid, fraction of stars seen) from the field's own magnitude counts.

    Star counts rise as a power law in flux until the survey starts to lose stars; the
    fall-off beyond the counts' peak, against the power law fitted over the three
    magnitudes before it, is the completeness.
    """
    g = g[np.isfinite(g)]
    edges = np.arange(np.floor(g.min()), np.ceil(g.max()) + bin_width, bin_width)
    counts, _ = np.histogram(g, edges)
    centres = 0.5 * (edges[:-1] + edges[1:])
    peak = centres[np.argmax(counts)]
    fit = (centres > peak - 3.5) & (centres <= peak - 0.5) & (counts > 0)
    if fit.sum() < 3:
        return centres, np.ones_like(centres)
    slope, intercept = np.polyfit(centres[fit], np.log10(counts[fit]), 1)
    expected = 10 ** (intercept + slope * centres)
    seen = np.where(centres <= peak - 0.5, 1.0, np.clip(counts / expected, 0.0, 1.0))
    return np.append(centres, centres[-1] + bin_width), np.append(seen, 0.0)


def _observation_model(sample: GaiaSample, g_grid: np.ndarray, seen: np.ndarray):
    """ocelot's Gaia DR3 observation, with this field's errors and completeness."""
    import pandas as pd
    from ocelot.model.observation import BaseSelectionFunction, GaiaDR3ObservationModel

    class FieldCompleteness(BaseSelectionFunction):
        def _query(self, observation: pd.DataFrame) -> np.ndarray:
            g = observation["gaia_dr3_g"].to_numpy(float)
            # no magnitude (below the isochrone's lowest mass, or a remnant): not seen
            return np.where(np.isfinite(g), np.interp(g, g_grid, seen, left=1.0, right=0.0),
                            0.0)

    class FieldObservation(GaiaDR3ObservationModel):
        def __init__(self, representative: pd.DataFrame) -> None:
            # The parent's constructor demands BP and RP magnitudes of the representative
            # stars, which a table may lack; their flux errors are all it needs of them.
            self.representative_stars = representative
            self.subsample_selection_functions = ()
            self.overestimate_bp_rp_fluxes = True
            self.matching_stars = self.stars_to_assign = self.simulated_cluster = None

        def get_selection_functions(self, cluster):
            self._assert_simulated_cluster_not_reused(cluster)
            return [FieldCompleteness()]

    v = sample.values
    known = np.isfinite(v["phot_g_mean_mag"])
    g = v["phot_g_mean_mag"][known]
    bp_rp = v["bp_rp"][known] if "bp_rp" in v else np.full(len(g), np.nan)
    representative = pd.DataFrame({
        "source_id": np.flatnonzero(known), "phot_g_mean_mag": g,
        **{k: v[k][known] for k in ERROR_KEYS}, **flux_errors(g, bp_rp, sample.release)})
    return FieldObservation(representative)


def simulate(spec: ClusterSpec, sample: GaiaSample, seed: int) -> Table:
    """Observed stars of one simulated cluster, in Gaia column names."""
    if "phot_g_mean_mag" not in sample.values:
        raise ValueError("injections need G magnitudes in the field table")
    os.environ["OCELOT_DATA"] = str(ensure_isochrones())  # read when ocelot is imported
    try:
        from ocelot.simulate import SimulatedCluster, SimulatedClusterParameters
    except ImportError as exc:
        raise missing_extra("ocelot") from exc
    g_grid, seen = completeness_curve(sample.values["phot_g_mean_mag"])
    position = SkyCoord(ra=spec.ra * u.deg, dec=spec.dec * u.deg,
                        distance=spec.distance_pc * u.pc, pm_ra_cosdec=spec.pmra * u.mas / u.yr,
                        pm_dec=spec.pmdec * u.mas / u.yr, radial_velocity=0 * u.km / u.s)
    r_tidal = spec.r_tidal_pc
    parameters = SimulatedClusterParameters(
        position=position, mass=spec.mass, log_age=spec.log_age,
        metallicity=spec.metallicity, r_core=spec.core_fraction * r_tidal, r_tidal=r_tidal,
        extinction=spec.extinction)
    cluster = SimulatedCluster(parameters, models={"observations": [
        _observation_model(sample, g_grid, seen)]}, random_seed=seed)
    with warnings.catch_warnings():  # ocelot's log10(flux, where=flux > 0): it masks the rest
        warnings.filterwarnings("ignore", "'where' used without 'out'", UserWarning)
        observed = cluster.make().observations["gaia_dr3"]
    out = Table()
    for key, column in (("ra", "ra"), ("dec", "dec"), ("pmra", "pmra"), ("pmdec", "pmdec"),
                        ("parallax", "parallax"), ("phot_g_mean_mag", "gaia_dr3_g"),
                        *((k, k) for k in ERROR_KEYS)):
        out[key] = observed[column].to_numpy(dtype=float)
    for key, band in (("phot_bp_mean_mag", "gaia_dr3_bp"), ("phot_rp_mean_mag", "gaia_dr3_rp")):
        magnitude = observed[band].to_numpy(dtype=float)
        out[key] = np.where(np.isfinite(magnitude), magnitude, np.nan)  # a flux drawn below 0
    out["bp_rp"] = out["phot_bp_mean_mag"] - out["phot_rp_mean_mag"]
    return out


def inject(field: Table, sample: GaiaSample, stars: Table, injected_id: int) -> Table:
    """`field` with `stars` appended under the field's own column names and units."""
    rows = Table()
    for key, name in sample.columns.columns.items():
        if key == "source_id":
            rows[name] = -(injected_id * 100_000 + np.arange(1, len(stars) + 1))
        elif key in stars.colnames:
            unit = field[name].unit
            values = np.asarray(stars[key])
            canonical = QUANTITY_BY_KEY[key].unit
            if unit is not None and canonical is not None:
                values = (values * canonical).to_value(unit)
            rows[name] = values
    if "injected_id" not in field.colnames:
        field = field.copy(copy_data=False)
        field["injected_id"] = MaskedColumn(np.zeros(len(field), np.int32), dtype=np.int32,
                                            description="Simulated cluster (0 = real star)")
    rows["injected_id"] = np.full(len(stars), injected_id, np.int32)
    return vstack([field, rows], join_type="outer", metadata_conflicts="silent")
