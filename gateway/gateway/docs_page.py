"""The API document rendered as one HTML page, on the server: no script, nothing fetched.

The page is built from the same OpenAPI document clients read, so the two never disagree. Its
only style is inline and allowed by its hash in the page's Content-Security-Policy; the page
runs no script at all.
"""

import base64
import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"
STYLE = (TEMPLATES / "docs.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
POLICY = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'"

_environment = Environment(loader=FileSystemLoader(TEMPLATES),
                           autoescape=select_autoescape(["html"]))
METHODS = ("get", "put", "post", "patch", "delete")
REFERENCE = "#/components/schemas/"


def render(document):
    schemas = document.get("components", {}).get("schemas", {})
    routes = [_route(path, method, operation)
              for path, methods in document["paths"].items()
              for method, operation in methods.items() if method in METHODS]
    return _environment.get_template("docs.html").render(
        info=document["info"], routes=routes, style=STYLE,
        schemas=[_schema(name, schema) for name, schema in sorted(schemas.items())],
    )


def _route(path, method, operation):
    body = operation.get("requestBody", {}).get("content", {})
    return {
        "id": operation["operationId"], "method": method.upper(), "path": path,
        "summary": operation.get("summary", ""), "who": operation.get("description", ""),
        "parameters": [_parameter(parameter) for parameter in operation.get("parameters", [])],
        "body": [(media_type, describe(content.get("schema", {})))
                 for media_type, content in body.items()],
        "responses": [_response(status, response)
                      for status, response in operation["responses"].items()],
    }


def _parameter(parameter):
    schema = parameter.get("schema", {})
    return {"name": parameter["name"], "in": parameter["in"],
            "required": parameter.get("required", False), "type": describe(schema),
            "description": parameter.get("description") or schema.get("description", "")}


def _response(status, response):
    content = response.get("content", {})
    shapes = [(media_type, describe(entry.get("schema", {})))
              for media_type, entry in content.items()]
    return {"status": status, "description": response.get("description", ""), "shapes": shapes}


def _schema(name, schema):
    required = set(schema.get("required", []))
    properties = [{"name": field, "type": describe(value), "required": field in required,
                   "description": value.get("description", "")}
                  for field, value in schema.get("properties", {}).items()]
    return {"name": name, "description": schema.get("description", ""),
            "properties": properties, "open": schema.get("additionalProperties", True)}


def describe(schema):
    """A schema in a few words: ``string (pattern …)``, ``array of Span``, ``Problem``."""
    if "$ref" in schema:
        return schema["$ref"].removeprefix(REFERENCE)
    if schema.get("type") == "array":
        return "array of " + describe(schema.get("items", {}))
    words = [schema.get("type", "any")]
    if schema.get("nullable"):
        words.append("or null")
    limits = [f"{key} {schema[key]}" for key in (
        "format", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "default")
        if key in schema]
    if limits:
        words.append("(" + "; ".join(str(limit) for limit in limits) + ")")
    return " ".join(words)
