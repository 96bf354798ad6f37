"""WebSub (W3C): feeds whose hub pushes what is new, read within seconds of publication.

    poll (sources.rss)      the feed advertises a hub (Link header or <link rel="hub">):
                            kept on the feed row's state with its topic (rel="self")
    subscriber.run_pass     every few seconds, when MONITOR_BASE_URL is set and answers:
                            subscribe new ones, renew leases before they end, retry with
                            backoff, unsubscribe feeds removed from feeds.yaml (hub.py asks)
    callback (web app)      GET  /websub/<key>: the hub verifies an intent, we echo its
                                 challenge only for what we asked;
                            POST /websub/<key>: a notification, kept only when its
                                 X-Hub-Signature is the HMAC of the body with our secret
    claim (store)           a feed with a pushed body waiting is due at once; its poll reads
                            the body instead of fetching, through the same stages

Polling goes on at MONITOR_WEBSUB_POLL while a lease is live, so a hub that stops
pushing loses nothing. Hub URLs come from feeds and are vetted like any link (SSRF).
"""
