"""``flask portability export`` and ``flask portability erase``."""

from __future__ import annotations

import json
import zipfile

import sqlalchemy as sa


def test_export_and_erase_commands(app, world, db_session, tmp_path):
    from app.auth.models import User

    runner = app.test_cli_runner()
    out = tmp_path / "export.zip"
    result = runner.invoke(args=["portability", "export", "--user", world.volunteer.email, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(zipfile.ZipFile(out).read("export.json"))["format"] == "acquis-export/1"
    result = runner.invoke(args=["portability", "erase", "--user", "nobody@example.org", "--yes"])
    assert result.exit_code != 0 and "no account" in result.output
    user_id = world.stranger.id
    result = runner.invoke(args=["portability", "erase", "--user", world.stranger.email, "--yes"])
    assert result.exit_code == 0, result.output
    assert db_session.get(User, user_id) is None
    assert db_session.scalar(sa.select(sa.func.count(User.id)).where(User.id == user_id)) == 0
