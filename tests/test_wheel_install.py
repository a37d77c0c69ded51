"""A normal (non-editable) install from a wheel works: the default model is package data."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_classifies_with_the_shipped_model(tmp_path):
    wheels = tmp_path / "wheels"
    # pip's own build isolation fetches the build backend pyproject.toml names, so the
    # test does not depend on whichever setuptools happens to be installed
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                            "-w", str(wheels), "-q"],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    # A fresh environment that sees the dependencies (the system site-packages as a plain
    # path) but not the editable install's import hook (.pth files there are not run).
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True).stdout.strip())
    (site / "system.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("vocluster-*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                              "--target", str(site), str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    code = ("import vocluster, numpy as np\n"
            "from vocluster.classification.store import load_classifier\n"
            "from vocluster.datasets.stamp_simulator import simulate_stamps\n"
            "assert 'site-packages' in vocluster.__file__, vocluster.__file__\n"
            "c = load_classifier('vocluster-sim-starcnet', device='cpu')\n"
            "p = c.predict_proba(simulate_stamps(8, seed=2).stamps)\n"
            "print('OK', p.shape, np.allclose(p.sum(1), 1))\n")
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert "OK (8, 4) True" in run.stdout, run.stdout + run.stderr
