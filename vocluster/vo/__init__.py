"""Remote Virtual Observatory access: TAP and ADQL, Gaia and cluster catalogues, MAST
cutouts, downloads with deadlines and size caps, the cache, mirrors and configuration,
and published classifier weights. Adapters: each hands the core plain tables and paths."""
