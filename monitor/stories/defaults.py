"""When two articles report one story, unless monitor.yaml's ``stories:`` says otherwise."""

STORY_WINDOW = 12 * 3600.0  # seconds: articles further apart are different stories
STORY_SIMILARITY = 0.5  # share of equal MinHash values that makes a copy
