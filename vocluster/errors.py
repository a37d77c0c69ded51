"""User-facing errors: one line that names the problem, never a traceback."""


class VoclusterError(Exception):
    """Base for errors reported to the user as a single line."""


class InputError(VoclusterError):
    """The input table or an option cannot be used as given."""


class OutputError(VoclusterError):
    """A result cannot be written where the user asked."""


class TapError(VoclusterError):
    """A TAP service failed or refused; the message carries the server's own words."""


class TruncatedResultError(TapError):
    """The service would (or did) return only part of the rows asked for."""


class QueueFullError(VoclusterError):
    """More jobs are waiting than the configured limit."""


def error_text(error: BaseException) -> str:
    """The error in one line: ours as they are, anything else with its type."""
    text = str(error) if isinstance(error, VoclusterError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())
