"""Field helpers of the schema: :func:`P` (a numeric parameter with unit, source, bounds
and lever flag) and :class:`Strict` (the base of every section: frozen, unknown keys
rejected, numbers finite, no coercion between types)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ASSUMPTION = "assumption"


def P(default: Any, *, unit: str, source: str = ASSUMPTION, lever: bool = False,
      description: str = "", **constraints: Any) -> Any:
    """A numeric scenario parameter with unit, source and constraints (a pydantic Field).

    The field is strict: an integer field takes only integers, a float field integers
    or floats, never a string or a boolean (``"5"``, ``true``)."""
    extra = {"unit": unit, "source": source, "lever": lever}
    return Field(default, description=description, json_schema_extra=extra, strict=True,
                 **constraints)


class Strict(BaseModel):
    """Base of every schema section: frozen, unknown keys rejected, ``nan`` and ``inf``
    rejected in every float (a NaN budget share would silently zero a budget line).

    Booleans, integers and floats are declared strict field by field (``P`` does it;
    ``StrictBool``, ``StrictFloat``, ``Field(strict=True)`` elsewhere): ``"yes"``,
    ``off`` or ``1`` is no boolean and ``"10"`` no number. Enums stay lax so that a
    file's strings (``kind = "municipal_office"``) select their members.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
