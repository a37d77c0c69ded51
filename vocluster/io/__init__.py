"""Files in and out: tables (VOTable BINARY2, FITS, CSV, TSV, Parquet), band images and
stamp folders. Adapters around the core: they read and write, and decide nothing."""
