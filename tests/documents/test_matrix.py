"""The competence matrix of a dossier: one row per competence, whatever the number of claims."""

from __future__ import annotations

from app.documents.context import summarise_matrix


def row(code, state, rank, experience):
    level = {"rank": rank, "text": f"Level {rank}", "fallback": None} if rank else None
    return {
        "code": code,
        "title": {"text": code, "fallback": None},
        "level": level,
        "state": state,
        "experience": experience,
    }


def test_one_row_per_competence_with_the_strongest_state_and_its_highest_level():
    rows = [
        row("SI.2", "draft", 4, "Mission Lima"),
        row("SI.1", "validated", 2, "Mission Lima"),
        row("SI.1", "submitted", 4, "Mission Dakar"),
        row("SI.1", "validated", 3, "Training"),
        row("SI.1", "validated", 1, "Mission Lima"),
    ]
    summary = summarise_matrix(rows)
    assert [r["code"] for r in summary] == ["SI.1", "SI.2"]
    first, second = summary
    # A level declared in a pending claim does not outrank what an NGO validated.
    assert first["state"] == "validated" and first["level"]["rank"] == 3
    assert first["experiences"] == ["Mission Lima", "Mission Dakar", "Training"]
    assert second["state"] == "draft" and second["level"]["rank"] == 4


def test_pending_beats_draft_and_missing_levels_are_allowed():
    summary = summarise_matrix([row("K1", "draft", None, ""), row("K1", "submitted", None, "Mission")])
    assert summary == [
        {
            "code": "K1",
            "title": {"text": "K1", "fallback": None},
            "level": None,
            "state": "submitted",
            "experiences": ["Mission"],
        }
    ]
