"""Membership on real Gaia fields against published member lists (every method, blind or guided).

    python benchmarks/real_fields.py [--shared ../shared] [--methods mixture,dec,...]
                                     [--fields pleiades,m67,...] [--modes blind,values]
                                     [--variants]

Each field of `shared/data/gaia` is run as a user would run it: blind (no catalogue
values) and with the published members' medians as `--pm/--plx`. Scores are counted
within the published list's magnitude range (its faintest listed star): fainter stars
are neither right nor wrong against a list that stops at G = 18. Printed per run: F1,
precision and recall against the list's p >= 0.5 members and against all its members,
N members against N published in range, for raw runs the share of their members that the
calibrated mixture calls field, whether the run warned or refused, and time.

`--variants` also runs each field as other users would have it: with VizieR's column
names, without BP-RP, without any photometry, cut at G < 18, cut to the inner half of
its radius, and a random 60% of its rows (scored on the same stars, so a change in F1 is
the method's, not the list's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from vocluster.membership.pipeline import MembershipOptions, Target, find_members


@dataclass
class Field:
    name: str
    table: Table
    truth_p50: np.ndarray
    truth_all: np.ndarray
    in_range: np.ndarray
    target: Target


def _g_column(table: Table) -> np.ndarray:
    for name in ("phot_g_mean_mag", "Gmag"):
        if name in table.colnames:
            return np.asarray(table[name].filled(np.nan) if hasattr(table[name], "filled")
                              else table[name], dtype=float)
    raise KeyError("no G column")


def _id_column(table: Table) -> np.ndarray:
    for name in ("source_id", "Source", "GaiaDR3", "EDR3", "DR2Name"):
        if name in table.colnames:
            return np.asarray(table[name])
    raise KeyError("no source id column")


def _field(name: str, table: Table, ids_p50: np.ndarray, ids_all: np.ndarray,
           target: Target) -> Field:
    ids = _id_column(table)
    truth_all = np.isin(ids, ids_all)
    g = _g_column(table)
    g_limit = np.nanmax(g[truth_all]) if truth_all.any() else np.inf
    return Field(name, table, np.isin(ids, ids_p50), truth_all,
                 np.nan_to_num(g, nan=99.0) <= g_limit, target)


def load_fields(shared: Path, names: list[str] | None) -> list[Field]:
    out = []
    gaia = shared / "data/gaia"
    if names is None or "pleiades" in names:
        cone = Table.read(gaia / "pleiades_dr3_cone.fits")
        hr23 = Table.read(gaia / "hr23_melotte22_members.csv")
        ids = np.asarray(cone["source_id"])
        inside = hr23[np.isin(hr23["GaiaDR3"], ids)]
        pick = inside["Prob"] >= 0.5
        target = Target("Melotte 22 (HR23 medians)", float(np.median(inside["pmRA"][pick])),
                        float(np.median(inside["pmDE"][pick])),
                        float(np.median(inside["Plx"][pick])), 56.75, 24.12)
        out.append(_field("pleiades", cone, inside["GaiaDR3"][pick], inside["GaiaDR3"], target))
    manifest = json.loads((gaia / "fields/manifest.json").read_text())
    for key, info in manifest.items():
        if names is not None and key not in names:
            continue
        table = Table.read(gaia / f"fields/{key}.fits")
        members = Table.read(gaia / f"fields/{key}_members.csv")
        target = Target(info["reference"], info["pmra"], info["pmdec"], info["plx"],
                        info["ra"], info["dec"])
        out.append(_field(key, table, members["id"][members["prob"] >= 0.5], members["id"],
                          target))
    return out


VIZIER_NAMES = {"ra": "RA_ICRS", "dec": "DE_ICRS", "parallax": "Plx", "pmra": "pmRA",
                "pmdec": "pmDE", "phot_g_mean_mag": "Gmag", "bp_rp": "BP-RP",
                "parallax_error": "e_Plx", "pmra_error": "e_pmRA", "pmdec_error": "e_pmDE",
                "ruwe": "RUWE", "source_id": "Source"}
COLOUR_COLUMNS = ("bp_rp", "BP-RP")
PHOTOMETRY_COLUMNS = (*COLOUR_COLUMNS, "phot_g_mean_mag", "Gmag")


def _sky_column(table: Table, names: tuple[str, ...]) -> np.ndarray:
    return np.asarray(table[next(n for n in names if n in table.colnames)], dtype=float)


def _subset(field: Field, keep: np.ndarray, label: str) -> Field:
    return Field(f"{field.name}:{label}", field.table[keep], field.truth_p50[keep],
                 field.truth_all[keep], field.in_range[keep], field.target)


def _without(field: Field, columns: tuple[str, ...], label: str) -> Field:
    kept = [c for c in field.table.colnames if c not in columns]
    return Field(f"{field.name}:{label}", field.table[kept], field.truth_p50, field.truth_all,
                 field.in_range, field.target)


def variants(field: Field) -> list[Field]:
    """The field as other users have it (see the module's docstring)."""
    table = field.table
    renamed = Table({VIZIER_NAMES.get(c, c): table[c] for c in table.colnames})
    ra, dec = _sky_column(table, ("ra", "RA_ICRS")), _sky_column(table, ("dec", "DE_ICRS"))
    offset = np.hypot((ra - np.median(ra)) * np.cos(np.radians(np.median(dec))),
                      dec - np.median(dec))
    rng = np.random.default_rng(1)
    return [Field(f"{field.name}:vizier", renamed, field.truth_p50, field.truth_all,
                  field.in_range, field.target),
            _without(field, COLOUR_COLUMNS, "no-colour"),
            _without(field, PHOTOMETRY_COLUMNS, "no-phot"),
            _subset(field, np.nan_to_num(_g_column(table), nan=99.0) < 18.0, "G<18"),
            _subset(field, offset <= 0.5 * offset.max(), "inner"),
            _subset(field, rng.random(len(table)) < 0.6, "60%")]


def score(member: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    hits = float((member & truth).sum())
    precision = hits / max(member.sum(), 1)
    recall = hits / max(truth.sum(), 1)
    return 2 * hits / max(member.sum() + truth.sum(), 1), precision, recall


def run_one(field: Field, method: str, calibrate: bool, guided: bool, seed: int = 0) -> dict:
    options = MembershipOptions(method=method, calibrate=calibrate, seed=seed,
                                target=field.target if guided else None)
    start = time.perf_counter()
    try:
        result = find_members(field.table, options)
    except Exception as exc:  # a refusal is a result here: report it
        return {"error": str(exc), "time": time.perf_counter() - start}
    elapsed = time.perf_counter() - start
    member = np.asarray(result.table["is_member"].filled(False)) & field.in_range
    f1_50 = score(member, field.truth_p50 & field.in_range)
    f1_all = score(member, field.truth_all & field.in_range)
    return {"f1": f1_50[0], "p": f1_50[1], "r": f1_50[2], "f1_all": f1_all[0],
            "p_all": f1_all[1], "r_all": f1_all[2], "n": int(member.sum()),
            "n_total": int(np.asarray(result.table["is_member"].filled(False)).sum()),
            "warnings": result.metadata.get("warnings", ""),
            "significance": result.metadata.get("significance"),
            "field_share": result.metadata.get("raw_field_share"),
            "time": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--methods", default="mixture,kmeans,gmm,hdbscan,dec")
    parser.add_argument("--fields", default=None, help="comma list (default: all)")
    parser.add_argument("--modes", default="blind,values")
    parser.add_argument("--raw", action="store_true", help="also run --no-calibrate")
    parser.add_argument("--variants", action="store_true",
                        help="also each field as other users have it (see above)")
    args = parser.parse_args()
    fields = load_fields(Path(args.shared), args.fields.split(",") if args.fields else None)
    if args.variants:
        fields = [each for field in fields for each in (field, *variants(field))]
    modes = args.modes.split(",")
    print(f"{'field':18} {'method':8} {'cal':3} {'mode':6} {'F1':>5} {'P':>5} {'R':>5} "
          f"{'F1all':>5} {'N':>5} {'Npub':>5} {'Nall':>5} {'time':>5}  note")
    default_f1: dict[str, list[float]] = {}
    for field in fields:
        n_pub = int((field.truth_p50 & field.in_range).sum())
        for method in args.methods.split(","):
            for calibrate in (True, False) if args.raw else (True,):
                for mode in modes:
                    res = run_one(field, method, calibrate, mode == "values")
                    head = f"{field.name:18} {method:8} {'y' if calibrate else 'n':3} {mode:6}"
                    if "error" in res:
                        print(f"{head} {'refused':>29} {n_pub:5d} {'':5} {res['time']:5.1f}  "
                              f"{res['error'][:90]}")
                        if method == "mixture" and calibrate and ":" not in field.name:
                            default_f1.setdefault(mode, []).append(0.0)
                        continue
                    print(f"{head} {res['f1']:5.3f} {res['p']:5.3f} {res['r']:5.3f} "
                          f"{res['f1_all']:5.3f} {res['n']:5d} {n_pub:5d} {res['n_total']:5d} "
                          f"{res['time']:5.1f}  sig={res['significance']}"
                          + ("" if res["field_share"] is None else
                             f" field share={res['field_share']}") + f" {res['warnings']}")
                    if method == "mixture" and calibrate and ":" not in field.name:
                        key = "f1_all" if field.name == "pleiades" else "f1"
                        default_f1.setdefault(mode, []).append(res[key])
    for mode, values in default_f1.items():
        print(f"default ({mode}): median F1 {statistics.median(values):.3f} over "
              f"{len(values)} fields (Pleiades scored against all HR23 stars)")


if __name__ == "__main__":
    main()
