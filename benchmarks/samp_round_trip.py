"""SAMP round trip: STILTS sends a 10,000-row Gaia table, vocluster's result arrives.

    python3 benchmarks/samp_round_trip.py   (needs stilts; prints medians of 7 trips)
"""

import runpy
import sys
from pathlib import Path

sys.argv = [sys.argv[0], "--rows", "10000", "--repeat", "7"]
runpy.run_path(str(Path(__file__).parents[1] / "samp_hub_scripts" / "round_trip.py"),
               run_name="__main__")
