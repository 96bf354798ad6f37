"""The pipeline: one poll of one feed, from its source to stored articles and hits.

``poll.poll_feed`` owns the order (source, new entries, the per-article ``stages.STAGES``,
``storing``, the feed's ``outcomes``); ``context.Services`` is what a poll needs.
"""

from monitor.pipeline.context import Services
from monitor.pipeline.poll import PollReport, poll_feed, poll_safely
from monitor.pipeline.stages import STAGES, Draft, Stage, storable

__all__ = [
    "STAGES",
    "Draft",
    "PollReport",
    "Services",
    "Stage",
    "poll_feed",
    "poll_safely",
    "storable",
]
