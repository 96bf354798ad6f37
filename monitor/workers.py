"""Who this process is, for leases on feeds and deliveries shared through the database."""

from __future__ import annotations

import os
import socket
import uuid
from functools import lru_cache


@lru_cache(maxsize=1)
def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
