"""News monitoring with alerts.

An article flows fetch -> parse -> extract -> match -> store -> notify; each stage is a
module (``feeds.fetch``, ``feeds.parse``, ``extract``, ``rules``, ``store``, ``notify``) and
``pipeline`` owns their order.
"""

__version__ = "0.1.0"
