"""Field helpers of the schema: :func:`P` (a numeric parameter with unit, source, bounds
and lever flag) and :class:`Strict` (the base of every section: frozen, unknown keys
rejected)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ASSUMPTION = "assumption"


def P(default: Any, *, unit: str, source: str = ASSUMPTION, lever: bool = False,
      description: str = "", **constraints: Any) -> Any:
    """A numeric scenario parameter with unit, source and constraints (a pydantic Field)."""
    extra = {"unit": unit, "source": source, "lever": lever}
    return Field(default, description=description, json_schema_extra=extra, strict=True,
                 **constraints)


class Strict(BaseModel):
    """Base of every schema section: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)
