"""The configuration in force, as ``monitor config check`` prints it: each setting's value
from the environment or its default, with what would give an attacker access masked
(passwords in URLs, tokens, keys, password hashes, channel URLs, which carry tokens)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from monitor.config.settings import CHANNEL_PREFIX, SETTINGS, split

HIDDEN = "set (hidden)"
SECRETS = frozenset({"MONITOR_WEB_TOKEN", "MONITOR_WEB_SECRET"})
_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]+@")


def mask(variable: str, raw: str) -> str:
    """The value as it may be shown in a terminal or a log."""
    if variable in SECRETS:
        return HIDDEN
    if variable == "MONITOR_WEB_USERS":
        names = [entry.split(":", 1)[0] for entry in split(raw)]
        return f"{', '.join(names)} (password hashes hidden)"
    if variable.startswith(CHANNEL_PREFIX):
        schemes = [url.split("://", 1)[0] + "://…" if "://" in url else "…" for url in split(raw)]
        return f"{', '.join(schemes)} (addresses and tokens hidden)"
    return _PASSWORD.sub(r"\1:***@", raw)


def effective_settings(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(variable, value shown, "environment" or "default") for every setting and every
    configured channel."""
    rows = []
    for setting in SETTINGS:
        if "<" in setting.env:
            continue
        raw = env.get(setting.env, "").strip()
        if raw:
            rows.append((setting.env, mask(setting.env, raw), "environment"))
        else:  # defaults hold no secrets
            rows.append((setting.env, setting.shown_default or "(none)", "default"))
    channels = sorted(k for k in env if k.startswith(CHANNEL_PREFIX) and env[k].strip())
    rows += [(k, mask(k, env[k]), "environment") for k in channels]
    return rows
