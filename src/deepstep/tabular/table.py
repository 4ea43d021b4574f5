"""A table of named columns, as read from a file (:class:`Table`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Table:
    """Columns by name, as read from a file: ``columns[j]`` is float64 (NaN = missing) or object (None = missing).

    ``lines[i]`` is the 1-based file line of row i (for messages).
    """

    names: list
    columns: list
    has_header: bool
    source: str
    lines: np.ndarray | None = None
    #: What the reader decided about the file's format (its separator, decimal commas), for the banner.
    notes: list = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return 0 if not self.columns else len(self.columns[0])

    def index(self, name) -> int:
        return self.names.index(name)

    def column(self, name):
        return self.columns[self.names.index(name)]

    def take(self, rows) -> Table:
        """The rows ``rows`` (an index array) of every column."""
        return Table(list(self.names), [c[rows] for c in self.columns], self.has_header, self.source,
                     None if self.lines is None else self.lines[rows])

    def drop(self, names) -> Table:
        keep = [j for j, n in enumerate(self.names) if n not in set(names)]
        return Table([self.names[j] for j in keep], [self.columns[j] for j in keep], self.has_header,
                     self.source, self.lines)

    def drop_at(self, positions) -> Table:
        """The table without the columns at ``positions`` (names may repeat: '' twice)."""
        keep = [j for j in range(len(self.names)) if j not in set(positions)]
        return Table([self.names[j] for j in keep], [self.columns[j] for j in keep], self.has_header,
                     self.source, self.lines)

    def line(self, i) -> str:
        return f"line {int(self.lines[i])}" if self.lines is not None else f"row {i + 1}"


def is_numeric(col) -> bool:
    return col.dtype.kind in "fi"
