"""Web Push to the workers' phones (pywebpush), with the server's VAPID key made once and kept in the database.

The only module that calls push services. A subscription the push service says is gone (404, 410) is
forgotten; any other failure is logged and the caller falls back to another channel. Payloads carry the
reminder's words, never a position.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from babel import support
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy.orm import Session, sessionmaker

from data import reminders_repo
from data.db import session_scope
from dispatch.clock import Clock

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
CATALOGUES = {"zh_CN": "zh_Hans_CN"}
"""A phone's language (as the field page names it) -> its catalogue under translations/ (console.i18n's)."""


@functools.cache
def _catalogue(language: str) -> support.Translations | None:
    folder = CATALOGUES.get(language)
    if folder is None:
        return None
    found = support.Translations.load(str(TRANSLATIONS), [folder])
    return found if isinstance(found, support.Translations) else None


def in_language(template: str, parts: Mapping[str, str], language: Any) -> str | None:
    """`template` in `language` with `parts` filled in; None when the catalogue has no such language or words."""
    catalogue = _catalogue(language) if isinstance(language, str) else None
    if catalogue is None:
        return None
    translated = catalogue.gettext(template)
    if translated == template:
        return None
    try:
        return translated.format(**parts)
    except (KeyError, IndexError, ValueError):
        return None


def vapid_keys(sessions: sessionmaker[Session], clock: Clock) -> tuple[str, str]:
    """(private key PEM, public applicationServerKey, base64url): made on first use, the same ever after."""
    with session_scope(sessions) as session:
        found = reminders_repo.vapid_key(session)
    if found is not None:
        return found
    vapid = Vapid()
    vapid.generate_keys()
    pem = vapid.private_pem().decode()
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    public = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with session_scope(sessions) as session:
        return reminders_repo.store_vapid_key(session, private_pem=pem, public_key=public, at=clock.now())


class WebPush:
    """Sends a JSON payload to every subscription of a worker; True when at least one push service took it."""

    def __init__(
        self, *, sessions: sessionmaker[Session], clock: Clock, subject: str = "mailto:outfield@localhost",
        send: Callable[..., Any] = webpush,
    ) -> None:  # fmt: skip
        self._sessions = sessions
        self._clock = clock
        self._subject = subject
        self._send = send

    def push(
        self, worker_id: int, payload: dict[str, Any], *, template: str | None = None, parts: Mapping[str, str] = {}
    ) -> bool:
        """Send `payload` to each of the worker's phones; its `body` in the phone's language when the phone said
        one at subscribing and the catalogue translates `template` (`body` is `template` with `parts` filled in)."""
        with session_scope(self._sessions) as session:
            subscriptions = reminders_repo.subscriptions_of(session, worker_id)
        if not subscriptions:
            return False
        pem, _public = vapid_keys(self._sessions, self._clock)
        key = Vapid.from_pem(pem.encode())
        delivered = False
        for stored in subscriptions:
            subscription = {k: v for k, v in stored.items() if k != "language"}
            body = in_language(template, parts, stored.get("language")) if template else None
            data = json.dumps({**payload, "body": body} if body else payload)
            try:
                self._send(subscription_info=subscription, data=data, vapid_private_key=key,
                           vapid_claims={"sub": self._subject}, timeout=TIMEOUT_S, ttl=3600)  # fmt: skip
                delivered = True
            except WebPushException as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status in (404, 410):
                    with session_scope(self._sessions) as session:
                        reminders_repo.drop_subscription(session, str(subscription.get("endpoint")))
                log.warning("web push to worker %s failed (%s)", worker_id, status or type(exc).__name__)
            except Exception as exc:  # a push service down must not stop the reminders of others
                log.warning("web push to worker %s failed (%s)", worker_id, type(exc).__name__)
        return delivered
