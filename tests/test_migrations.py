"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def _include_name(name, type_, parent_names):
    return not (type_ == "table" and name and name.startswith("framework_search"))


def test_models_and_migrations_agree(app, db_session):
    from app.extensions import db

    connection = db_session.connection()
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _include_name, "render_as_batch": True}
    )
    differences = compare_metadata(context, db.metadata)
    assert differences == [], "run `flask db migrate`: the models differ from the migrations:\n" + "\n".join(
        map(str, differences)
    )


def test_single_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.config import PROJECT_DIR

    config = Config(str(PROJECT_DIR / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_DIR / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations must form one line, found heads {heads}"
