"""Privacy use cases: users' team scopes, workers' consent to tracking, anonymising a leaver, exporting
everything held about a worker. Each is audited.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from data import audit_repo, field_repo, privacy_repo, users_repo, workers_repo
from data.db import session_scope
from dispatch.access import Actor, TeamScope
from dispatch.clock import Clock
from dispatch.errors import AppError
from dispatch.privacy import Consent, ConsentSource, ConsentState, consent_state
from realtime.bus import WORKERS, Bus
from realtime.retention import remove_files
from services import geojson

ConsentChanged = Callable[[int, ConsentState], None]


class PrivacyError(AppError):
    """An expected refusal of a privacy request: HTTP status, reason and the field it is about."""


def consent_json(
    state: ConsentState, latest: Consent | None, text_version: str, recorded_by: str | None = None
) -> dict[str, Any]:
    """`recorded_by`: the name of the office user who recorded a consent given on paper (None: the worker, on
    their push link)."""
    return {
        "state": state.value,
        "text_version": text_version,
        "given_text_version": latest.text_version if latest else None,
        "given_at": latest.given_at.isoformat() if latest else None,
        "source": latest.source.value if latest else None,
        "withdrawn_at": latest.withdrawn_at.isoformat() if latest and latest.withdrawn_at else None,
        "recorded_by": recorded_by,
    }


def _recorded_by(session: Session, latest: Consent | None) -> str | None:
    if latest is None or latest.given_by is None:
        return None
    actor = users_repo.get_actor(session, latest.given_by)
    return actor.name if actor is not None else None


class PrivacyService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        text_version: str,
        on_consent: ConsentChanged | None = None,
        bus: Bus | None = None,
        consent_required: bool = True,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.text_version = text_version
        self._on_consent = on_consent
        # A consent given or withdrawn is pushed to the live maps as a `worker` event: the marker says at once
        # whether the worker is tracked (OUTFIELD_CONSENT_REQUIRED decides for a worker with none on record).
        self._bus = bus
        self._consent_required = consent_required

    # --- team scopes ---

    def set_scope(self, *, actor: Actor, user_id: int, scope: TeamScope) -> Actor:
        """Set which teams a user sees; PrivacyError 404 for an unknown user. Audited."""
        with session_scope(self._sessions) as session:
            try:
                changed = users_repo.set_scope(session, user_id=user_id, scope=scope)
            except ValueError as exc:
                raise PrivacyError(404, str(exc).split(": ", 1)[1]) from None
            audit_repo.record(
                session, actor_id=actor.id, action="set-team-scope", subject_type="user", subject_id=user_id,
                at=self._clock.now(), details={"all_teams": scope.all_teams, "teams": sorted(scope.teams)},
            )  # fmt: skip
        return changed

    # --- consent ---

    def consent(self, worker_id: int) -> dict[str, Any] | None:
        """The worker's consent state and latest consent; None for an unknown worker."""
        with session_scope(self._sessions) as session:
            if not privacy_repo.anonymised_at(session, worker_id)[0]:
                return None
            latest = privacy_repo.latest_consent(session, worker_id)
            by_name = _recorded_by(session, latest)
        return consent_json(consent_state(latest), latest, self.text_version, by_name)

    def consent_states(self) -> dict[int, ConsentState]:
        with session_scope(self._sessions) as session:
            return privacy_repo.consent_states(session)

    def record_consent(
        self, *, worker_id: int, given: bool, text_version: str, source: ConsentSource, actor: Actor | None
    ) -> dict[str, Any]:
        """Give (under `text_version`) or withdraw the worker's consent; audited with who and how.

        PrivacyError 404 for an unknown or anonymised worker, 409 when withdrawing with nothing given.
        """
        now = self._clock.now()
        by = actor.id if actor is not None else None
        with session_scope(self._sessions) as session:
            exists, when = privacy_repo.anonymised_at(session, worker_id)
            if not exists or when is not None:
                raise PrivacyError(404, f"no worker with id {worker_id}")
            if given:
                latest: Consent | None = privacy_repo.give_consent(
                    session, worker_id=worker_id, text_version=text_version, at=now, source=source, by=by
                )
            else:
                latest = privacy_repo.withdraw_consent(session, worker_id=worker_id, at=now, by=by)
                if latest is None:
                    raise PrivacyError(409, "given: there is no current consent to withdraw", "given")
            audit_repo.record(
                session, actor_id=by, action="give-consent" if given else "withdraw-consent", subject_type="worker",
                subject_id=worker_id, at=now, details={"text_version": text_version, "source": source.value},
            )  # fmt: skip
            by_name = _recorded_by(session, latest)
        state = consent_state(latest)
        if self._on_consent is not None:
            self._on_consent(worker_id, state)
        self._publish_worker(worker_id, state, now)
        return consent_json(state, latest, self.text_version, by_name)

    def _publish_worker(self, worker_id: int, state: ConsentState, now: datetime) -> None:
        if self._bus is None:
            return
        with session_scope(self._sessions) as session:
            worker = workers_repo.get_worker(session, worker_id)
        if worker is not None:
            why = geojson.untracked_reason(state, required=self._consent_required)
            self._bus.publish(WORKERS, geojson.worker_message(worker, now, why))

    # --- anonymising a leaver ---

    def anonymise(self, *, actor: Actor, worker_id: int) -> dict[str, Any]:
        """Anonymise a leaver for good; PrivacyError 404 unknown, 409 already done. Audited with the counts."""
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            exists, when = privacy_repo.anonymised_at(session, worker_id)
            if not exists:
                raise PrivacyError(404, f"no worker with id {worker_id}")
            if when is not None:
                raise PrivacyError(409, f"worker {worker_id} was already anonymised at {when.isoformat()}")
            done = privacy_repo.anonymise(session, worker_id=worker_id, at=now)
            field_repo.revoke_links(session, worker_id=worker_id, at=now)  # their open pages stop too
            audit_repo.record(
                session, actor_id=actor.id, action="anonymise-worker", subject_type="worker", subject_id=worker_id,
                at=now, details={"removed": done.counts},
            )  # fmt: skip
        files = remove_files(done.files)
        if self._on_consent is not None:
            self._on_consent(worker_id, ConsentState.WITHDRAWN)  # nothing of theirs is kept from now on
        return {"worker_id": worker_id, "anonymised_at": now.isoformat(), "removed": {**done.counts, "files": files}}

    # --- export ---

    def export(self, *, actor: Actor | None, worker_id: int) -> bytes | None:
        """A zip of everything held about the worker (JSON per table, CSV for the tabular ones, and the
        photo and signature files); None for an unknown worker. Audited."""
        with session_scope(self._sessions) as session:
            data = privacy_repo.export_data(session, worker_id=worker_id)
            if data is None:
                return None
            audit_repo.record(
                session, actor_id=actor.id if actor else None, action="export-worker-data", subject_type="worker",
                subject_id=worker_id, at=self._clock.now(), details={k: len(v) for k, v in data.items()},
            )  # fmt: skip
        return export_zip(worker_id, data, exported_at=self._clock.now().isoformat())


def export_zip(worker_id: int, data: dict[str, list[dict[str, Any]]], *, exported_at: str) -> bytes:
    """data.json (every table), one CSV per table, and files/ with the photos and signatures still on disk."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json",
            json.dumps({"worker_id": worker_id, "exported_at": exported_at, "tables": data}, indent=1, default=str),
        )
        for name, rows in data.items():
            out = io.StringIO()
            columns = sorted({k for row in rows for k in row})
            writer = csv.DictWriter(out, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
            archive.writestr(f"{name}.csv", out.getvalue())
        paths = [(f"photos/{r['id']}-{kind}", r.get(kind)) for r in data["photos"] for kind in ("path",)]
        paths += [(f"signatures/report-{r['id']}", r.get("signature_path")) for r in data["service_reports"]]
        for name, path in paths:
            if path and Path(path).is_file():
                archive.write(path, f"files/{name}{Path(path).suffix}")
    return buffer.getvalue()
