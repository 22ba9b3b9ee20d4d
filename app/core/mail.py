"""Outgoing e-mail: rendered in the recipient's language, sent only once the transaction commits.

Operations call :func:`queue_email`; the message is rendered at once (so a template error fails the request)
and delivered after the database commit, so nobody receives a link to something that was rolled back. With
``MAIL_SERVER`` set, messages go through SMTP; without it they are written to ``instance/mail/`` (the
development sink), which is what development and the demo use. The application log never holds a recipient, a
subject or a body (only the sink file's name), and erasing an account purges the sink of every message naming
the person (:func:`purge_mail_sink`).
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app, render_template

from app.core.db import after_commit, utcnow
from app.core.i18n import force_locale

logger = logging.getLogger("acquis.mail")


@dataclass(frozen=True)
class OutgoingEmail:
    """A rendered message waiting for the commit."""

    recipient: str
    subject: str
    body: str
    language: str


def render_email(template: str, *, recipient: str, language: str, subject, **context) -> OutgoingEmail:
    """Render ``templates/emails/<template>.txt`` and its subject in ``language``.

    :param subject: a lazy string (``_l(...)``) or a callable returning the subject, evaluated in ``language``.
    """
    with force_locale(language):
        subject_text = str(subject() if callable(subject) else subject)
        body = render_template(f"emails/{template}.txt", language=language, **context)
    return OutgoingEmail(recipient=recipient, subject=subject_text, body=body, language=language)


def queue_email(template: str, *, recipient: str, language: str, subject, **context) -> OutgoingEmail:
    """Render a message now and deliver it after the current transaction commits."""
    message = render_email(template, recipient=recipient, language=language, subject=subject, **context)
    after_commit(lambda: _deliver_committed(message))
    return message


def deliver(message: OutgoingEmail) -> None:
    """Send one message now, through SMTP or the development sink."""
    email = _build_message(message)
    if current_app.config.get("MAIL_SERVER"):
        _send_smtp(email)
    else:
        _write_to_sink(email, message)


def _build_message(message: OutgoingEmail) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = make_msgid(domain="acquis.localhost")
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    email["Content-Language"] = message.language  # after set_content, which drops every Content-* header
    return email


def _send_smtp(email: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


def _write_to_sink(email: EmailMessage, message: OutgoingEmail) -> None:
    sink = Path(current_app.config["MAIL_SINK_DIR"])
    sink.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
    (sink / name).write_bytes(bytes(email))
    # The file name only: logs are kept and copied more widely than the sink, and erasure cannot reach them.
    logger.info("mail written to the development sink: %s", name)


def purge_mail_sink(directory: str | None, needles) -> int:
    """Delete the sink files that mention one of ``needles`` (an erased person's address and name); how many.

    Messages are searched as sent (headers may fold or encode a name), and as decoded text.
    """
    if not directory or not Path(directory).is_dir():
        return 0
    wanted = [n.lower() for n in needles if n]
    removed = 0
    for path in Path(directory).glob("*.eml"):
        raw = path.read_bytes()
        try:
            parsed = BytesParser(policy=policy.default).parsebytes(raw)
            text = "\n".join(
                [str(v) for v in parsed.values()]
                + [part.get_content() for part in parsed.walk() if part.get_content_maintype() == "text"]
            )
        except (LookupError, ValueError):
            text = ""
        haystack = (raw.decode("utf-8", "replace") + "\n" + text).lower()
        if any(n in haystack for n in wanted):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _deliver_committed(message: OutgoingEmail) -> None:
    try:
        deliver(message)
    except (OSError, smtplib.SMTPException):
        # The data is committed; a failed delivery must not turn the request into an error.
        logger.exception("could not deliver mail (a message in %s; no recipient logged)", message.language)
