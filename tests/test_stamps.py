"""Cutouts, preprocessing, the stamp simulator and stamp files."""

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from helpers.stamp_images import write_band_images
from PIL import Image

from vocluster.classification.cutouts import (
    FLAG_EDGE,
    FLAG_NAN,
    FLAG_OFF_IMAGE,
    BandImage,
    cut_stamps,
)
from vocluster.classification.preprocessing import STARCNET_PREPROCESSING, Preprocessing
from vocluster.datasets.stamp_simulator import simulate_stamps
from vocluster.errors import InputError
from vocluster.io.images import read_band_images
from vocluster.io.stamp_files import read_npz, read_stamp_folder, read_stamps, write_npz


def test_sky_cutouts_return_the_pasted_stamps(tmp_path):
    paths, table, stamps = write_band_images(tmp_path, 8)
    images = read_band_images(paths)
    assert [im.name for im in images] == ["F275W", "F336W", "F438W", "F555W", "F814W"]
    cut = cut_stamps(images, 32, sky=SkyCoord(table["ra"], table["dec"], unit="deg"))
    assert cut.stamps.shape == (8, 5, 32, 32) and (cut.flags == 0).all()
    np.testing.assert_allclose(cut.stamps, stamps, atol=1e-6)


def test_bands_are_aligned_by_wcs(tmp_path):
    paths, table, stamps = write_band_images(tmp_path, 8, shift_band=2)
    images = read_band_images(paths)
    by_sky = cut_stamps(images, 32, sky=SkyCoord(table["ra"], table["dec"], unit="deg"))
    by_pixel = cut_stamps(images, 32, x=np.asarray(table["x"]), y=np.asarray(table["y"]))
    np.testing.assert_allclose(by_sky.stamps, stamps, atol=1e-6)
    np.testing.assert_allclose(by_pixel.stamps, stamps, atol=1e-6)
    # without the WCS the shifted band would be cut 7 px off: alignment did the work
    no_wcs = [BandImage(image.name, image.data) for image in images]
    naive = cut_stamps(no_wcs, 32, x=np.asarray(table["x"]), y=np.asarray(table["y"]))
    assert not np.allclose(naive.stamps[:, 2], stamps[:, 2], atol=1e-3)
    np.testing.assert_allclose(naive.stamps[:, 1], stamps[:, 1], atol=1e-6)


def test_edge_off_image_and_nan_are_flagged_not_dropped():
    data = np.ones((100, 100), np.float32)
    data[50, 50] = np.nan
    images = [BandImage("a", data), BandImage("b", data.copy())]
    cut = cut_stamps(images, 32, x=np.array([5.0, 500.0, 50.0, 70.0]),
                     y=np.array([5.0, 500.0, 50.0, 30.0]))
    assert cut.stamps.shape == (4, 2, 32, 32)
    assert cut.flags[0] == FLAG_EDGE
    assert cut.stamps[0, 0, 0, 0] == 0.0 and cut.stamps[0, 0, -1, -1] == 1.0
    assert cut.flags[1] == FLAG_OFF_IMAGE and not cut.usable[1]
    assert cut.flags[2] == FLAG_NAN and np.isfinite(cut.stamps[2]).all()
    assert cut.flags[3] == 0


def test_sky_positions_need_a_wcs():
    with pytest.raises(InputError, match="has no celestial WCS"):
        cut_stamps([BandImage("F555W", np.zeros((50, 50)))], 32,
                   sky=SkyCoord([10.0], [41.0], unit="deg"))


def test_fits_cube_gives_one_band_per_plane(tmp_path):
    path = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((3, 40, 40), np.float32)).writeto(path)
    images = read_band_images([path])
    assert len(images) == 3 and images[0].wcs is None
    with pytest.raises(InputError, match="image not found"):
        read_band_images([tmp_path / "missing.fits"])


def test_preprocessing_normalisations():
    stamps = np.random.default_rng(0).normal(3.0, 2.0, (4, 5, 32, 32)).astype(np.float32)
    z = Preprocessing("stamp_zscore").apply(stamps)
    assert abs(float(z.mean(dim=(2, 3)).abs().max())) < 1e-5
    assert np.allclose(z.std(dim=(2, 3)).numpy(), 1, atol=1e-4)
    starcnet = STARCNET_PREPROCESSING.apply(stamps)
    np.testing.assert_allclose(starcnet[:, 4].numpy(), stamps[:, 4] - 0.39019, atol=1e-6)
    with pytest.raises(InputError, match="expects 5 bands"):
        STARCNET_PREPROCESSING.apply(stamps[:, :3])
    phangs = Preprocessing("imagenet", channel_recipe="phangs", input_size=64).apply(stamps)
    assert phangs.shape == (4, 6, 64, 64) and float(phangs[:, 5].abs().max()) > 0
    m31 = Preprocessing("stamp_zscore", channel_recipe="constant").apply(stamps[:, :2])
    assert m31.shape == (4, 3, 32, 32) and float(m31[:, 2].min()) == 1.0
    restored = Preprocessing.from_dict(STARCNET_PREPROCESSING.as_dict())
    assert restored == STARCNET_PREPROCESSING


@pytest.mark.slow
def test_simulator_is_seeded_and_classes_differ():
    a, b = simulate_stamps(200, seed=4), simulate_stamps(200, seed=4)
    np.testing.assert_array_equal(a.stamps, b.stamps)
    assert not np.array_equal(a.stamps, simulate_stamps(200, seed=5).stamps)
    assert set(a.labels) == {1, 2, 3, 4} and a.stamps.shape == (200, 5, 32, 32)
    assert np.isfinite(a.stamps).all()

    def concentration(stamps):  # light in the central 6x6 over the 20x20
        total = stamps.sum(1)
        return total[:, 13:19, 13:19].sum((1, 2)) / total[:, 6:26, 6:26].sum((1, 2))

    sim = simulate_stamps(600, seed=2)
    conc = {c: np.median(concentration(sim.stamps[sim.labels == c])) for c in (1, 3)}
    assert conc[1] > conc[3]  # compact clusters are more concentrated than associations


def test_stamp_folder_and_npz(tmp_path):
    for label in ("cluster", "galaxy"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(
                tmp_path / label / f"cutout_F{i}_g_ccd_1_{i}.png")
    stamps = read_stamp_folder(tmp_path)
    assert stamps.stamps.shape == (6, 1, 16, 16)
    assert list(stamps.labels) == ["cluster"] * 3 + ["galaxy"] * 3
    assert list(stamps.groups[:3]) == ["F0", "F1", "F2"]
    write_npz(stamps, tmp_path / "s.npz")
    again = read_npz(tmp_path / "s.npz")
    np.testing.assert_array_equal(again.stamps, stamps.stamps)
    listing = Table({"file": ["cluster/cutout_F0_g_ccd_1_0.png", "galaxy/cutout_F2_g_ccd_1_2.png"],
                     "label": [1, 4]})
    listing.write(tmp_path / "labels.csv")
    listed = read_stamps(tmp_path / "labels.csv")
    assert list(listed.labels) == [1, 4] and listed.stamps.shape == (2, 1, 16, 16)
    Table({"file": ["nowhere.png"], "label": [1]}).write(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="do not exist"):
        read_stamps(tmp_path / "bad.csv")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "galaxy" / "small.png")
    with pytest.raises(InputError, match="differ in shape"):
        read_stamp_folder(tmp_path)
    assert read_stamp_folder(tmp_path, size=16).stamps.shape == (7, 1, 16, 16)
    with pytest.raises(InputError, match="no PNG/JPEG"):
        read_stamp_folder(tmp_path / "cluster")
