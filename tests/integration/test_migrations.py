"""Each service's Alembic migrations build exactly what its models declare (like ``alembic check``)."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grassroots.migrate import upgrade

SERVICES = ("intake", "review", "experts", "funding", "notify", "gateway")


@pytest.mark.parametrize("service", SERVICES)
def test_the_migrations_of_a_service_match_its_models(service, database_url):
    import importlib
    url = database_url(service)
    upgrade(service, url)
    metadata = importlib.import_module(f"{service}.models").Base.metadata
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == [], f"models and migrations of {service} differ: {diff}"
