"""The running service: the composition root (``app``), the scheduler of a long run
(``scheduler``) and one cycle of ``monitor run --once`` (``cycle``)."""
