"""Times on the dashboard, in one format: ``<time>`` elements that read in UTC without
script and in the viewer's own zone with it (``/local-time.js``: the page's CSP allows only
scripts from the dashboard itself)."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

FORMAT = "%Y-%m-%d %H:%M"
SCRIPT = """// Each <time data-local> in the viewer's own zone, in the dashboard's one format.
for (const t of document.querySelectorAll("time[data-local]")) {
  const d = new Date(t.getAttribute("datetime"));
  if (isNaN(d)) continue;
  const p = (n) => String(n).padStart(2, "0");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
  t.textContent = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())} ${zone}`;
}
"""


def when(value: datetime | None) -> Markup:
    """A moment as a ``<time>`` element (or "never")."""
    if value is None:
        return Markup("never")
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    label = f"{moment.astimezone(UTC).strftime(FORMAT)} UTC"
    return Markup(f'<time datetime="{escape(moment.isoformat())}" data-local>{label}</time>')
