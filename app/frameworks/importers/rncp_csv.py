"""France Compétences open data (RNCP): one certification as a framework of blocs de compétences.

Reads the *Standard* table (one row per fiche) and the *Blocs* table (one row per bloc), keyed by ``Numero_Fiche``.
Delimiter ``;`` or ``,`` is detected from the header; UTF-8 with or without BOM. Titles exist only in French.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.frameworks.importers import FrameworkImportError, ImportProblem, ParsedFramework, ParsedNode
from app.frameworks.importers.csv_util import read_rows

STANDARD_COLUMNS = ("Numero_Fiche", "Intitule", "Nomenclature_Europe_Niveau")
BLOCS_COLUMNS = ("Numero_Fiche", "Bloc_Competences_Code", "Bloc_Competences_Libelle")
_FICHE = re.compile(r"^(?:RNCP)?\s*(\d{1,6})$", re.IGNORECASE)
_LEVEL = re.compile(r"(\d)")
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def normalise_fiche(value: str) -> str | None:
    """``RNCP35658`` for ``35658``, ``rncp35658`` or ``RNCP35658``; ``None`` when it is not an RNCP number."""
    match = _FICHE.match((value or "").strip())
    return f"RNCP{match.group(1)}" if match else None


def parse_rncp(standard: Path, blocs: Path, fiche: str) -> ParsedFramework:
    """Read certification ``fiche`` and its blocs; raise FrameworkImportError naming file and row when wrong."""
    number = normalise_fiche(fiche)
    if number is None:
        message = _l("%(value)s is not an RNCP number like RNCP35658", value=repr(fiche))
        raise FrameworkImportError([ImportProblem("--fiche", message, field="fiche")])
    problems: list[ImportProblem] = []
    certification = None
    for row_number, row in read_rows(Path(standard), STANDARD_COLUMNS, problems=problems):
        if normalise_fiche(row["Numero_Fiche"]) == number and certification is None:
            certification = (row_number, row)
    nodes: list[ParsedNode] = []
    seen: dict[str, int] = {}
    for row_number, row in read_rows(Path(blocs), BLOCS_COLUMNS, problems=problems):
        if normalise_fiche(row["Numero_Fiche"]) != number:
            continue
        code, label = row["Bloc_Competences_Code"].strip(), row["Bloc_Competences_Libelle"].strip()
        if not code or not label:
            problems.append(
                ImportProblem(
                    Path(blocs).name, _l("Bloc_Competences_Code and _Libelle must not be empty"), row_number, "row"
                )
            )
            continue
        if code in seen:
            problems.append(
                ImportProblem(
                    Path(blocs).name,
                    _l("bloc %(code)s appears twice (row %(first)d)", code=code, first=seen[code]),
                    row_number,
                    "row",
                )
            )
            continue
        seen[code] = row_number
        nodes.append(ParsedNode(code=code, kind="bloc", title={"fr": label}, position=len(nodes)))
    if certification is None:
        message = _l("no certification %(number)s in this file", number=number)
        problems.append(ImportProblem(Path(standard).name, message, field="fiche"))
    elif not nodes:
        message = _l("no bloc de compétences for %(number)s in this file", number=number)
        problems.append(ImportProblem(Path(blocs).name, message))
    if problems:
        raise FrameworkImportError(problems[:100])
    row_number, row = certification
    title = row["Intitule"].strip()
    if not title:
        raise FrameworkImportError(
            [ImportProblem(Path(standard).name, _l("%(column)s is empty", column="Intitule"), row_number, "row")]
        )
    level_match = _LEVEL.search(row.get("Nomenclature_Europe_Niveau") or "")
    version = (row.get("Date_Decision") or row.get("Date_dernier_jo") or row.get("Date_Effet") or "").strip() or "1"
    # The version is the decision date, written ISO so that later decisions sort after earlier ones.
    if french := _FRENCH_DATE.match(version):
        version = f"{french.group(3)}-{french.group(2)}-{french.group(1)}"
    certification_data = {"code": number}
    if level_match:
        certification_data["level"] = int(level_match.group(1))
    if (row.get("Date_Fin_Enregistrement") or "").strip():
        certification_data["registered_until"] = row["Date_Fin_Enregistrement"].strip()
    return ParsedFramework(
        slug=number.lower(),
        version=version[:60],
        kind="rncp",
        title={"fr": title},
        source={
            "name": "France Compétences - RNCP",
            "url": f"https://www.francecompetences.fr/recherche/rncp/{number[4:]}/",
        },
        licence="Licence Ouverte / Open Licence 2.0",
        certification=certification_data,
        nodes=nodes,
        origin=Path(standard).name,
    )
