import pytest

from tests.portability.world import build_portfolio


@pytest.fixture
def world(db_session, create_user, create_org, add_member):
    return build_portfolio(db_session, create_user, create_org, add_member)
