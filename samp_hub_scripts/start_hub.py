#!/usr/bin/env python3
"""Start a headless SAMP hub (pyvo.samp, standard profile only) and keep it up until Ctrl-C.

    python3 samp_hub_scripts/start_hub.py [--lockfile PATH]

With --lockfile, point peers at it: export SAMP_HUB=std-lockurl:file://PATH
(JSAMP's hub works too: `jsamp hub -mode no-gui`).
"""

from __future__ import annotations

import argparse
import time

from pyvo.samp import SAMPHubServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lockfile", help="lockfile path (default ~/.samp)")
    args = parser.parse_args()
    hub = SAMPHubServer(web_profile=False, lockfile=args.lockfile, addr="127.0.0.1")
    hub.start(wait=False)
    print(f"SAMP hub running (lockfile {args.lockfile or '~/.samp'}); Ctrl-C stops it")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
