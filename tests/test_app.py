"""Services opened for a run: what they set up for the tasks started inside them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sniffio

from monitor.config import Config
from monitor.service.app import open_services


def test_tasks_inside_the_services_name_their_async_library_without_sniffing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sniffio answers "asyncio" from its context variable in tasks started inside
    open_services (httpcore asks it several times per request), without calling
    asyncio.current_task; outside, it is unset again."""
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: F, url: 'http://127.0.0.1:9/rss'}\n", "utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yaml").write_text("name: A\nseverity: low\nmatch: {any: [tanks]}\n")
    config = Config(
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
        feeds_path=feeds,
        rules_dir=tmp_path / "rules",
    )
    sniffed: list[str] = []
    real = asyncio.current_task

    def counted(loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[object] | None:
        sniffed.append("current_task")
        return real(loop)

    async def go() -> tuple[str, str | None]:
        async with open_services(config, print):
            monkeypatch.setattr(asyncio, "current_task", counted)
            inside = await asyncio.create_task(_library())
            monkeypatch.undo()
        return inside, sniffio.current_async_library_cvar.get()

    inside, after = asyncio.run(go())
    assert inside == "asyncio" and sniffed == []
    assert after is None


async def _library() -> str:
    return sniffio.current_async_library()
