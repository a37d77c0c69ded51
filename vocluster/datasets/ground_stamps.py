"""Seedable ground-based, single-band stamps like PAndAS: M31 star clusters and background galaxies.

A net trained from scratch sees a few hundred real stamps; a simulator can show it
thousands with the one contrast that matters at M31 (a cluster resolves into stars, a
galaxy is smooth light, with arms or clumps at most), observed as PAndAS observes:

- CFHT/MegaCam g band, 0.187"/px, seeing 0.55-1.0" FWHM (Moffat, beta 3); M31 at
  780 kpc, so 1 pc is 0.264", 1.41 px;
- clusters: King (1962) light with cores of 0.5-3 pc and concentrations log(rt/rc) of
  0.8-2, 10-50% of it in resolved giants scattered like the light (they show most in the
  outskirts, where the core's glare does not hide them), old and young alike;
- galaxies: Sersic light (n 0.5-4, r_e 0.8-5", axis ratio 0.2-1), 45% with structure: a
  two-armed logarithmic spiral, or star-forming clumps;
- around both: M31's own resolved stars (2 to 25 per 24" stamp), now and then a
  bright foreground star, sky noise;
- an 8-bit display stretch like the released PNGs: asinh, the sky at 35-60 of 255, the
  object's core saturated at 255, the sky noise correlated over a pixel (resampled).

Fluxes are in units of the sky noise per pixel. Labels: 1 cluster, 2 galaxy. Each stamp
belongs to a simulated observing field (`groups`), so training splits can keep fields
apart as they do for real stamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vocluster.datasets.stamp_simulator import _blur, _grid, _king, _sersic

PIXEL_SCALE_ARCSEC = 0.187
PX_PER_PC = 0.206265 / 0.78 / PIXEL_SCALE_ARCSEC  # at M31's 780 kpc
MOFFAT_BETA = 3.0
# The released stamps' sky noise is correlated between neighbouring pixels (0.81 at a lag
# of one pixel, measured on the shared PAndAS stamps: they were resampled); a Gaussian of
# 1 px gives 0.78.
NOISE_CORRELATION_PX = 1.0
RESOLVED_FLUX = 150.0  # the faintest resolved star: about 5 sigma at the peak in median seeing


@dataclass(frozen=True)
class GroundStamps:
    """Stamps (N, 1, S, S) uint8-valued float32, labels 1/2, field groups, what was drawn."""

    stamps: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    kinds: np.ndarray


def _moffat(size: int, fwhm_px: float) -> np.ndarray:
    """The PSF on a size x size grid centred on pixel (0, 0) (wrapped, for FFT convolution)."""
    alpha = fwhm_px / (2 * np.sqrt(2 ** (1 / MOFFAT_BETA) - 1))
    offsets = np.fft.fftfreq(size) * size
    r2 = offsets[:, None] ** 2 + offsets[None, :] ** 2
    psf = (1 + r2 / alpha**2) ** -MOFFAT_BETA
    return psf / psf.sum()


class _Sky:
    """One stamp's light before seeing: smooth profiles and point sources on one grid."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.rng = size, rng
        self.x, self.y = _grid(size)
        self.light = np.zeros((size, size))

    def points(self, x: np.ndarray, y: np.ndarray, flux: np.ndarray) -> None:
        """Point sources, their flux split bilinearly over the four nearest pixels."""
        x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
        fx, fy = x - x0, y - y0
        for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                               (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < self.size) & (yi >= 0) & (yi < self.size)
            np.add.at(self.light, (yi[inside], xi[inside]), (flux * weight)[inside])

    def giants(self, n: int, flux_min: float) -> np.ndarray:
        """Fluxes of n resolved stars: a steep luminosity function above the detection limit."""
        return flux_min * (1 - self.rng.random(n)) ** (-1 / 1.5)

    def observe(self, fwhm_px: float) -> np.ndarray:
        """Seeing, sky noise (sigma 1) and the 8-bit asinh display stretch."""
        seen = np.fft.ifft2(np.fft.fft2(self.light) * np.fft.fft2(_moffat(self.size, fwhm_px))).real
        noise = _blur(self.rng.normal(0.0, 1.0, seen.shape), NOISE_CORRELATION_PX)
        image = seen + noise / noise.std()
        softening = self.rng.uniform(2.0, 5.0)
        stretched = np.arcsinh(image / softening)
        low = np.arcsinh(-3.0 / softening)  # sky - 3 sigma -> 0; sky at 35-60, as released
        high = low + (np.arcsinh(0.0) - low) * 255.0 / self.rng.uniform(35, 60)
        return np.clip(np.round((stretched - low) / (high - low) * 255.0), 0, 255)


def _cluster(sky: _Sky, centre: tuple[float, float]) -> str:
    rng = sky.rng
    core = rng.uniform(0.5, 3.0) * PX_PER_PC
    tidal = core * 10 ** rng.uniform(0.8, 2.0)
    flux = np.exp(rng.uniform(np.log(1e4), np.log(5e5)))
    ratio, angle = rng.uniform(0.75, 1.0), rng.uniform(0, np.pi)
    resolved = rng.uniform(0.1, 0.5)
    sky.light += (1 - resolved) * flux * _king(sky.x, sky.y, *centre, core, tidal, ratio, angle)
    stars = sky.giants(rng.integers(200, 2000), RESOLVED_FLUX)
    stars = stars[np.cumsum(stars) <= resolved * flux]
    radius = core * np.sqrt((1 + (tidal / core) ** 2) ** rng.random(len(stars)) - 1)
    phase = rng.uniform(0, 2 * np.pi, len(stars))
    sky.points(centre[0] + radius * np.cos(phase), centre[1] + ratio * radius * np.sin(phase),
               stars)
    return "young cluster" if resolved > 0.25 else "cluster"


def _galaxy(sky: _Sky, centre: tuple[float, float]) -> str:
    rng = sky.rng
    r_e = rng.uniform(0.8, 5.0) / PIXEL_SCALE_ARCSEC
    n = rng.choice([0.5, 1.0, 1.5, 2.5, 4.0])
    ratio, angle = rng.uniform(0.2, 1.0), rng.uniform(0, np.pi)
    flux = np.exp(rng.uniform(np.log(3e4), np.log(1e6)))
    profile = _sersic(sky.x, sky.y, *centre, r_e, n, ratio, angle)
    kind = rng.choice(["smooth", "spiral", "clumpy"], p=[0.55, 0.25, 0.2])
    if kind == "spiral":  # two logarithmic arms modulating a disc
        dx, dy = sky.x - centre[0], sky.y - centre[1]
        c, s = np.cos(angle), np.sin(angle)
        u, v = dx * c + dy * s, (-dx * s + dy * c) / ratio
        phase = 2 * (np.arctan2(v, u) - np.log(np.hypot(u, v) + 1) / np.tan(rng.uniform(0.2, 0.5)))
        profile = profile * (1 + rng.uniform(0.5, 1.0) * np.cos(phase))
    sky.light += flux * profile / profile.sum()
    if kind == "clumpy":  # star-forming knots: a few, blurred like the seeing itself
        knots = rng.integers(3, 10)
        spread = r_e * rng.uniform(0.3, 1.0)
        sky.points(centre[0] + rng.normal(0, spread, knots),
                   centre[1] + rng.normal(0, spread, knots), flux * rng.uniform(0.01, 0.05, knots))
    return str(kind)


def simulate_ground_stamps(n: int, *, size: int = 128, seed: int = 0,
                           n_fields: int = 40) -> GroundStamps:
    """Draw `n` labelled stamps (half clusters); the same seed always gives the same stamps."""
    rng = np.random.default_rng(seed)
    seeing = rng.uniform(0.55, 1.0, n_fields) / PIXEL_SCALE_ARCSEC   # FWHM, px
    crowding = np.exp(rng.uniform(np.log(2), np.log(25), n_fields))  # M31 stars per stamp
    labels = rng.choice([1, 2], size=n)
    groups = rng.integers(0, n_fields, n)
    stamps = np.empty((n, 1, size, size), np.float32)
    kinds = []
    for i in range(n):
        sky = _Sky(size, rng)
        centre = (size / 2 - 0.5 + rng.uniform(-1.5, 1.5), size / 2 - 0.5 + rng.uniform(-1.5, 1.5))
        kinds.append(_cluster(sky, centre) if labels[i] == 1 else _galaxy(sky, centre))
        field = rng.poisson(crowding[groups[i]] * (size / 128) ** 2)
        sky.points(rng.uniform(0, size, field), rng.uniform(0, size, field),
                   sky.giants(field, RESOLVED_FLUX))
        if rng.random() < 0.15:  # a foreground Milky Way star
            sky.points(rng.uniform(0, size, 1), rng.uniform(0, size, 1),
                       np.exp(rng.uniform(np.log(2e3), np.log(5e4), 1)))
        stamps[i, 0] = sky.observe(seeing[groups[i]] * rng.uniform(0.95, 1.05))
    return GroundStamps(stamps, labels.astype(np.int64), groups.astype(np.int64),
                        np.asarray(kinds))
