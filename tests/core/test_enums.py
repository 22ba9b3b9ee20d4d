"""LabelledEnum: string enums declared with their translated label."""

from __future__ import annotations

import copy
import importlib
import json
import pickle
import pkgutil

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

import app as app_package
from app.claims.models import ClaimState
from app.core.db import enum_column
from app.core.enums import LabelledEnum
from app.core.i18n import force_locale
from app.experiences.forms import TrainingForm
from app.organisations.models import MembershipRole


class Colour(LabelledEnum):
    """A local enum, so the base is tested apart from the models (labels are msgids of the catalogs)."""

    DRAFT = "draft", _l("Draft")
    CHANGES = "changes_requested", _l("Changes requested")


def all_labelled_enums() -> list[type[LabelledEnum]]:
    """Every LabelledEnum of the application's models."""
    for package in pkgutil.iter_modules(app_package.__path__):
        try:
            importlib.import_module(f"app.{package.name}.models")
        except ModuleNotFoundError as error:
            if error.name != f"app.{package.name}.models":
                raise
    found, todo = [], list(LabelledEnum.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("app."):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


def test_value_is_the_plain_string():
    assert Colour.CHANGES.value == "changes_requested"
    assert str(Colour.CHANGES) == "changes_requested"
    assert f"{Colour.CHANGES}" == "changes_requested"
    assert Colour.CHANGES == "changes_requested"
    assert isinstance(Colour.CHANGES, str)
    assert Colour("changes_requested") is Colour.CHANGES
    assert Colour["CHANGES"] is Colour.CHANGES
    assert [m.value for m in Colour] == ["draft", "changes_requested"]
    with pytest.raises(ValueError):
        Colour("Changes requested")


def test_json_pickle_and_copy_see_the_value():
    assert json.dumps({"state": Colour.DRAFT}) == '{"state": "draft"}'
    # Pickled by value, not by label (these bytes are our own, just made).
    assert pickle.loads(pickle.dumps(Colour.CHANGES)) is Colour.CHANGES  # noqa: S301
    assert pickle.loads(pickle.dumps(ClaimState.CHANGES_REQUESTED)) is ClaimState.CHANGES_REQUESTED  # noqa: S301
    assert copy.deepcopy(Colour.DRAFT) is Colour.DRAFT
    assert {Colour.DRAFT: 1}["draft"] == 1


def test_label_is_a_plain_string_in_the_current_language():
    with force_locale("fr"):
        assert ClaimState.DRAFT.label == "Brouillon"
        assert MembershipRole.ADMIN.label == "Administrateur de l'organisation"
    with force_locale("en"):
        assert ClaimState.DRAFT.label == "Draft"
        assert type(MembershipRole.ADMIN.label) is str  # escaped by templates, storable as is
        assert MembershipRole.ADMIN.label == "Organisation admin"


def test_choices_in_declaration_order_with_lazy_labels():
    choices = Colour.choices()
    assert [value for value, _label in choices] == ["draft", "changes_requested"]
    assert all(type(value) is str for value, _label in choices)
    with force_locale("fr"):
        assert [str(label) for _value, label in choices] == ["Brouillon", "Modifications demandées"]
    with force_locale("en"):
        assert [str(label) for _value, label in choices] == ["Draft", "Changes requested"]


def test_form_choices_declared_at_import_follow_the_request_language(app):
    with app.test_request_context(), force_locale("fr"):
        form = TrainingForm(meta={"csrf": False})
        options = {value: label for value, label, *_rest in form.training_kind.iter_choices()}
        assert str(options["pre_departure"]) == "Formation avant le départ"


def test_a_member_without_label_is_refused():
    with pytest.raises(TypeError):

        class Broken(LabelledEnum):
            ONLY = "only"


def test_enum_column_stores_the_values():
    column_type = enum_column(Colour, 20)
    assert column_type.enums == ["draft", "changes_requested"]
    assert column_type.length == 20
    table = sa.Table("enum_probe", sa.MetaData(), sa.Column("state", column_type))
    assert str(sa.select(table).where(table.c.state == Colour.CHANGES).compile()).endswith("state = :state_1")
    bind = column_type.bind_processor(sa.create_engine("sqlite://").dialect)
    assert (bind(Colour.CHANGES) if bind else Colour.CHANGES.value) == "changes_requested"


@pytest.mark.parametrize("enum_cls", all_labelled_enums(), ids=lambda cls: cls.__name__)
def test_every_application_enum_is_labelled(enum_cls):
    assert len(enum_cls) > 0
    for member in enum_cls:
        assert type(member.value) is str and member.value == str(member)
        assert isinstance(member._label, LazyString), member  # declared with _l, so translated at render time
        with force_locale("en"):
            assert member.label.strip(), member
