import numpy as np
import pytest

from vocluster.core.known_clusters import lookup_cluster
from vocluster.datasets.synthetic import PRESETS, make_cone
from vocluster.errors import InputError


@pytest.mark.parametrize("name", ["NGC2682", "NGC 2682", "M67", "ngc_2682"])
def test_m67_aliases(name):
    assert lookup_cluster(name).name == "NGC 2682"


@pytest.mark.parametrize("name", ["Melotte 22", "Mel 22", "Pleiades", "M45", "Melotte_22"])
def test_pleiades_aliases(name):
    assert lookup_cluster(name).parallax == pytest.approx(7.346)


def test_unknown_cluster_suggests_close_names():
    with pytest.raises(InputError, match=r"did you mean.*NGC 2632"):
        lookup_cluster("NGC 2623")


def test_synthetic_cone_is_deterministic_and_gaia_like():
    a = make_cone("NGC 2516", seed=1, n_stars=3000)
    b = make_cone("NGC 2516", seed=1, n_stars=3000)
    assert all(np.array_equal(a[c], b[c]) for c in a.colnames)
    assert str(a["pmra"].unit) == "mas / yr" and a["parallax"].meta["ucd"] == "pos.parallax.trig"
    members = np.asarray(a["true_member"])
    assert np.median(a["parallax"][members]) == pytest.approx(2.416, abs=0.05)
    faint = np.asarray(a["phot_g_mean_mag"]) > 19
    assert np.median(a["parallax_error"][faint]) > 5 * np.median(a["parallax_error"][~faint])


def test_presets_span_the_thesis_cone_sizes():
    sizes = sorted(p.n_stars for p in PRESETS.values())
    assert sizes[0] == 2_800 and sizes[-1] == 434_000


def test_synthetic_field_is_deeper_and_slower_for_fainter_stars():
    """As in real Gaia cones: faint field stars are distant, so their parallaxes and
    proper motions are smaller; a cluster's members include unresolved binaries that
    sit above its single-star sequence."""
    cone = make_cone("NGC 2516", seed=2, n_stars=20000)
    field = ~np.asarray(cone["true_member"])
    g = np.asarray(cone["phot_g_mean_mag"])
    plx = np.asarray(cone["parallax"])
    pm = np.hypot(cone["pmra"], cone["pmdec"])
    bright, faint = field & (g < 14), field & (g > 17) & (g < 18)
    assert np.median(plx[bright]) > 1.3 * np.median(plx[faint])
    assert np.median(pm[bright]) > 1.2 * np.median(pm[faint])
    assert np.median(cone["ruwe"][~field]) > np.median(cone["ruwe"][field])


def test_synthetic_cone_without_errors_and_in_dr2():
    dr2 = make_cone("NGC 2243", seed=1, n_stars=3000, release="dr2", with_errors=False)
    assert "parallax_error" not in dr2.colnames and "pmra_error" not in dr2.colnames
    assert dr2.meta["vocluster_gaia_release"] == "dr2"
    dr3 = make_cone("NGC 2243", seed=1, n_stars=3000)
    assert np.std(dr2["parallax"]) > np.std(dr3["parallax"])
