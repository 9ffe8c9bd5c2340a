"""Error messages of the configuration layer: one message per invalid input, naming the
file, the dotted key and what is allowed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from quartiersim.errors import ScenarioError, UnknownNameError


def lookup(registry: dict[str, Any], name: str, what: str, path: str) -> Any:
    if name not in registry:
        raise UnknownNameError(f"{path}: unknown {what} {name!r}; allowed: "
                               f"{', '.join(sorted(registry))}")
    return registry[name]


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the schema section at ``loc`` (for unknown-key messages)."""
    cur: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(cur, "model_fields", None)
        if fields is None or part not in fields:
            return None
        ann = fields[part].annotation
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            cur = ann
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            cur = args[-1]
        else:
            return None
    fields = getattr(cur, "model_fields", None)
    return sorted(fields) if fields else None


#: What is allowed, by pydantic error type, where pydantic's own words are vague.
_TYPE_TEXT = {
    "finite_number": "must be a finite number (nan and inf are not allowed)",
    "bool_type": "must be true or false (a TOML boolean, without quotes)",
    "bool_parsing": "must be true or false (a TOML boolean, without quotes)",
    "int_type": "must be an integer (a whole number, without quotes)",
    "int_from_float": "must be an integer (a whole number, without quotes)",
    "int_parsing": "must be an integer (a whole number, without quotes)",
    "float_type": "must be a number (without quotes)",
    "float_parsing": "must be a number (without quotes)",
    "string_type": "must be a text in quotes",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "list_type": "must be a list [ ... ]",
}


def _allowed_text(err: dict[str, Any]) -> str:
    if err["type"] in _TYPE_TEXT:
        return _TYPE_TEXT[err["type"]]
    ctx = err.get("ctx") or {}
    bounds = []
    for key, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx:
            bounds.append(f"{sym} {ctx[key]}")
    if bounds:
        return "must be " + " and ".join(bounds)
    if "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    return err["msg"][0].lower() + err["msg"][1:]


def format_validation_error(exc: ValidationError, path: str, model: type[BaseModel],
                            prefix: tuple[Any, ...] = ()) -> str:
    """One message listing each invalid key with what is allowed."""
    lines = []
    for err in exc.errors():
        loc = tuple(prefix) + tuple(p for p in err["loc"])
        key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
        key = key.replace(".[", "[")
        if loc and loc[-1] == "[key]":  # a key of a table keyed by an enum (domains)
            key = key.removesuffix("[key]")
            expected = (err.get("ctx") or {}).get("expected", "")
            allowed = expected.replace("'", "").replace(" or ", ", ")
            lines.append(f"{path}: unknown key '{key}'; allowed keys here: {allowed}")
        elif err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, tuple(err["loc"]))
            hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"{path}: unknown key '{key}'{hint}")
        elif err["type"] == "missing":
            lines.append(f"{path}: missing required key '{key}'")
        elif err["type"] in ("value_error", "assertion_error"):
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: '{key}': {msg}" if key else f"{path}: {msg}")
        else:
            got = err.get("input")
            lines.append(f"{path}: '{key}' = {got!r}: {_allowed_text(err)}")
    return "\n".join(lines)


def validate_section(model: type[BaseModel], raw: Any, prefix: tuple[Any, ...],
                      path: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, path, model, prefix)) from None
