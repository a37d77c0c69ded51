"""User-facing errors: one line that names the problem, never a traceback."""


class VoclusterError(Exception):
    """Base for errors reported to the user as a single line."""


class InputError(VoclusterError):
    """The input table or an option cannot be used as given."""


class OutputError(VoclusterError):
    """A result cannot be written where the user asked."""
