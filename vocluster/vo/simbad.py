"""Object names through SIMBAD, with astroquery (SIMBAD's own Python client).

The cluster catalogues know each cluster under one or two spellings; people use
many more (`M34`, `h Per`, `Collinder 69`). SIMBAD knows them all, so a name the
catalogues lack is sent to SIMBAD for its main identifier, position and object
type, and the catalogue cluster at that position is used. Only star clusters and
associations are accepted: a star or a galaxy of the same name must not silently
start a cone on the wrong object.

astroquery builds its TAP address from a fixed list of CDS servers; the address
here comes from the configuration instead (a mirror, or a local stand-in in the
tests), everything else is astroquery's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import requests
from pyvo.dal import DALFormatError, DALQueryError, DALServiceError, TAPService

from vocluster.errors import InputError, TapError

#: SIMBAD object types of star clusters and stellar groups (SIMBAD's short codes):
#: open and globular clusters, clusters in general and their candidates,
#: associations, moving groups and stellar streams.
CLUSTER_TYPES = frozenset({"Cl*", "OpC", "GlC", "C?*", "Gl?", "As*", "MGr", "St*", "OpC?"})


@dataclass(frozen=True)
class SimbadObject:
    """What SIMBAD says about a name: its main identifier, ICRS position and type."""

    main_id: str
    ra: float
    dec: float
    otype: str

    @property
    def is_cluster(self) -> bool:
        return self.otype.strip() in CLUSTER_TYPES


@cache
def _simbad_client_class() -> type:
    """astroquery's SIMBAD client on a configured TAP address (imported on first use:
    astroquery takes about a second to import, and most runs never ask SIMBAD)."""
    from astroquery.simbad import SimbadClass

    class ConfiguredSimbad(SimbadClass):
        def __init__(self, tap_url: str):
            self._tap_url = tap_url  # before astroquery's __init__, which may ask for .tap
            super().__init__()  # astroquery's own timeout (its `timeout` setter asks the
            # server for a hard execution limit, which not every TAP service states)

        @property
        def tap(self) -> TAPService:
            if self._tap is None:
                self._tap = TAPService(baseurl=self._tap_url, session=self._session)
            return self._tap

    return ConfiguredSimbad


def _adql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def simbad_object(name: str, tap_url: str) -> SimbadObject | None:
    """SIMBAD's entry for `name` (any identifier SIMBAD knows).

    Parameters
    ----------
    name : str
        Any identifier (`M34`, `NGC 1039`, `h Per`).
    tap_url : str
        SIMBAD's TAP address (`Config.simbad_url`).

    Returns
    -------
    SimbadObject or None
        None when SIMBAD does not know the name.

    Raises
    ------
    TapError
        SIMBAD cannot be asked (offline, timeout, an error page).

    Examples
    --------
    >>> from vocluster.vo.simbad import simbad_object
    >>> from vocluster.vo.services import SIMBAD_TAP
    >>> simbad_object("M34", SIMBAD_TAP).otype  # doctest: +SKIP
    'OpC'
    """
    client = _simbad_client_class()(tap_url)
    query = ("SELECT basic.main_id, basic.ra, basic.dec, basic.otype FROM basic "
             "JOIN ident ON ident.oidref = basic.oid "
             f"WHERE ident.id = {_adql_string(name.strip())}")
    try:
        rows = client.query_tap(query, maxrec=5)
    except (DALServiceError, DALQueryError, DALFormatError, requests.RequestException,
            OSError) as exc:
        raise TapError(f"SIMBAD at {tap_url} could not be asked about {name!r}: "
                       f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                       ) from exc
    if len(rows) == 0:
        return None
    row = rows[0]
    if any(np.ma.is_masked(row[c]) for c in ("ra", "dec")):
        raise InputError(f"SIMBAD knows {name!r} as {row['main_id']} but gives no position")
    return SimbadObject(str(row["main_id"]).strip(), float(row["ra"]), float(row["dec"]),
                        str(row["otype"]).strip())
