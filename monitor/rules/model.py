"""The rule file as operators write it (one YAML file per rule), validated by pydantic."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SEVERITIES = ("info", "low", "medium", "high", "critical")
DEFAULT_CHANNEL = "default"

TermText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]


class MatchBlock(BaseModel):
    """``all`` of, ``any`` of and ``none`` of a list of terms or nested blocks.

    A block with several keys needs every one of them to hold.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)
    any: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)
    none: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _not_empty(self) -> MatchBlock:
        if self.all is None and self.any is None:
            raise ValueError(
                "a match block needs 'all' or 'any' (a rule cannot fire on 'none' alone)"
            )
        return self


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId | None = None
    name: str = Field(min_length=1)
    description: str = ""
    severity: Literal["info", "low", "medium", "high", "critical"]
    enabled: bool = True
    notify: tuple[Annotated[str, StringConstraints(to_lower=True, min_length=1)], ...] = Field(
        default=(DEFAULT_CHANNEL,), min_length=1
    )
    match: MatchBlock
