"""vocluster: open-cluster membership and cluster-candidate classification for the VO."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vocluster")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
