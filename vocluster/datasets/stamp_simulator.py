"""Seedable HST-like 5-band stamps of cluster candidates with known classes (StarcNet's 1-4).

Geometry: 0.04"/px (WFC3/UVIS, ACS/WFC drizzled) at 3-20 Mpc, so 1 pc is 0.26-1.7 px.
Classes follow LEGUS: 1 compact symmetric cluster (King 1962 light profile plus a few
resolved bright stars), 2 compact elongated/asymmetric cluster (flattened, off-centre
light), 3 multi-peak association (several clumps and stars spread over tens of pc), 4 not
a cluster (a single star, a pair, a background galaxy, a cosmic ray or hot pixel, or an
empty patch of disc). Every stamp has sky, a smooth disc gradient, neighbouring field
stars, a band-dependent PSF, and Poisson plus read noise. Pixel values are in e-/s
scaled like StarcNet's LEGUS input (band means of a few 0.1). Each stamp belongs to a
simulated host galaxy (`group`), so training splits can keep galaxies apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HST_FILTERS = ("F275W", "F336W", "F438W", "F555W", "F814W")
PIXEL_SCALE_ARCSEC = 0.04
CLASS_NAMES = {1: "compact symmetric cluster", 2: "compact asymmetric cluster",
               3: "multi-peak association", 4: "non-cluster"}
PSF_FWHM_PX = np.array([2.1, 2.0, 1.9, 1.9, 2.2])       # per band, UVIS-like
SKY = np.array([0.01, 0.03, 0.06, 0.12, 0.20])          # e-/s/px per band
READ_NOISE = np.array([0.012, 0.012, 0.010, 0.010, 0.012])
GAIN_EXPTIME = np.array([800.0, 900.0, 1000.0, 1000.0, 1000.0])  # e- per (e-/s), for Poisson
# Relative band fluxes of young (blue) and old (red) populations; ages interpolate
SED_YOUNG = np.array([1.3, 1.2, 1.0, 0.8, 0.6])
SED_OLD = np.array([0.08, 0.2, 0.55, 0.85, 1.2])
SED_GALAXY = np.array([0.05, 0.12, 0.4, 0.8, 1.3])


@dataclass(frozen=True)
class StampSimulation:
    """Stamps (N, 5, S, S) float32 with labels 1-4, host-galaxy groups and distances."""

    stamps: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    distance_mpc: np.ndarray
    kinds: np.ndarray  # what was drawn: e.g. "king", "pair", "galaxy", "cosmic_ray"


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    return x, y


def _gaussian(x, y, x0, y0, sigma) -> np.ndarray:
    r2 = (x - x0) ** 2 + (y - y0) ** 2
    return np.exp(-0.5 * r2 / sigma**2) / (2 * np.pi * sigma**2)


def _king(x, y, x0, y0, core_px, tidal_px, axis_ratio=1.0, angle=0.0) -> np.ndarray:
    """King (1962) surface brightness, unit total, optionally flattened."""
    dx, dy = x - x0, y - y0
    c, s = np.cos(angle), np.sin(angle)
    u = (dx * c + dy * s)
    v = (-dx * s + dy * c) / axis_ratio
    r2 = u**2 + v**2
    inner = 1.0 / np.sqrt(1.0 + r2 / core_px**2) - 1.0 / np.sqrt(1.0 + (tidal_px / core_px) ** 2)
    profile = np.where(r2 < tidal_px**2, np.clip(inner, 0, None) ** 2, 0.0)
    return profile / max(profile.sum(), 1e-12)


def _sersic(x, y, x0, y0, re_px, n, axis_ratio, angle) -> np.ndarray:
    dx, dy = x - x0, y - y0
    c, s = np.cos(angle), np.sin(angle)
    r = np.hypot(dx * c + dy * s, (-dx * s + dy * c) / axis_ratio)
    b = 2 * n - 1 / 3
    profile = np.exp(-b * ((r / re_px) ** (1 / n) - 1))
    return profile / profile.sum()


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian PSF by FFT (the profiles are smooth, so wrap-around is negligible)."""
    size = image.shape[0]
    freq = np.fft.fftfreq(size)
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (freq[:, None] ** 2 + freq[None, :] ** 2))
    return np.fft.ifft2(np.fft.fft2(image) * kernel).real


class _Painter:
    """Adds light to a 5-band stamp; point sources go in already convolved with the PSF."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.rng = rng
        self.x, self.y = _grid(size)
        self.sigma = PSF_FWHM_PX / 2.3548 * rng.uniform(0.9, 1.15)
        self.light = np.zeros((5, size, size))

    def point(self, x0: float, y0: float, flux: float, sed: np.ndarray) -> None:
        for band in range(5):
            self.light[band] += flux * sed[band] * _gaussian(self.x, self.y, x0, y0,
                                                             self.sigma[band])

    def extended(self, profile: np.ndarray, flux: float, sed: np.ndarray) -> None:
        for band in range(5):
            self.light[band] += flux * sed[band] * _blur(profile, self.sigma[band])

    def sed(self, age: float) -> np.ndarray:
        """age in 0 (young, blue) .. 1 (old, red), with a little scatter."""
        mix = SED_YOUNG * (1 - age) + SED_OLD * age
        return mix * self.rng.lognormal(0, 0.08, 5)

    def stars(self, n: int, x0: float, y0: float, spread: float, flux: float,
              age_range=(0.0, 1.0)) -> None:
        for _ in range(n):
            self.point(x0 + self.rng.normal(0, spread), y0 + self.rng.normal(0, spread),
                       flux * self.rng.lognormal(0, 0.6), self.sed(self.rng.uniform(*age_range)))


def _cluster(p: _Painter, centre, px_per_pc: float, elongated: bool) -> str:
    rng = p.rng
    core = max(rng.uniform(0.3, 1.5) * px_per_pc, 0.35)
    tidal = core * rng.uniform(8, 30)
    age = rng.uniform(0, 0.8)
    flux = rng.lognormal(np.log(6.0), 0.7)
    ratio, angle, (x0, y0) = 1.0, 0.0, centre
    if elongated:
        ratio, angle = rng.uniform(0.3, 0.6), rng.uniform(0, np.pi)
        core *= rng.uniform(1.3, 2.2)
    p.extended(_king(p.x, p.y, x0, y0, core, tidal, ratio, angle), flux, p.sed(age))
    if elongated and rng.random() < 0.6:  # lopsided: a second, fainter lobe
        shift = rng.uniform(1.5, 3.0) * core
        p.extended(_king(p.x, p.y, x0 + shift * np.cos(angle), y0 + shift * np.sin(angle),
                         core, tidal, ratio, angle), flux * rng.uniform(0.3, 0.6), p.sed(age))
    p.stars(rng.integers(0, 4), x0, y0, core * 1.5, flux * 0.08, (0, age + 0.1))
    return "elongated" if elongated else "king"


def _association(p: _Painter, centre, px_per_pc: float) -> str:
    rng = p.rng
    spread = max(rng.uniform(4, 12) * px_per_pc, 2.5)
    spread = min(spread, 7.0)
    flux = rng.lognormal(np.log(3.0), 0.6)
    for _ in range(rng.integers(3, 8)):  # clumps
        cx, cy = centre[0] + rng.normal(0, spread), centre[1] + rng.normal(0, spread)
        clump = _king(p.x, p.y, cx, cy, max(0.3 * px_per_pc, 0.4), 6, 1.0, 0.0)
        p.extended(clump, flux * rng.lognormal(0, 0.5) * 0.4, p.sed(rng.uniform(0, 0.3)))
    p.stars(rng.integers(3, 10), centre[0], centre[1], spread, flux * 0.25, (0, 0.3))
    return "association"


def _non_cluster(p: _Painter, centre) -> str:
    rng = p.rng
    kind = rng.choice(["star", "pair", "galaxy", "cosmic_ray", "hot_pixel", "empty"],
                      p=[0.35, 0.2, 0.25, 0.08, 0.04, 0.08])
    flux = rng.lognormal(np.log(4.0), 0.8)
    x0, y0 = centre
    if kind == "star":
        p.point(x0, y0, flux, p.sed(rng.uniform(0, 1)))
    elif kind == "pair":
        sep, angle = rng.uniform(2.0, 5.0), rng.uniform(0, 2 * np.pi)
        p.point(x0, y0, flux, p.sed(rng.uniform(0, 1)))
        p.point(x0 + sep * np.cos(angle), y0 + sep * np.sin(angle),
                flux * rng.uniform(0.3, 1.0), p.sed(rng.uniform(0, 1)))
    elif kind == "galaxy":
        profile = _sersic(p.x, p.y, x0, y0, rng.uniform(2, 6), rng.choice([1.0, 2.0, 4.0]),
                          rng.uniform(0.3, 1.0), rng.uniform(0, np.pi))
        p.extended(profile, flux * 1.5, SED_GALAXY * rng.lognormal(0, 0.1, 5))
    elif kind in ("cosmic_ray", "hot_pixel"):  # sharp, in one band only, not PSF-blurred
        band = rng.integers(0, 5)
        length = rng.integers(3, 9) if kind == "cosmic_ray" else 1
        angle = rng.uniform(0, np.pi)
        for step in range(length):
            xi = round(x0 + step * np.cos(angle))
            yi = round(y0 + step * np.sin(angle))
            if 0 <= xi < p.size and 0 <= yi < p.size:
                p.light[band, yi, xi] += flux * rng.uniform(0.3, 1.0)
    return str(kind)


def simulate_stamps(n: int, *, size: int = 32, seed: int = 0, n_galaxies: int = 12,
                    class_fractions=(0.25, 0.25, 0.25, 0.25)) -> StampSimulation:
    """Draw `n` labelled stamps; the same seed always gives the same stamps."""
    rng = np.random.default_rng(seed)
    galaxy_distance = rng.uniform(3, 20, n_galaxies)
    galaxy_disc = rng.lognormal(0, 0.6, n_galaxies)  # diffuse disc light, in units of sky
    labels = rng.choice([1, 2, 3, 4], size=n, p=np.asarray(class_fractions) / sum(class_fractions))
    groups = rng.integers(0, n_galaxies, n)
    stamps = np.empty((n, 5, size, size), np.float32)
    kinds = []
    for i in range(n):
        painter = _Painter(size, rng)
        px_per_pc = 0.206265 / galaxy_distance[groups[i]] / PIXEL_SCALE_ARCSEC
        centre = (size / 2 - 0.5 + rng.uniform(-1, 1), size / 2 - 0.5 + rng.uniform(-1, 1))
        if labels[i] in (1, 2):
            kinds.append(_cluster(painter, centre, px_per_pc, elongated=labels[i] == 2))
        elif labels[i] == 3:
            kinds.append(_association(painter, centre, px_per_pc))
        else:
            kinds.append(_non_cluster(painter, centre))
        for _ in range(rng.poisson(1.5)):  # unrelated field stars anywhere in the stamp
            painter.point(rng.uniform(0, size), rng.uniform(0, size),
                          rng.lognormal(np.log(0.6), 0.8), painter.sed(rng.uniform(0, 1)))
        stamps[i] = _observe(painter, galaxy_disc[groups[i]], rng)
    return StampSimulation(stamps, labels.astype(np.int64), groups.astype(np.int64),
                           galaxy_distance[groups], np.asarray(kinds))


def _observe(p: _Painter, disc: float, rng: np.random.Generator) -> np.ndarray:
    """Sky + disc gradient + Poisson and read noise on top of the painted light."""
    size = p.size
    gx, gy = rng.normal(0, 0.3, 2) / size
    gradient = 1 + gx * (p.x - size / 2) + gy * (p.y - size / 2)
    background = SKY[:, None, None] * (1 + disc * SED_OLD[:, None, None] * gradient[None])
    signal = p.light + background
    electrons = rng.poisson(np.clip(signal, 0, None) * GAIN_EXPTIME[:, None, None])
    image = electrons / GAIN_EXPTIME[:, None, None]
    image += rng.normal(0, 1, image.shape) * READ_NOISE[:, None, None]
    return image.astype(np.float32)
