"""Consent to location tracking for the workers a test sends fixes for.

Consent is required by default (`OUTFIELD_CONSENT_REQUIRED`): a fix of a worker with no consent on record is
answered 200 but not kept. A test that sends fixes records consent first, here, as an admin records consent
given on paper: through `POST /api/v1/workers/{id}/consent` against a server or the in-process app (the
serving process then knows at once), or in the database for tests that drive the pipeline directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from data import privacy_repo, workers_repo
from data.db import make_engine, make_sessionmaker, session_scope
from dispatch.privacy import ConsentSource

TEXT_VERSION = "1"  # OUTFIELD_CONSENT_TEXT_VERSION's default
BEFORE_ANY_FIX = datetime(2000, 1, 1, tzinfo=UTC)  # a consent in the database predates every test's fixes


def consent_on_paper(
    post: Callable[..., Any], headers: Mapping[str, str], worker_ids: Iterable[int], *, url: str = ""
) -> None:
    """An admin (`headers`) records each worker's consent on paper. `post` is `requests.post` (with the
    server's `url`) or an in-process app's `app.http.post` (paths)."""
    for worker_id in worker_ids:
        answer = post(
            f"{url}/api/v1/workers/{worker_id}/consent",
            json={"given": True, "text_version": TEXT_VERSION},
            headers=dict(headers),
            timeout=5,
        )
        assert answer.status_code == 200, answer.text


def consent_all(
    get: Callable[..., Any], post: Callable[..., Any], headers: Mapping[str, str], *, url: str = ""
) -> list[dict[str, Any]]:
    """`consent_on_paper` for every worker the admin lists (`GET /api/v1/workers`); returns that list."""
    workers: list[dict[str, Any]] = get(f"{url}/api/v1/workers", headers=dict(headers), timeout=5).json()
    consent_on_paper(post, headers, [w["id"] for w in workers], url=url)
    return workers


def record_consent(session: Session, *worker_ids: int) -> None:
    """Consent on paper stored directly (as the endpoint stores it), for tests below the HTTP layer; the
    caller commits. A serving process that already cached these workers' consent learns it within its
    device cache, so record it before the worker's first fix."""
    for worker_id in worker_ids:
        privacy_repo.give_consent(
            session, worker_id=worker_id, text_version=TEXT_VERSION, at=BEFORE_ANY_FIX, source=ConsentSource.PAPER,
            by=None,
        )  # fmt: skip


def consent_everyone(database_url: str) -> None:
    """`record_consent` for every worker in the database at `database_url`, before a server that serves it starts
    (no process has cached their consent yet): for set-ups made through the CLI, and for the benchmarks."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            record_consent(session, *(w.id for w in workers_repo.list_workers(session)))
    finally:
        engine.dispose()
