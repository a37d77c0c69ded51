"""SAMP round trip: STILTS sends a table as TOPCAT does, vocluster's result arrives.

    python3 benchmarks/samp_round_trip.py   (needs stilts; prints medians of 7 trips)

First a synthetic 10,000-row Gaia table, then, where ../shared is beside the checkout,
the real 50,000-row Pleiades cone as the FITS file a TOPCAT user would have loaded.
"""

import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "samp_hub_scripts" / "round_trip.py"
PLEIADES = Path(__file__).resolve().parents[2] / "shared/data/gaia/pleiades_dr3_cone.fits"

runs = [["--rows", "10000"]] + ([["--table", str(PLEIADES)]] if PLEIADES.exists() else [])
for extra in runs:
    sys.argv = [str(SCRIPT), *extra, "--repeat", "7"]
    runpy.run_path(str(SCRIPT), run_name="__main__")
