"""`alembic upgrade head` on an empty database gives exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import riskatlas.models  # noqa: F401
from riskatlas.db import Base, get_engine
from riskatlas.migrate import include_object


def test_migrations_match_models(db_url: str) -> None:
    with get_engine(db_url).connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": include_object})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
