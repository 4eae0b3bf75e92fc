"""Hand a push link to the outside world (an SMS/e-mail gateway) through a configured webhook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from services.field_service import FieldInputError


def webhook(url: str, *, timeout_s: float = 5.0) -> Callable[[dict[str, Any]], None]:
    """A notifier that POSTs the link as JSON to `url`; a failure is reported to the dispatcher."""

    def send(payload: dict[str, Any]) -> None:
        try:
            response = requests.post(url, json=payload, timeout=timeout_s, stream=True)  # the answer's body unread
            response.close()
        except requests.RequestException as exc:
            raise FieldInputError("send", f"the notification hook did not answer ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise FieldInputError("send", f"the notification hook answered {response.status_code}")

    return send
