"""Keep secrets carried in URLs out of the request logs.

Some links carry their key in the path: a share link (``/s/<token>``), a host referent's link, an invitation, a
password reset, an e-mail verification or change. Werkzeug's development server and gunicorn's access log print
the request line (and gunicorn the ``Referer`` too), so without care whoever reads the logs could open a shared
portfolio or reset a password. :class:`TokenRedactingFilter` replaces the token part of such paths with
``[redacted]`` in every record of the request loggers, before any handler formats it.

The token-bearing routes are read from the application's URL map (every rule with a ``<token>`` argument), plus
:data:`ALWAYS_REDACTED` so the well-known ones stay masked even before the routes are registered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "[redacted]"
#: Path prefixes whose next segment is a secret, whatever routes are registered.
ALWAYS_REDACTED = (
    "/s/",
    "/validation/referent/",
    "/organisations/invitations/",
    "/auth/password/reset/",
    "/auth/verify/",
    "/auth/account/email/",
)
#: Loggers that print request lines: the development server and gunicorn's access log.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")
_TOKEN_ARGUMENTS = ("token",)
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")


def token_prefixes(rules: Iterable[str]) -> list[str]:
    """The static part before the ``<token>`` argument of each rule that has one (``/s/<token>`` → ``/s/``)."""
    prefixes = []
    for rule in rules:
        for match in _RULE_ARGUMENT.finditer(rule):
            if match.group(1) in _TOKEN_ARGUMENTS:
                prefix = rule[: match.start()]
                if prefix.endswith("/") and "<" not in prefix:
                    prefixes.append(prefix)
                break
    return prefixes


def redaction_pattern(prefixes: Iterable[str]) -> re.Pattern:
    """Matches each prefix at the start of a path — a bare path after a space, a quote, ``=`` or ``(``, or the path
    of a full URL — and the segment after it (raw or percent-encoded) up to the next ``/``, ``?``, ``#``, ``&``,
    quote, angle bracket or whitespace. Group 1 is what precedes the path, group 2 the prefix."""
    alternatives = sorted({re.escape(p) for p in prefixes}, key=len, reverse=True)
    return re.compile(r"(^|[\s\"'=(]|://[^/\s\"']+)(" + "|".join(alternatives) + r")[^/?#&\s\"'<>]+")


class TokenRedactingFilter(logging.Filter):
    """Rewrites a record's message with the secret segments of token URLs masked (never drops a record)."""

    def __init__(self, prefixes: Iterable[str] = ALWAYS_REDACTED):
        super().__init__()
        self.pattern = redaction_pattern([*ALWAYS_REDACTED, *prefixes])

    def redact(self, text: str) -> str:
        return self.pattern.sub(lambda m: m.group(1) + m.group(2) + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's business, not ours
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def init_log_redaction(app) -> TokenRedactingFilter:
    """Install one filter (built from ``app``'s URL map) on the request loggers, replacing an earlier one."""
    redacting = TokenRedactingFilter(token_prefixes(rule.rule for rule in app.url_map.iter_rules()))
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, TokenRedactingFilter)]:
            logger.removeFilter(old)
        logger.addFilter(redacting)
    return redacting
