"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

from .engine import describe_url as describe_url
from .engine import make_engine as make_engine
from .engine import parse_database_url as parse_database_url
from .migrate import (
    current_revision as current_revision,
)
from .migrate import (
    downgrade as downgrade,
)
from .migrate import (
    head_revision as head_revision,
)
from .migrate import (
    is_known_revision as is_known_revision,
)
from .migrate import (
    open_store as open_store,
)
from .migrate import (
    require_current_schema as require_current_schema,
)
from .migrate import (
    upgrade as upgrade,
)
from .models import (
    Anime as Anime,
)
from .models import (
    CrawlError as CrawlError,
)
from .models import (
    CrawlRun as CrawlRun,
)
from .models import (
    CrawlUser as CrawlUser,
)
from .models import (
    Favorite as Favorite,
)
from .models import (
    LibraryEntry as LibraryEntry,
)
from .models import (
    SegmentRun as SegmentRun,
)
from .models import (
    User as User,
)
from .models import (
    UserSegment as UserSegment,
)
from .models import (
    metadata as metadata,
)
from .models import (
    table as table,
)
from .stats import store_stats as store_stats
from .upsert import upsert as upsert

__all__ = ["Anime", "CrawlError", "CrawlRun", "CrawlUser", "Favorite", "LibraryEntry", "SegmentRun", "User",
    "UserSegment", "current_revision", "describe_url", "downgrade", "head_revision", "is_known_revision",
    "make_engine", "metadata", "open_store", "parse_database_url", "require_current_schema", "store_stats", "table",
    "upgrade", "upsert"]
