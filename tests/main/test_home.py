"""The home page per role: the volunteer's task list, the first-visit tour, the compact menu, the sign-in form
prefilled after an e-mail confirmation."""

from __future__ import annotations

import re

from app.main import tasklist
from tests import cast as worlds


def _states(html: str) -> dict[str, str]:
    """step key -> state modifier, read from the task list."""
    return dict(re.findall(r'id="task-status-(\w+)"><span class="tag tag-([\w-]+)"', html))


def test_a_new_volunteer_sees_the_task_list_with_the_first_step_next(client, login, create_user):
    user = create_user("new@example.org", name="Nina New", locale="en")
    login(client, user)
    html = client.get("/").get_data(as_text=True)
    assert _states(html) == {
        "join": "not-started",
        "mission": "not-started",
        "claims": "cannot-start",
        "submit": "cannot-start",
        "print": "cannot-start",
        "share": "cannot-start",
    }
    assert re.search(r"Next step:</strong> <a href=\"/organisations/\">Join your sending NGO</a>", html)
    assert "0 of 6 steps completed." in html


def test_the_steps_follow_the_volunteer(db_session, client, login, create_user, create_org, add_member):
    user = create_user("vol@example.org", locale="en")
    trainer = create_user("trainer@example.org", locale="en")
    ngo = create_org("Solidarité Monde")
    add_member(ngo, user, "volunteer")
    add_member(ngo, trainer, "trainer")
    _version, nodes = worlds.make_framework(db_session, slug="home-fw")
    mission = worlds.create_mission(user, sending_organisation_id=ngo.id)
    login(client, user)
    states = _states(client.get("/").get_data(as_text=True))
    assert states["join"] == states["mission"] == "done"
    assert states["claims"] == "not-started" and states["submit"] == "cannot-start"
    claims = worlds.create_claims(user, mission, nodes[:2])
    html = client.get("/").get_data(as_text=True)
    assert _states(html)["submit"] == "not-started"
    assert f'Next step:</strong> <a href="/experiences/{mission.id}">Submit for validation</a>' in html
    worlds.submit_claims(user, mission, ngo, claims)
    html = client.get("/").get_data(as_text=True)
    assert _states(html)["submit"] == "done" and "4 of 6 steps completed." in html
    assert "Print your documents" in html.split("Next step:")[1].split("</p>")[0]


def test_trainers_and_advisers_get_their_own_home(client, login, create_user, create_org, add_member):
    trainer = create_user("trainer@example.org", locale="en")
    add_member(create_org("Solidarité Monde"), trainer, "trainer")
    login(client, trainer)
    html = client.get("/").get_data(as_text=True)
    assert "task-list" not in html and 'href="/validation/reviews"' in html
    adviser = create_user("adviser@example.org", adviser=True, locale="en")
    other = client.application.test_client()
    login(other, adviser)
    html = other.get("/").get_data(as_text=True)
    assert "task-list" not in html and "Portfolios shared with you" in html


def test_the_tour_is_shown_once_dismissed_it_stays_away(client, login, create_user):
    login(client, create_user("new@example.org", locale="en"))
    assert "Welcome to Acquis: how it works" in client.get("/").get_data(as_text=True)
    assert client.post("/tour/dismiss").status_code == 302
    assert "Welcome to Acquis" not in client.get("/").get_data(as_text=True)


def test_the_menu_has_at_most_six_top_items_and_the_rest_in_a_disclosure(
    client, login, create_user, create_org, add_member
):
    user = create_user("all@example.org", adviser=True, platform_admin=True, totp=True, locale="en")
    add_member(create_org("Solidarité Monde"), user, "trainer")
    login(client, user)
    html = client.get("/").get_data(as_text=True)
    nav = html[html.index('<nav class="main-nav"') : html.index("</nav>")]
    top, more = nav.split('<li class="nav-more">')
    assert top.count("<li>") == tasklist_top() and top.count("<li>") + 1 <= 6
    assert "<details>" in more and "<summary>More</summary>" in more
    for path in ("/organisations/", "/frameworks/", "/survey/", "/auth/account", "/admin/"):
        assert f'href="{path}"' in nav, path


def tasklist_top() -> int:
    from app.core.templating import TOP_NAVIGATION_ITEMS

    return TOP_NAVIGATION_ITEMS


def test_confirming_the_address_prefills_the_sign_in_form(client, create_user):
    from app.auth.operations import VERIFY_PURPOSE
    from app.core.tokens import sign

    user = create_user("fresh@example.org", verified=False, locale="en")
    token = sign(VERIFY_PURPOSE, {"u": user.id, "e": user.email})
    response = client.get(f"/auth/verify/{token}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/login")
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'value="fresh@example.org"' in html
    assert 'value="fresh@example.org"' not in client.get("/auth/login").get_data(as_text=True)


def test_the_task_list_runs_one_statement(client, login, create_user):
    from tests.fixtures.statements import count_statements

    user = create_user("new@example.org", locale="en")
    login(client, user)
    with client.application.test_request_context(), count_statements() as statements:
        tasklist.progress_figures(user)
    assert len(statements) == 1
