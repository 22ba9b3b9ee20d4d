"""Questionnaires of the impact survey: loaded from versioned YAML data files and validated.

A questionnaire is data, not code: ``app/survey/data/<id>-v<version>.yaml`` holds the profile questions, the
Likert items grouped in sections, the optional free-text question and every text as a language map
(``{"fr": …, "en": …, "es": …}``). :func:`load_questionnaire` refuses a file with a missing language, a
duplicate key or an unknown field, so a broken file fails at start-up and in the tests, never in front of a
respondent. Answers store the keys, so keys never change inside a version; a new version may add or drop items
and the reports compare the items both versions share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
LANGUAGES = ("fr", "en", "es")
#: Option value added to every profile question: nobody has to describe themselves.
UNDISCLOSED = "undisclosed"
#: The five points of the Likert scale, then "not applicable".
SCALE_VALUES = ("1", "2", "3", "4", "5", "na")


class QuestionnaireError(ValueError):
    """A questionnaire data file is malformed (message names the file and the place)."""


@dataclass(frozen=True)
class Text:
    """A text in every language; ``get(lang)`` falls back to French, the reference language."""

    values: dict[str, str]

    def get(self, language: str) -> str:
        return self.values.get(language) or self.values["fr"]


@dataclass(frozen=True)
class Option:
    value: str
    label: Text


@dataclass(frozen=True)
class ProfileQuestion:
    key: str
    label: Text
    options: tuple[Option, ...]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Item:
    key: str
    text: Text
    section: str


@dataclass(frozen=True)
class Section:
    key: str
    title: Text
    items: tuple[Item, ...]


@dataclass(frozen=True)
class FreeText:
    key: str
    label: Text
    hint: Text
    max_length: int


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    open: bool
    #: The day answers opened: only accounts and memberships older than that count (see :mod:`app.survey.operations`).
    opened_on: date | None
    title: Text
    introduction: Text
    consent_version: str
    consent_text: Text
    scale: tuple[Option, ...]
    profile: tuple[ProfileQuestion, ...]
    sections: tuple[Section, ...]
    free_text: FreeText | None

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)

    def profile_question(self, key: str) -> ProfileQuestion | None:
        return next((q for q in self.profile if q.key == key), None)

    @property
    def ref(self) -> str:
        return f"{self.id}-v{self.version}"

    def all_texts(self) -> list[tuple[str, Text]]:
        """(place, text) for every translatable text, for completeness checks."""
        texts = [("title", self.title), ("introduction", self.introduction), ("consent", self.consent_text)]
        texts += [(f"scale.{o.value}", o.label) for o in self.scale]
        for q in self.profile:
            texts.append((f"profile.{q.key}", q.label))
            texts += [(f"profile.{q.key}.{o.value}", o.label) for o in q.options]
        for s in self.sections:
            texts.append((f"section.{s.key}", s.title))
            texts += [(f"item.{i.key}", i.text) for i in s.items]
        if self.free_text:
            texts += [("free_text.label", self.free_text.label), ("free_text.hint", self.free_text.hint)]
        return texts


# --- Loading and validation ---


class _Reader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str):
        raise QuestionnaireError(f"{self.source}: {where}: {message}")

    def mapping(self, value, where: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "expected a mapping")
        unknown = set(value) - allowed
        if unknown:
            self.fail(where, f"unknown field(s) {sorted(unknown)}")
        missing = required - set(value)
        if missing:
            self.fail(where, f"missing field(s) {sorted(missing)}")
        return value

    def key(self, value, where: str) -> str:
        if not isinstance(value, str) or not value or len(value) > 40 or not value.replace("_", "").isalnum():
            self.fail(where, f"invalid key {value!r} (letters, digits and _ only, at most 40)")
        return value

    def text(self, value, where: str) -> Text:
        if not isinstance(value, dict):
            self.fail(where, "expected a language map {fr: …, en: …, es: …}")
        unknown = set(value) - set(LANGUAGES)
        if unknown:
            self.fail(where, f"unknown language(s) {sorted(unknown)}")
        for language in LANGUAGES:
            text = value.get(language)
            if not isinstance(text, str) or not text.strip():
                self.fail(where, f"missing or empty text in {language!r}")
        return Text({language: " ".join(value[language].split()) for language in LANGUAGES})

    def unique(self, keys: list[str], where: str) -> None:
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            self.fail(where, f"duplicate key(s) {duplicates}")


def parse_questionnaire(data, *, source: str = "<data>", undisclosed_fallback: Text | None = None) -> Questionnaire:
    """Validate the parsed YAML ``data`` of one questionnaire and build it.

    :raises QuestionnaireError: naming ``source`` and the faulty place.
    """
    r = _Reader(source)
    top = r.mapping(
        data,
        "top level",
        allowed={
            "id",
            "version",
            "open",
            "opened_on",
            "title",
            "introduction",
            "consent",
            "undisclosed",
            "scale",
            "profile",
        }
        | {"sections", "free_text"},
        required={"id", "version", "title", "introduction", "consent", "undisclosed", "scale", "profile", "sections"},
    )
    questionnaire_id = r.key(top["id"], "id")
    version = top["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        r.fail("version", "expected a positive integer")
    consent = r.mapping(top["consent"], "consent", {"version", "text"}, {"version", "text"})
    if not isinstance(consent["version"], str) or not 0 < len(consent["version"]) <= 40:
        r.fail("consent.version", "expected a short string")
    undisclosed = r.text(top["undisclosed"], "undisclosed")

    scale_raw = top["scale"]
    if not isinstance(scale_raw, list):
        r.fail("scale", "expected a list")
    scale = []
    for n, entry in enumerate(scale_raw):
        entry = r.mapping(entry, f"scale[{n}]", {"value", "label"}, {"value", "label"})
        scale.append(Option(str(entry["value"]), r.text(entry["label"], f"scale[{n}].label")))
    if tuple(o.value for o in scale) != SCALE_VALUES:
        r.fail("scale", f"the scale must have the values {list(SCALE_VALUES)} in this order")

    if not isinstance(top["profile"], list) or not top["profile"]:
        r.fail("profile", "expected a non-empty list")
    profile = []
    for n, entry in enumerate(top["profile"]):
        where = f"profile[{n}]"
        entry = r.mapping(entry, where, {"key", "label", "options"}, {"key", "label", "options"})
        key = r.key(entry["key"], f"{where}.key")
        if not isinstance(entry["options"], list) or len(entry["options"]) < 2:
            r.fail(f"{where}.options", "expected at least two options")
        options = []
        for m, option in enumerate(entry["options"]):
            option = r.mapping(option, f"{where}.options[{m}]", {"value", "label"}, {"value", "label"})
            value = r.key(str(option["value"]), f"{where}.options[{m}].value")
            if value == UNDISCLOSED:
                r.fail(f"{where}.options[{m}]", f"{UNDISCLOSED!r} is added automatically")
            options.append(Option(value, r.text(option["label"], f"{where}.options[{m}].label")))
        r.unique([o.value for o in options], f"{where}.options")
        options.append(Option(UNDISCLOSED, undisclosed))
        profile.append(ProfileQuestion(key, r.text(entry["label"], f"{where}.label"), tuple(options)))
    r.unique([q.key for q in profile], "profile")

    if not isinstance(top["sections"], list) or not top["sections"]:
        r.fail("sections", "expected a non-empty list")
    sections = []
    for n, entry in enumerate(top["sections"]):
        where = f"sections[{n}]"
        entry = r.mapping(entry, where, {"key", "title", "items"}, {"key", "title", "items"})
        key = r.key(entry["key"], f"{where}.key")
        if not isinstance(entry["items"], list) or not entry["items"]:
            r.fail(f"{where}.items", "expected a non-empty list")
        items = []
        for m, item in enumerate(entry["items"]):
            item = r.mapping(item, f"{where}.items[{m}]", {"key", "text"}, {"key", "text"})
            items.append(
                Item(r.key(item["key"], f"{where}.items[{m}].key"), r.text(item["text"], f"{where}.items[{m}]"), key)
            )
        sections.append(Section(key, r.text(entry["title"], f"{where}.title"), tuple(items)))
    r.unique([s.key for s in sections], "sections")
    r.unique([i.key for s in sections for i in s.items], "items")

    free_text = None
    if top.get("free_text") is not None:
        entry = r.mapping(top["free_text"], "free_text", {"key", "label", "hint", "max_length"}, {"key", "label"})
        max_length = entry.get("max_length", 2000)
        if not isinstance(max_length, int) or not 1 <= max_length <= 10_000:
            r.fail("free_text.max_length", "expected an integer between 1 and 10000")
        free_text = FreeText(
            key=r.key(entry["key"], "free_text.key"),
            label=r.text(entry["label"], "free_text.label"),
            hint=r.text(entry["hint"], "free_text.hint") if "hint" in entry else Text(dict.fromkeys(LANGUAGES, "")),
            max_length=max_length,
        )

    opened_on = top.get("opened_on")
    if top.get("open") and not isinstance(opened_on, date):
        r.fail("opened_on", "an open questionnaire needs its opening date (YYYY-MM-DD)")
    return Questionnaire(
        id=questionnaire_id,
        version=version,
        open=bool(top.get("open", False)),
        opened_on=opened_on if isinstance(opened_on, date) else None,
        title=r.text(top["title"], "title"),
        introduction=r.text(top["introduction"], "introduction"),
        consent_version=consent["version"],
        consent_text=r.text(consent["text"], "consent.text"),
        scale=tuple(scale),
        profile=tuple(profile),
        sections=tuple(sections),
        free_text=free_text,
    )


def load_questionnaire(path: Path) -> Questionnaire:
    """Read and validate one questionnaire file (the file name must be ``<id>-v<version>.yaml``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"{path.name}: not valid YAML: {exc}") from exc
    questionnaire = parse_questionnaire(data, source=path.name)
    if path.stem != questionnaire.ref:
        raise QuestionnaireError(f"{path.name}: the file name must be {questionnaire.ref}.yaml")
    return questionnaire


@cache
def all_questionnaires() -> tuple[Questionnaire, ...]:
    """Every shipped questionnaire version, by id then version (read once per process)."""
    loaded = [load_questionnaire(path) for path in sorted(DATA_DIR.glob("*.yaml"))]
    return tuple(sorted(loaded, key=lambda q: (q.id, q.version)))


def get_questionnaire(questionnaire_id: str, version: int) -> Questionnaire | None:
    return next((q for q in all_questionnaires() if q.id == questionnaire_id and q.version == version), None)


def open_questionnaires() -> list[Questionnaire]:
    """Versions returnees can answer now."""
    return [q for q in all_questionnaires() if q.open]


def versions_of(questionnaire_id: str) -> list[Questionnaire]:
    return [q for q in all_questionnaires() if q.id == questionnaire_id]


def latest(questionnaire_id: str = "impact") -> Questionnaire | None:
    versions = versions_of(questionnaire_id)
    return versions[-1] if versions else None
