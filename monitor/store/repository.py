"""Every query the service makes, behind functions that take a Session and return frozen
values. One module per concept; this one gathers them so callers write ``repo.x``."""

from monitor.store.articles import *  # noqa: F403
from monitor.store.conditions import *  # noqa: F403
from monitor.store.feed_health import *  # noqa: F403
from monitor.store.feed_state import *  # noqa: F403
from monitor.store.items import *  # noqa: F403
from monitor.store.notices import *  # noqa: F403
from monitor.store.outbox import *  # noqa: F403
from monitor.store.stories import STORY_CANDIDATES, story_candidates  # noqa: F401
