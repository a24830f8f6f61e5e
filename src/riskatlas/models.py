"""Import every domain's models so the metadata knows all tables (Alembic, create_all)."""

from riskatlas.catalog import models as catalog  # noqa: F401
from riskatlas.parties import models as parties  # noqa: F401
