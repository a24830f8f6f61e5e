"""Import every domain's models so the metadata knows all tables (Alembic, create_all)."""

from riskatlas import generation  # noqa: F401
from riskatlas.audit import models as audit  # noqa: F401
from riskatlas.catalog import models as catalog  # noqa: F401
from riskatlas.exchange import models as exchange  # noqa: F401
from riskatlas.governance import models as governance  # noqa: F401
from riskatlas.parties import models as parties  # noqa: F401
from riskatlas.search import models as search  # noqa: F401
from riskatlas.sharing import models as sharing  # noqa: F401
from riskatlas.warning import models as warning  # noqa: F401
