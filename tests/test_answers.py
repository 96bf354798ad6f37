"""A refused delivery says what the other side answered, the same way each time, and
apprise's debug lines (which carry the channel's URL) never reach the service's log."""

from __future__ import annotations

import logging
import re

import pytest

from monitor.errors import DeliveryError
from monitor.notify.channels import AppriseTransport
from monitor.notify.render import Message
from tests.servers import http_server


def test_the_servers_answer_is_kept_and_reads_the_same_each_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    before = logging.getLogger("apprise").level
    with http_server() as hook:
        hook.post_status, hook.post_body = 554, b"554 rejected: policy"
        url = f"json://127.0.0.1:{hook.port}/hook"
        errors = []
        for _ in range(2):
            with pytest.raises(DeliveryError) as raised:
                AppriseTransport().send("desk", url, Message("t", "b", "txt"))
            errors.append(raised.value.detail)
    assert errors[0] == errors[1]
    assert "error=554" in errors[0] and "554 rejected: policy" in errors[0]
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", errors[0])  # no timestamps
    assert str(hook.port) not in errors[0]
    leaked = [r for r in caplog.records if r.name.startswith("apprise")]
    assert leaked == []  # nor its debug lines with the URL, nor its warning twice
    assert logging.getLogger("apprise").level == before
