"""Errors the user can fix (bad paths, bad files, bad settings).

The CLI prints these as one clear message and exits non-zero; anything else is a bug and keeps
its traceback.
"""


class DataError(Exception):
    """Input data is missing or malformed in a way that stops the whole step."""
