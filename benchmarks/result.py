"""What a benchmark hands back: figures for the table and raw data for the JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.stats import Summary


@dataclass(frozen=True)
class Figure:
    """One line of the table: a median with its spread (min..max over repetitions)."""

    name: str
    unit: str
    summary: Summary
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, **self.summary.to_dict(), "note": self.note}


@dataclass
class BenchResult:
    name: str
    description: str
    figures: list[Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, unit: str, values: list[float], note: str = "") -> Figure:
        fig = Figure(name, unit, Summary.of(values), note)
        self.figures.append(fig)
        return fig

    def add_paired(
        self,
        name: str,
        unit: str,
        a: list[float],
        b: list[float],
        op: Callable[[float, float], float],
        note: str = "",
    ) -> Figure:
        """A comparison of two paired samples: the figure is ``op(median(a), median(b))``;
        its min..max (and quartiles) are those of ``op(a[i], b[i])`` over the pairs."""
        pairs = Summary.of([op(x, y) for x, y in zip(a, b, strict=True)])
        value = op(Summary.of(a).median, Summary.of(b).median)
        note = f"{note}; " if note else ""
        note += f"median of pairs {pairs.median:.3g}"
        fig = Figure(name, unit, Summary(pairs.n, value, pairs.min, pairs.max, pairs.q1, pairs.q3), note)
        self.figures.append(fig)
        return fig

    def figure(self, name: str) -> Figure:
        for f in self.figures:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "figures": [f.to_dict() for f in self.figures],
            "data": self.data,
        }
