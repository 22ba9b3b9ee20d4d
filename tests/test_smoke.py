def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_login_and_home(client, create_user, login):
    user = create_user(name="Camille")
    login(client, user)
    response = client.get("/")
    assert response.status_code == 200
    assert "Camille" in response.get_data(as_text=True)


def test_rollback_between_tests(db_session):
    import sqlalchemy as sa

    from app.auth.models import User

    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_outbox_after_commit(client, outbox):
    response = client.post(
        "/auth/register",
        data={
            "email": "new@example.org",
            "display_name": "New Person",
            "password": "violet harbour lantern 1987",
            "locale": "en",
        },
    )
    assert response.status_code == 302
    assert len(outbox) == 1
    assert "http://acquis.example/auth/verify/" in outbox[0].body
