"""Errors that the command line reports as a message, without a traceback."""

__all__ = ["UserError"]


class UserError(Exception):
    """Bad input from the user (an unknown name, a missing file, a bad value).

    The command line prints ``binforge COMMAND: error: MESSAGE`` and exits with status 2.
    """
