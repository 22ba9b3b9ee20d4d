"""The portfolio pages run the same number of SQL statements with 10 and with 300 claims (no N+1 queries).

The data grows in bulk (Core inserts): more experiences, more claims on the measured experience and on others,
more evidence files, more evidence on the measured claim, claims in three frameworks with and without levels and
narratives, missions without claims (dashboard hints).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.fixtures.statements import count_statements

SMALL, LARGE = 10, 300
PER_EXPERIENCE = 60
COMPETENCIES = Path(__file__).resolve().parents[1] / "competencies"


@pytest.fixture(scope="module")
def shipped():
    from app.frameworks.importers.yaml_format import parse_files

    return parse_files([COMPETENCIES])


class Portfolio:
    """A volunteer's portfolio that grows to ``n`` claims on demand."""

    def __init__(self, owner, nodes):
        self.owner, self.nodes = owner, nodes
        self.experiences: list[int] = []
        self.claims = 0
        self.evidence: list[int] = []
        self.main_experience = self._add_experiences(1)[0]
        self.main_claim = None

    def _add_experiences(self, count: int) -> list[int]:
        from app.experiences.models import Experience
        from app.extensions import db

        start = len(self.experiences)
        rows = [
            dict(
                owner_id=self.owner.id,
                kind="mission" if i % 3 else "training",
                title=f"Experience {i:03d}",
                start_date=date(2015, 1, 1) + timedelta(days=30 * i),
                end_date=date(2015, 1, 1) + timedelta(days=30 * i + 20),
                status_code="VSI" if i % 3 else None,
                host_country="PE" if i % 3 else "",
                provider="" if i % 3 else "F3E",
                training_kind=None if i % 3 else "return",
            )
            for i in range(start, start + count)
        ]
        ids = db.session.scalars(sa.insert(Experience).returning(Experience.id), rows).all()
        self.experiences.extend(ids)
        return ids

    def grow(self, n: int) -> None:
        from app.claims.models import Claim, Evidence, claim_evidence
        from app.extensions import db

        # Evidence: one file for every two claims
        wanted_evidence = n // 2
        new_evidence = [
            dict(
                owner_id=self.owner.id,
                title=f"Evidence {i:03d}",
                original_filename=f"evidence-{i}.pdf",
                storage_key=f"{i:032x}",
                sha256="0" * 64,
                size=1000 + i,
                mime="application/pdf" if i % 2 else "image/png",
                pages=1 if i % 2 else None,
            )
            for i in range(len(self.evidence), wanted_evidence)
        ]
        if new_evidence:
            self.evidence += db.session.scalars(sa.insert(Evidence).returning(Evidence.id), new_evidence).all()
        # Claims: the measured experience takes up to PER_EXPERIENCE, further experiences the rest
        rows, links = [], []
        while self.claims < n:
            k = self.claims
            experience_index, node_index = divmod(k, PER_EXPERIENCE)
            while experience_index >= len(self.experiences):
                self._add_experiences(1)
            node = self.nodes[node_index]
            rows.append(
                dict(
                    owner_id=self.owner.id,
                    experience_id=self.experiences[experience_index],
                    node_id=node.id,
                    level_rank=(k % 4) + 1 if node.version.levels else None,
                    situation=f"Situation {k}" if k % 3 else "",
                    reflection=f"Reflection {k}" if k % 5 else "",
                    state="draft",
                    version=1,
                )
            )
            self.claims += 1
        if rows:
            ids = db.session.scalars(sa.insert(Claim).returning(Claim.id), rows).all()
            if self.main_claim is None:
                self.main_claim = ids[0]
            links += [
                {"claim_id": claim_id, "evidence_id": self.evidence[i % len(self.evidence)]}
                for i, claim_id in enumerate(ids)
                if i % 2 and self.evidence
            ]
        # The measured claim carries every evidence file
        attached = set(
            db.session.scalars(
                sa.select(claim_evidence.c.evidence_id).where(claim_evidence.c.claim_id == self.main_claim)
            )
        ) | {link["evidence_id"] for link in links if link["claim_id"] == self.main_claim}
        links += [{"claim_id": self.main_claim, "evidence_id": e} for e in self.evidence if e not in attached]
        if links:
            db.session.execute(sa.insert(claim_evidence), links)
        # Missions without claims, for the dashboard's hints
        self._add_experiences(max(1, n // 30))
        db.session.commit()  # only releases a savepoint of the test's transaction
        db.session.expire_all()


@pytest.fixture
def portfolio(app, shipped, create_user, login):
    from app.claims.operations import CLAIMABLE_KINDS
    from app.extensions import db
    from app.frameworks import operations as framework_ops
    from app.frameworks.models import FrameworkNode, FrameworkVersion

    framework_ops.import_batch(*shipped)
    nodes = db.session.scalars(
        sa.select(FrameworkNode)
        .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
        .where(FrameworkNode.kind.in_(CLAIMABLE_KINDS))
        .options(sa.orm.selectinload(FrameworkNode.version))
        .order_by(FrameworkNode.id)
    ).all()
    # Interleave the frameworks so that every experience has claims in several of them
    nodes = sorted(nodes, key=lambda n: (nodes.index(n) % 7, n.id))
    assert len(nodes) >= PER_EXPERIENCE
    owner = create_user(locale="en")
    client = app.test_client()
    login(client, owner)
    result = Portfolio(owner, nodes)
    result.client = client
    return result


PAGES = {
    "dashboard": lambda p: "/portfolio/",
    "experiences": lambda p: "/experiences/",
    "experience": lambda p: f"/experiences/{p.main_experience}",
    "evidence-library": lambda p: "/portfolio/evidence",
    "claim": lambda p: f"/portfolio/claims/{p.main_claim}",
}


def statements_for(client, url: str) -> list[str]:
    with count_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return statements


#: Measured on the pages (filled by the tests, printed with -s): page -> (small, large).
MEASURED: dict[str, tuple[int, int]] = {}


@pytest.mark.parametrize("page", list(PAGES))
def test_portfolio_page_statement_count_does_not_grow(portfolio, page):
    portfolio.grow(SMALL)
    url = PAGES[page](portfolio)
    statements_for(portfolio.client, url)  # warm-up: first-request work is not what is measured
    small = statements_for(portfolio.client, url)
    portfolio.grow(LARGE)
    assert PAGES[page](portfolio) == url
    large = statements_for(portfolio.client, url)
    MEASURED[page] = (len(small), len(large))
    print(f"\n{page}: {len(small)} statements with {SMALL} claims, {len(large)} with {LARGE}")
    assert len(large) == len(small), "\n".join(
        [f"{len(small)} statements with {SMALL} claims, {len(large)} with {LARGE}; extra:", *large[len(small) :]]
    )


def test_the_data_really_grows(portfolio):
    from app.claims.models import Claim, Evidence
    from app.extensions import db

    portfolio.grow(SMALL)
    portfolio.grow(LARGE)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) == LARGE
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == LARGE // 2
    html = portfolio.client.get(f"/experiences/{portfolio.main_experience}").get_data(as_text=True)
    assert html.count("/portfolio/claims/") >= PER_EXPERIENCE
    claim_page = portfolio.client.get(f"/portfolio/claims/{portfolio.main_claim}").get_data(as_text=True)
    assert claim_page.count("/portfolio/evidence/") == LARGE // 2
