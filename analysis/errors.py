"""The two kinds of failure the library reports to its callers, and the check of a table's columns that raises them."""


class DataError(ValueError):
    """The data cannot answer the question asked (e.g. no scores of that instrument).

    The message is written for a clinic's office manager; the command line prints it and exits 1.
    """


def require_columns(table, columns, what: str) -> None:
    """TypeError when ``table`` is not a pandas DataFrame; DataError naming the ``columns`` it lacks and the
    columns it has (``what``: the table's name in the message, e.g. "assessments")."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"the {what} table has no {', '.join(repr(c) for c in missing)} column; "
            f"columns present: {', '.join(map(str, table.columns))}"
        )
