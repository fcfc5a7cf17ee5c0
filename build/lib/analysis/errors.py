"""The two kinds of failure the library reports to its callers."""


class DataError(ValueError):
    """The data cannot answer the question asked (e.g. no scores of that instrument).

    The message is written for a clinic's office manager; the command line prints it and exits 1.
    """
