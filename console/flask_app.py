"""The console's Flask object, with what every request pays for nothing trimmed (issue #9).

Every request through Flask runs the same machinery: a dozen before/after hooks, the session cookie,
the security headers. `bench/request_cost.py` measures it (CPU per request, in process) and the
"Ingestion" section of bench/README.md says where it went. What is cut here changes no answer:

- Flask asks, for every hook, view and error handler it calls, whether the function is a coroutine
  (`inspect.iscoroutinefunction`, ~20 times a request); the answer never changes, so it is kept.
- A request that sends no session cookie gets an empty session without building the cookie's
  signer, and an empty session nobody touched is not "saved" (there was nothing to set, delete or
  vary on: the same response as Flask's own interface gives).
- Dash prepares itself on its first request through a `before_request` hook that does nothing ever
  after; `console.app` prepares every Dash app before serving, and then drops those hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

_SYNC_CACHE_LIMIT = 4096  # the app's hooks, views and error handlers: a few hundred at most


class LazySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, which opens a signer only for a request that sent the cookie."""

    def open_session(self, app: flask.Flask, request: flask.Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what the parent answers without a cookie, its signer unbuilt
        return super().open_session(app, request)

    def save_session(self, app: flask.Flask, session: SessionMixin, response: flask.Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # the parent would set, delete and vary nothing either
        super().save_session(app, session, response)


class OutfieldFlask(flask.Flask):
    """`flask.Flask` with the sync check of its callables remembered and the lazy session cookie."""

    session_interface = LazySessionInterface()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self._sync) < _SYNC_CACHE_LIMIT:
                self._sync[func] = sync
            return sync
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)


def drop_prepared_dash_hooks(server: flask.Flask, prepared: Iterable[Any]) -> None:
    """Remove the `before_request` hooks of Dash apps whose `_setup_server` already ran (no-ops from then on)."""
    done = [app._setup_server for app in prepared if app._got_first_request.get("setup_server")]  # noqa: SLF001
    hooks = server.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if hook not in done]
