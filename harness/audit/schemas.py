"""The shapes of the reference system's worker outputs, as pydantic models.

The schema auditor validates each output against the model for its
capability; a system with other capabilities passes its own mapping.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

_CITATION_END = re.compile(r"\[[^\[\]]+\]\.?\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class FactOut(_Strict):
    source_id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    value: float | None = None


class ResearchOutput(_Strict):
    facts: list[FactOut] = Field(min_length=1)


class WriteOutput(_Strict):
    title: str = Field(min_length=1)
    paragraphs: list[str] = Field(min_length=1)
    citations: list[str]

    @field_validator("paragraphs")
    @classmethod
    def _each_cites(cls, paragraphs: list[str]) -> list[str]:
        for i, p in enumerate(paragraphs):
            if not _CITATION_END.search(p):
                raise ValueError(f"paragraph {i} does not end with a citation like '[source-id].'")
        return paragraphs


class ReviewOutput(_Strict):
    approved: bool
    score: int | float
    notes: str
    draft: WriteOutput | dict[str, object] = Field(default_factory=dict)


#: capability -> the model its outputs must satisfy
DEFAULT_SCHEMAS: Final[dict[str, type[BaseModel]]] = {
    "research": ResearchOutput,
    "write": WriteOutput,
    "review": ReviewOutput,
}

__all__ = ["DEFAULT_SCHEMAS", "FactOut", "ResearchOutput", "ReviewOutput", "WriteOutput"]
