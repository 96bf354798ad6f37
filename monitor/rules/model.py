"""The rule file as operators write it (one YAML file per rule), validated by pydantic."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SEVERITIES = ("info", "low", "medium", "high", "critical")
DEFAULT_CHANNEL = "default"

TermText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
Lower = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]


class NearSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: list[TermText | list[TermText]] = Field(min_length=2)
    within: int = Field(ge=1, le=200)


class FigureSpec(BaseModel):
    """At least this many of a unit (troops, tank...) or a kind (people, equipment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: TermText
    at_least: float = Field(default=1, gt=0)


class PlaceSpec(BaseModel):
    """A country it names, a place it names, or a place within ``within_km`` of one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: TermText | None = None
    name: TermText | None = None
    near: TermText | None = None
    within_km: float | None = Field(default=None, gt=0, le=5000)

    @model_validator(mode="after")
    def _one(self) -> PlaceSpec:
        if sum(v is not None for v in (self.country, self.name, self.near)) != 1:
            raise ValueError("give one of 'country', 'name' or 'near' (with 'within_km')")
        if (self.near is None) != (self.within_km is None):
            raise ValueError("'near' and 'within_km' go together")
        return self


class MatchBlock(BaseModel):
    """A block of the match tree; a block with several keys needs every one of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)
    any: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)
    none: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)
    at_least: int | None = Field(default=None, ge=1)
    of: list[TermText | MatchBlock] | None = Field(default=None, min_length=1)
    near: NearSpec | None = None
    query: TermText | None = None
    field: Literal["title", "text", "any"] | None = None
    figure: FigureSpec | None = None  # and a figure of the article must be at least this
    place: PlaceSpec | None = None  # and the article must name this country or place

    @model_validator(mode="after")
    def _coherent(self) -> MatchBlock:
        if (self.at_least is None) != (self.of is None):
            raise ValueError("'at_least: N' and 'of: [...]' go together")
        if self.at_least is not None and self.of is not None and self.at_least > len(self.of):
            raise ValueError(f"at_least {self.at_least} of a list of {len(self.of)}: never fires")
        positive = (self.all, self.any, self.of, self.near, self.query)
        if all(p is None for p in positive):
            raise ValueError(
                "a match block needs 'all', 'any', 'at_least'/'of', 'near' or "
                "'query' (a rule cannot fire on 'none', 'figure' or 'place' alone)"
            )
        return self


class ExamplesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: list[TermText] = []
    no_match: list[TermText] = []


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId | None = None
    name: str = Field(min_length=1)
    description: str = ""
    severity: Literal["info", "low", "medium", "high", "critical"]
    enabled: bool = True
    notify: tuple[Lower, ...] = Field(default=(DEFAULT_CHANNEL,), min_length=1)
    languages: tuple[Lower, ...] | None = Field(default=None, min_length=1)
    feeds: tuple[TermText, ...] | None = Field(default=None, min_length=1)
    match: MatchBlock | None = None
    query: TermText | None = None
    threshold: float | None = Field(default=None, gt=0)
    examples: ExamplesSpec | None = None

    @model_validator(mode="after")
    def _one_match(self) -> RuleFile:
        if (self.match is None) == (self.query is None):
            raise ValueError("give exactly one of 'match' (a tree) or 'query' (a string)")
        return self
