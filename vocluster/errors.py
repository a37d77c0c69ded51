"""User-facing errors: one line that names the problem, never a traceback."""


class VoclusterError(Exception):
    """Base for errors reported to the user as a single line."""


class InputError(VoclusterError):
    """The input table or an option cannot be used as given."""


class OutputError(VoclusterError):
    """A result cannot be written where the user asked."""


def error_text(error: BaseException) -> str:
    """The error in one line: ours as they are, anything else with its type."""
    text = str(error) if isinstance(error, VoclusterError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())
