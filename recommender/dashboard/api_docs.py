"""The API's docs page, drawn from its OpenAPI document (pure): FastAPI's own /docs loads Swagger UI
from a CDN, which this server must not need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DocsPage", "Field", "Operation", "Parameter", "Schema", "docs_page", "type_of"]


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str
    type: str
    required: bool
    default: str
    rules: str
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: list[Parameter]
    responses: list[tuple[str, str, str]]
    """(status, description, type of the body)."""

    @property
    def anchor(self) -> str:
        return f"{self.method}-{self.path}".lower().replace("/", "-").replace("{", "").replace("}", "")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    fields: list[Field]


@dataclass(frozen=True)
class DocsPage:
    title: str
    version: str
    description: str
    operations: list[Operation]
    schemas: list[Schema]


def type_of(schema: Mapping[str, Any]) -> str:
    """A schema in a few words: "integer", "list of Item", "string | null", "Anime"."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_of(s) for s in schema[key])
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return " | ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values)
    if schema.get("type") == "array":
        return f"list of {type_of(schema.get('items', {}))}"
    kind = str(schema.get("type", "any"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _rules(schema: Mapping[str, Any]) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}" if high is not None else ""


def _parameter(raw: Mapping[str, Any]) -> Parameter:
    schema = raw.get("schema", {})
    default = schema.get("default")
    return Parameter(str(raw.get("name", "")), str(raw.get("in", "")), type_of(schema), bool(raw.get("required")),
                     "" if default is None else str(default).lower() if isinstance(default, bool) else str(default),
                     _rules(schema), str(raw.get("description") or schema.get("description") or ""))


def _responses(raw: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for status, response in sorted(raw.items()):
        body = response.get("content", {}).get("application/json", {}).get("schema")
        out.append((str(status), str(response.get("description", "")), type_of(body) if body else ""))
    return out


def docs_page(document: Mapping[str, Any]) -> DocsPage:
    """Every operation (parameters, responses) and every schema (fields) of an OpenAPI document."""
    info = document.get("info", {})
    operations = [
        Operation(method.upper(), str(path), str(op.get("summary", "")), str(op.get("description", "")),
                  [_parameter(p) for p in op.get("parameters", [])], _responses(op.get("responses", {})))
        for path, methods in document.get("paths", {}).items() for method, op in methods.items()
    ]
    schemas = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        fields = [Field(field, type_of(spec), field in required, str(spec.get("description", "")))
                  for field, spec in schema.get("properties", {}).items()]
        schemas.append(Schema(name, str(schema.get("description", "")), fields))
    return DocsPage(str(info.get("title", "API")), str(info.get("version", "")), str(info.get("description", "")),
                    operations, schemas)
