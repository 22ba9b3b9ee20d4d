"""The European Learning Model's SHACL shapes, run with pyshacl on the vendored files (nothing fetched).

``tests/portability/standards/elm`` holds, from european-commission-empl/European-Learning-Model (EUPL 1.2):
the EDC-generic shapes without controlled-vocabulary checks, the ELM ontology, the EDC application profile's JSON-LD
context and the official unsigned sample; and the W3C credentials v1 context the EDC documents also name.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pyshacl
import rdflib

STANDARDS = Path(__file__).parent / "standards" / "elm"
CONTEXTS = {
    "https://www.w3.org/2018/credentials/v1": STANDARDS / "credentials-v1.jsonld",
    "http://data.europa.eu/snb/model/context/edc-ap": STANDARDS / "edc-ap-context.jsonld",
}
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


@lru_cache(maxsize=1)
def _shapes() -> tuple[rdflib.Graph, rdflib.Graph]:
    shapes = rdflib.Graph().parse(STANDARDS / "EDC-generic-no-cv.ttl")
    ontology = rdflib.Graph().parse(STANDARDS / "ELM.ttl")
    return shapes, ontology


def _local(node):
    """``node`` with every remote ``@context`` (at any depth) replaced by the vendored document."""
    if isinstance(node, list):
        return [_local(item) for item in node]
    if not isinstance(node, dict):
        return node
    local = {key: _local(value) for key, value in node.items() if key != "@context"}
    if "@context" in node:
        names = node["@context"] if isinstance(node["@context"], list) else [node["@context"]]
        local["@context"] = [json.loads(CONTEXTS[name].read_text())["@context"] for name in names]
    return local


def _graph(document: dict) -> rdflib.Graph:
    """The RDF graph of a JSON-LD document, its remote contexts replaced by the vendored ones."""
    return rdflib.Graph().parse(data=json.dumps(_local(document)), format="json-ld")


def violations(document: dict) -> list[tuple[str, str]]:
    """(focus node's types, property path) of every sh:Violation, sorted."""
    shapes, ontology = _shapes()
    data = _graph(document)
    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes, ont_graph=ontology, advanced=True)
    found = []
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            continue
        focus = report.value(result, SH.focusNode)
        kinds = sorted(data.namespace_manager.normalizeUri(k) for k in data.objects(focus, rdflib.RDF.type))
        found.append(
            ("+".join(kinds) or str(focus), shapes.namespace_manager.normalizeUri(report.value(result, SH.resultPath)))
        )
    return sorted(found)
