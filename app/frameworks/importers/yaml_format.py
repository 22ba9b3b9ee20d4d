"""Our YAML framework and crosswalk files (competencies/README.md), validated by their JSON Schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from jsonschema import Draft202012Validator, ValidationError

from app.config import resource_path
from app.frameworks.importers import (
    FrameworkImportError,
    ImportProblem,
    ParsedCrosswalk,
    ParsedFramework,
    ParsedLink,
    ParsedNode,
)

SCHEMA_DIR = resource_path("competencies") / "schema"
FRAMEWORK_FORMAT = "acquis-framework/1"
CROSSWALK_FORMAT = "acquis-crosswalk/1"
ESCO_URI_PREFIX = "http://data.europa.eu/esco/"

_LANG_MAP = {
    "type": "object",
    "propertyNames": {"pattern": "^[a-z]{2}$"},
    "additionalProperties": {"type": "string", "minLength": 1},
}
_REQUIRED_MAP = {**_LANG_MAP, "required": ["fr", "en"]}
#: Used only while competencies/schema/ holds no schema file (the shipped schemas are the reference).
_FALLBACK_SCHEMAS = {
    "framework": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["format", "id", "version", "kind", "title", "licence", "nodes"],
        "properties": {
            "format": {"const": FRAMEWORK_FORMAT},
            "id": {"type": "string", "pattern": "^[a-z0-9-]{2,60}$"},
            "version": {"type": "string", "minLength": 1, "maxLength": 60},
            "kind": {"enum": ["own", "key_competences", "esco", "rncp", "other"]},
            "title": _REQUIRED_MAP,
            "description": _LANG_MAP,
            "source": {"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
            "licence": {"type": "string", "minLength": 1},
            "example": {"type": "boolean"},
            "certification": {"type": "object"},
            "levels": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rank", "label"],
                    "properties": {"rank": {"type": "integer", "minimum": 1}, "label": _REQUIRED_MAP},
                },
            },
            "nodes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/node"}},
        },
        "$defs": {
            "node": {
                "type": "object",
                "required": ["code", "kind", "title"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string", "pattern": "^[A-Za-z0-9._:/-]{1,200}$"},
                    "kind": {"enum": ["domain", "competence", "indicator", "bloc", "skill", "knowledge"]},
                    "title": _REQUIRED_MAP,
                    "description": _LANG_MAP,
                    "uri": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
            }
        },
    },
    "crosswalk": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["format", "id", "source", "target", "links"],
        "properties": {
            "format": {"const": CROSSWALK_FORMAT},
            "id": {"type": "string", "minLength": 2, "maxLength": 160},
            "source": {
                "type": "object",
                "required": ["framework", "version"],
                "properties": {"framework": {"type": "string"}, "version": {"type": "string"}},
            },
            "target": {"type": "object"},
            "links": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["source", "target", "relation"],
                    "properties": {
                        "source": {"type": "string"},
                        "target": {"type": "string"},
                        "relation": {"enum": ["exact", "close", "broader", "narrower", "related"]},
                    },
                },
            },
        },
    },
}


@cache
def _validator(name: str, schema_dir: Path = SCHEMA_DIR) -> Draft202012Validator:
    path = schema_dir / f"{name}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8")) if path.exists() else _FALLBACK_SCHEMAS[name]
    return Draft202012Validator(schema)


def _node_at(root, path) -> yaml.Node | None:
    """The composed YAML node at a JSON path (keys and indexes), as deep as it exists."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _line(root, path) -> int | None:
    node = _node_at(root, path) if root is not None else None
    return node.start_mark.line + 1 if node is not None else None


def _json_path(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _quoted(values) -> str:
    return ", ".join(repr(v) for v in values)


def _extra_keys(error: ValidationError) -> list:
    """The keys an ``additionalProperties: false`` error is about."""
    known = set(error.schema.get("properties", {}))
    return [name for name in error.instance if name not in known] or list(error.instance)


def _error_path(error: ValidationError) -> list:
    """Where the line of an error is looked up: the first unexpected key itself, else the value in error."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict) and error.instance:
        return [*error.absolute_path, _extra_keys(error)[0]]
    return list(error.absolute_path)


def schema_message(error: ValidationError):
    """A translatable message for a JSON Schema error, naming the field path (``nodes[0].children[2].kind``).

    The common kinds of error get their own wording; any other one keeps the validator's English text as detail.
    """
    path = _json_path(error.absolute_path)
    field = path or _l("the document")
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in expected if name not in instance]
        return _l("%(field)s is required", field=f"{path}.{missing[0]}" if path else missing[0])
    if kind == "additionalProperties" and isinstance(instance, dict):
        extra = _extra_keys(error)
        names = ", ".join(f"{path}.{name}" if path else str(name) for name in extra)
        return lazy_ngettext("unexpected field %(names)s", "unexpected fields %(names)s", len(extra), names=names)
    if kind == "propertyNames":
        return _l("%(field)s: %(name)s is not allowed as a key", field=field, name=repr(instance))
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        return _l("%(field)s must be of type %(expected)s", field=field, expected=" | ".join(types))
    if kind == "enum":
        return _l(
            "%(field)s: %(value)s is not one of %(allowed)s",
            field=field,
            value=repr(instance),
            allowed=_quoted(expected),
        )
    if kind == "const":
        return _l("%(field)s must be %(allowed)s", field=field, allowed=repr(expected))
    if kind == "pattern":
        return _l(
            "%(field)s: %(value)s does not have the expected form (%(pattern)s)",
            field=field,
            value=repr(instance),
            pattern=expected,
        )
    if kind == "minItems":
        return lazy_ngettext(
            "%(field)s must have at least %(num)d item",
            "%(field)s must have at least %(num)d items",
            expected,
            field=field,
        )
    if kind == "maxItems":
        return lazy_ngettext(
            "%(field)s must have at most %(num)d item",
            "%(field)s must have at most %(num)d items",
            expected,
            field=field,
        )
    if kind == "minLength":
        if expected == 1:
            return _l("%(field)s must not be empty", field=field)
        return lazy_ngettext(
            "%(field)s must have at least %(num)d character",
            "%(field)s must have at least %(num)d characters",
            expected,
            field=field,
        )
    if kind == "maxLength":
        return lazy_ngettext(
            "%(field)s must have at most %(num)d character",
            "%(field)s must have at most %(num)d characters",
            expected,
            field=field,
        )
    if kind == "minimum":
        return _l("%(field)s must be at least %(limit)s", field=field, limit=expected)
    if kind == "maximum":
        return _l("%(field)s must be at most %(limit)s", field=field, limit=expected)
    return _l("%(field)s is not valid: %(detail)s", field=field, detail=error.message)


#: libyaml's parser when installed (ten times faster); the resolution of values is PyYAML's either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_events(text: str, origin: str, max_events: int | None) -> None:
    """Refuse aliases, and more than ``max_events`` YAML events, before anything is composed.

    An alias (``*name``) may point to a list of aliases: ten levels of ten make a file of a few hundred bytes that
    expands to 10**10 items once a schema check or a hash walks it (a "billion laughs"); our files never need them.
    Composing costs far more memory and time per item than this scan, hence the count first.
    """
    for count, event in enumerate(yaml.parse(text, Loader=_LOADER), 1):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else None
            raise FrameworkImportError([ImportProblem(origin, _l("YAML aliases (*name) are not allowed"), line)])
        if max_events is not None and count > max_events:
            message = _l("this file has too many items (at most %(max)d YAML values)", max=max_events)
            raise FrameworkImportError([ImportProblem(origin, message)])


def read_yaml(text: str, origin: str, *, max_events: int | None = None):
    """``(data, composed_root)`` of a YAML document, or FrameworkImportError naming the line of a syntax error.

    Aliases are refused, and the number of YAML events bounded when ``max_events`` is given, before anything is
    composed (see :func:`_check_events`).
    """
    try:
        _check_events(text, origin, max_events)
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - SafeLoader or its libyaml twin
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise FrameworkImportError(
            [ImportProblem(origin, _l("invalid YAML: %(detail)s", detail=str(exc.problem or exc)), line)]
        ) from exc
    except yaml.YAMLError as exc:
        raise FrameworkImportError([ImportProblem(origin, _l("invalid YAML: %(detail)s", detail=str(exc)))]) from exc
    return data, root


def parse_document(text: str, origin: str, *, max_events: int | None = None) -> ParsedFramework | ParsedCrosswalk:
    """Parse and validate one framework or crosswalk file (its ``format`` key decides which).

    :param max_events: refuse files of more YAML events than this before composing them (untrusted uploads).
    """
    data, root = read_yaml(text, origin, max_events=max_events)
    if not isinstance(data, dict):
        raise FrameworkImportError([ImportProblem(origin, _l("the file must be a YAML mapping"), 1)])
    fmt = data.get("format")
    if fmt == FRAMEWORK_FORMAT:
        _validate("framework", data, root, origin)
        return _framework(data, root, origin)
    if fmt == CROSSWALK_FORMAT:
        _validate("crosswalk", data, root, origin)
        return _crosswalk(data, root, origin)
    raise FrameworkImportError(
        [
            ImportProblem(
                origin,
                _l(
                    "unknown format %(found)s: expected %(framework)s or %(crosswalk)s",
                    found=repr(fmt),
                    framework=repr(FRAMEWORK_FORMAT),
                    crosswalk=repr(CROSSWALK_FORMAT),
                ),
                _line(root, ["format"]),
            )
        ]
    )


def _validate(name: str, data, root, origin: str) -> None:
    errors = sorted(_validator(name).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise FrameworkImportError(
            [ImportProblem(origin, schema_message(e), _line(root, _error_path(e))) for e in errors[:50]]
        )


def _framework(data: dict, root, origin: str) -> ParsedFramework:
    nodes: list[ParsedNode] = []
    lines: dict[str, int] = {}
    problems: list[ImportProblem] = []

    def walk(items, parent_code, depth, path):
        for position, item in enumerate(items):
            item_path = [*path, position]
            code = item["code"]
            line = _line(root, [*item_path, "code"])
            if code in lines:
                message = _l(
                    "node code %(code)s is used twice (first on line %(first)d)", code=repr(code), first=lines[code]
                )
                problems.append(ImportProblem(origin, message, line))
            else:
                lines[code] = line
            nodes.append(
                ParsedNode(
                    code=code,
                    kind=item["kind"],
                    title=dict(item["title"]),
                    description=dict(item.get("description") or {}),
                    uri=item.get("uri"),
                    parent_code=parent_code,
                    position=position,
                    depth=depth,
                )
            )
            walk(item.get("children") or [], code, depth + 1, [*item_path, "children"])

    walk(data["nodes"], None, 0, ["nodes"])
    ranks = [level["rank"] for level in data.get("levels") or []]
    if ranks and sorted(ranks) != list(range(1, len(ranks) + 1)):
        problems.append(
            ImportProblem(origin, _l("levels: ranks must be 1, 2, 3… without gaps"), _line(root, ["levels"]))
        )
    if problems:
        raise FrameworkImportError(problems)
    return ParsedFramework(
        slug=data["id"],
        version=data["version"],
        kind=data["kind"],
        title=dict(data["title"]),
        description=dict(data.get("description") or {}),
        source=dict(data.get("source") or {}),
        licence=data["licence"],
        example=bool(data.get("example", False)),
        certification=data.get("certification"),
        levels=sorted(data.get("levels") or [], key=lambda lv: lv["rank"]),
        nodes=nodes,
        origin=origin,
        lines=lines,
    )


def _crosswalk(data: dict, root, origin: str) -> ParsedCrosswalk:
    target = data["target"]
    problems = []
    if "scheme" in target:
        if target["scheme"] != "esco":
            problems.append(
                ImportProblem(origin, _l("target.scheme must be 'esco'"), _line(root, ["target", "scheme"]))
            )
    elif not (isinstance(target.get("framework"), str) and isinstance(target.get("version"), str)):
        problems.append(
            ImportProblem(
                origin, _l("target needs framework and version (strings), or scheme"), _line(root, ["target"])
            )
        )
    links = [
        ParsedLink(lk["source"], lk["target"], lk["relation"], _line(root, ["links", i]))
        for i, lk in enumerate(data["links"])
    ]
    if "scheme" in target:
        for i, link in enumerate(links):
            if not link.target.startswith(ESCO_URI_PREFIX):
                problems.append(
                    ImportProblem(
                        origin,
                        _l("target %(value)s is not an ESCO URI", value=repr(link.target)),
                        _line(root, ["links", i, "target"]),
                    )
                )
    if problems:
        raise FrameworkImportError(problems)
    return ParsedCrosswalk(
        slug=data["id"],
        source_framework=data["source"]["framework"],
        source_version=data["source"]["version"],
        target_framework=target.get("framework"),
        target_version=target.get("version"),
        target_scheme=target.get("scheme"),
        links=links,
        origin=origin,
        line=1,
    )


def collect_files(paths) -> list[Path]:
    """YAML files named or found in directories (recursively, sorted; schema folders skipped)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and "schema" not in p.parts)
            )
        else:
            files.append(path)
    return files


def parse_files(paths) -> tuple[list[ParsedFramework], list[ParsedCrosswalk]]:
    """Parse every file (directories expanded); raise one FrameworkImportError listing all problems of all files."""
    sources = []
    for path in collect_files(paths):
        try:
            sources.append((str(path), path.read_bytes()))
        except OSError as exc:
            raise FrameworkImportError(
                [ImportProblem(str(path), _l("cannot read the file: %(detail)s", detail=exc.strerror))]
            ) from exc
    return parse_sources(sources)


def parse_sources(sources) -> tuple[list[ParsedFramework], list[ParsedCrosswalk]]:
    """Parse ``(name, bytes)`` pairs; raise one FrameworkImportError listing all problems of all of them."""
    frameworks, crosswalks, problems = [], [], []
    for name, raw in sources:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(
                ImportProblem(
                    name, _l("not UTF-8 text (%(reason)s at byte %(byte)d)", reason=exc.reason, byte=exc.start)
                )
            )
            continue
        try:
            parsed = parse_document(text, name)
        except FrameworkImportError as exc:
            problems.extend(exc.problems)
            continue
        (frameworks if isinstance(parsed, ParsedFramework) else crosswalks).append(parsed)
    if problems:
        raise FrameworkImportError(problems)
    return frameworks, crosswalks
