"""Gaia DR3 flux errors in G, BP and RP for field stars whose table has none.

Injected clusters must carry colour noise like the field's own stars, or every colour-aided
figure at the faint end is optimistic (noise-free injected sequences are 0.03-0.05 mag wide
at G = 20-21; real Pleiades members there spread 0.2-0.35 mag). ocelot draws each simulated
star's flux errors from the real star nearest to it in G, but tables seldom carry the
`phot_*_mean_flux_error` columns. So they are modelled here from the published median
uncertainties of each release at G < 13 / G = 17 / G = 20:

    (E)DR3  G 0.3 / 1 / 6 mmag,   BP 0.9 / 12 / 108,   RP 0.6 / 6 / 52
            (Gaia Collaboration, Brown et al. 2021, A&A 649, A1)
    DR2     G 0.3 / 2 / 10 mmag,  BP and RP 2 / 10 / 200
            (Gaia Collaboration, Brown et al. 2018, A&A 616, A1)

with the usual CCD noise law, fractional variance = floor^2 + a / F + b^2 / F^2 (a calibration
floor, the source's photon noise, the background's), solved through the 17 and 20 points
(DR2's BP and RP errors grow too steeply between them for any photon term: there the
background alone is fitted to G = 20, which gives 13 rather than 10 mmag at G = 17).
The background term is why a faint red star has a large BP error: its BP flux is small
while the sky under it is not.
"""

from __future__ import annotations

import numpy as np

ZEROPOINTS = {"g": 25.6874, "bp": 25.3385, "rp": 24.7479}  # Vegamag, Gaia DR3 documentation
MEDIAN_ERROR_MAG = {  # release: band: (floor at G < 13, at G = 17, at G = 20)
    "dr3": {"g": (0.0003, 0.001, 0.006), "bp": (0.0009, 0.012, 0.108),
            "rp": (0.0006, 0.006, 0.052)},
    "dr2": {"g": (0.0003, 0.002, 0.010), "bp": (0.002, 0.010, 0.200),
            "rp": (0.002, 0.010, 0.200)}}
TYPICAL_BP_RP = 1.0  # the median colour of Gaia's faint stars, for stars without one
MAG_PER_FRACTION = 2.5 / np.log(10)


def band_magnitudes(g: np.ndarray, bp_rp: np.ndarray) -> dict[str, np.ndarray]:
    """G, BP and RP of stars from G and BP-RP (G - RP ~ 0.64 c - 0.075 c^2, c in -0.5..4)."""
    colour = np.clip(np.where(np.isfinite(bp_rp), bp_rp, TYPICAL_BP_RP), -0.5, 4.0)
    rp = g - (0.64 * colour - 0.075 * colour**2)
    return {"g": g, "bp": rp + colour, "rp": rp}


def _noise_law(band: str, release: str) -> tuple[float, float, float]:
    """(floor^2, a, b^2) of the band's fractional flux variance, from its median errors."""
    floor, *points = MEDIAN_ERROR_MAG[release][band]
    typical = band_magnitudes(np.array([17.0, 20.0]), np.full(2, TYPICAL_BP_RP))[band]
    inverse_flux = 10 ** (0.4 * (typical - ZEROPOINTS[band]))
    excess = (np.array(points) / MAG_PER_FRACTION) ** 2 - (floor / MAG_PER_FRACTION) ** 2
    a, b_squared = np.linalg.solve(np.column_stack([inverse_flux, inverse_flux**2]), excess)
    if a < 0:  # steeper than photon noise allows: the background alone, through G = 20
        a, b_squared = 0.0, excess[1] / inverse_flux[1] ** 2
    return (floor / MAG_PER_FRACTION) ** 2, a, b_squared


def flux_errors(g: np.ndarray, bp_rp: np.ndarray, release: str = "dr3"
                ) -> dict[str, np.ndarray]:
    """`phot_{band}_mean_flux_error` (e-/s) for stars of these G and BP-RP in a release
    ("dr3", which stands for EDR3 too, or "dr2")."""
    errors = {}
    for band, magnitude in band_magnitudes(g, bp_rp).items():
        floor_squared, a, b_squared = _noise_law(band, release)
        flux = 10 ** (-0.4 * (magnitude - ZEROPOINTS[band]))
        errors[f"phot_{band}_mean_flux_error"] = np.sqrt(
            floor_squared * flux**2 + a * flux + b_squared)
    return errors
