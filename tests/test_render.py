from datetime import UTC, datetime

from monitor.entities import Alert, Evidence, Severity
from monitor.notify.render import one_line, render
from tests.conftest import REPO

ALERT = Alert(
    delivery_id=1,
    channel="desk",
    rule_id="troop-movements",
    rule_name="Troop movements",
    severity=Severity.high,
    headline="Belarus moves\r\nbrigades",
    source="Daily Test",
    url="http://e.org/a",
    published=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    evidence=(Evidence("brigade*", "text", "…two mechanised brigades toward…"),),
)


def test_alert_names_rule_headline_source_link_time_and_evidence() -> None:
    message = render(ALERT)
    assert message.title == "[high] Troop movements: Belarus moves brigades"
    for expected in (
        "Belarus moves brigades",
        "Rules: Troop movements (troop-movements), high",
        "Source: Daily Test",
        "Published: 2026-11-20 12:00 UTC",
        "Link: http://e.org/a",
        "- brigade* (text): …two mechanised brigades toward…",
    ):
        assert expected in message.body.splitlines()


def test_one_line_removes_header_injection_and_invisible_controls() -> None:
    assert one_line("a\r\nBcc: x@y\u202eevil\x00") == "a Bcc: x@yevil"
    assert len(one_line("x" * 1000)) == 300


def test_digests_never_make_a_link_of_a_non_http_url() -> None:
    from monitor.notify.render import DigestGroup, DigestStory, render_digest

    story = DigestStory("Click", "Evil", "javascript:alert(document.cookie)", "today", ())
    fine = DigestStory("Troops", "Wire", "https://wire.example/a", "today", ())
    groups = [DigestGroup("high", (story, fine))]
    for target in ("html", "md", "txt"):
        body = render_digest("desk", groups, target).body  # type: ignore[arg-type]
        assert "javascript:" not in body, target
        assert "https://wire.example/a" in body, target


def test_an_alert_on_a_revised_article_says_it_is_an_update_in_every_form() -> None:
    from dataclasses import replace

    updated = replace(ALERT, revision=3)
    assert render(updated).title == "[high] Troop movements: update: Belarus moves brigades"
    said = "Update: the outlet revised this article (revision 3)"
    for target in ("txt", "md", "html"):
        unescaped = render(updated, target).body.replace("\\", "")  # type: ignore[arg-type]
        assert said in unescaped  # Markdown escapes its punctuation
        assert "revised" not in render(ALERT, target).body  # type: ignore[arg-type]


def test_figures_and_places_are_a_line_in_every_form() -> None:
    from dataclasses import replace

    line = "≈9,000 troops · 2 battalions · Mazyr (BY)"
    alert = replace(ALERT, facts=line)
    assert f"Figures and places: {line}" in render(alert, "txt").body.splitlines()
    escaped = line.replace("(", "\\(").replace(")", "\\)")  # Markdown escaping, as for all
    assert escaped in render(alert, "md").body.splitlines()
    assert f"<p>{line}</p>" in render(alert, "html").body
    assert "Figures and places" not in render(ALERT, "txt").body  # none read: no line


def test_evidence_emphasis_follows_word_forms() -> None:
    from monitor.notify.render import emphasise

    parts = emphasise(Evidence("войско", "text", "Войска стянуты к границе, войсками командует"))
    assert [p.text for p in parts if p.em] == ["Войска", "войсками"]
    parts = emphasise(Evidence("troop", "text", "more troops and a troupe"))
    assert [p.text for p in parts if p.em] == ["troops"]


def test_a_long_digest_is_split_to_fit_each_channel_and_lists_each_story_once() -> None:
    from monitor.notify.render import DIGEST_LIMITS, DigestGroup, DigestStory, render_digests

    stories = [
        DigestStory(
            f"Story {n}: Belarus moves brigades toward the border, officials say",
            "Wire",
            f"https://wire.example/{n}",
            "2026-11-20 12:00 UTC",
            ("Second", "Ru"),
            ("Troop movements", "Belarus border activity"),
            ("en", "ru"),
            page=f"https://monitor.example/stories/{n}",
        )
        for n in range(612)
    ]
    groups = [
        DigestGroup("critical", tuple(stories[:12])),
        DigestGroup("high", tuple(stories[12:])),
    ]
    for target in ("md", "txt", "html"):
        parts = render_digests("desk", groups, target)  # type: ignore[arg-type]
        assert len(parts) > 1, target
        assert all(len(p.body) <= DIGEST_LIMITS[target] for p in parts), target  # type: ignore[index]
        assert parts[0].title.startswith("Digest for desk: ")
        assert parts[-1].title.endswith(f"({len(parts)}/{len(parts)})")
        text = "\n".join(p.body for p in parts)
        for n in (0, 11, 12, 611):
            assert text.count(f"Story {n}: ") == 1, (target, n)
            assert f"https://monitor.example/stories/{n}" in text
        assert "critical" in parts[0].body


def test_the_readme_shows_a_story_message_and_a_follow_up_as_the_code_renders_them() -> None:
    from dataclasses import replace

    story = Alert(
        1,
        "default",
        "troop-movements",
        "Troop movements",
        Severity.high,
        "Belarus and Russia begin joint drills near Brest with 9,000 troops",
        "Reuters",
        "https://www.reuters.com/world/europe/belarus-russia-drills-brest/",
        datetime(2026, 11, 20, 12, 5, tzinfo=UTC),
        (
            Evidence(
                "troop",
                "title",
                "Belarus and Russia begin joint drills near Brest with 9,000 troops",
            ),
            Evidence(
                "exercise*",
                "text",
                "…units started a joint exercise at the Brestsky training ground on Monday…",
            ),
        ),
        article_id=4182,
        story_id=4182,
        facts="≈9,000 troops · Brest (BY) · Brestsky range (BY)",
        language="en",
        story_rules=(
            ("belarus-border-activity", "Belarus border activity", Severity.high),
            ("troop-movements", "Troop movements", Severity.high),
        ),
        outlets=("Reuters", "Belta", "Ukrainska Pravda"),
        languages=("en", "ru", "uk"),
    )
    follow_up = replace(
        story,
        severity=Severity.critical,
        headline="Nuclear-capable Iskanders join the drills near Brest",
        source="AP",
        url="https://apnews.com/article/belarus-iskander-brest",
        published=datetime(2026, 11, 20, 14, 40, tzinfo=UTC),
        evidence=(
            Evidence(
                "nuclear NEAR/3 capable",
                "title",
                "Nuclear-capable Iskanders join the drills near Brest",
            ),
        ),
        story_rules=(("nuclear-weapons-belarus", "Nuclear weapons in Belarus", Severity.critical),),
        article_id=4230,
        outlets=("Reuters", "Belta", "Ukrainska Pravda", "AP"),
        followup="now critical: Nuclear weapons in Belarus",
        facts="Brest (BY)",
    )
    readme = (REPO / "README.md").read_text("utf-8")
    guide = (REPO / "docs/alerts.md").read_text("utf-8")
    for alert in (story, follow_up):
        message = render(alert, base_url="https://monitor.example.org")
        shown = f"TITLE: {message.title}\n{message.body}\n```"
        assert shown in readme and shown in guide, shown
