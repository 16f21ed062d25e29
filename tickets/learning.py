"""Staff corrections as training examples, and the retrain / rollback of the NLU model.

Every correction (``LabelFeedback``: the review queue, the staff card's 改类别 / 紧急, grid members'
buttons, the console, 不是诉求) becomes one training example: the text with phone and ID numbers
masked (``nlu.pii.redact``, length-preserving so place spans stay valid), the corrected label, the
ticket's places when it is a demand, and who made it and when (in the example's ``source`` and in
the ``corrections.jsonl`` kept with each model version). The latest correction of a text wins. With
``LEARNING_REQUIRE_CONFIRMATION=true`` a label counts only once two different people gave it.

``retrain`` runs ``nlu.learning.retrain`` on these and records the version and what happened to it in
``model_versions`` / ``model_events``; ``start_retrain`` runs it in a separate process (the console
button, the weekly job on the supervision clock), so no request or clock pass waits for training.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlu.data import FEEDBACK_SOURCE, Example
from nlu.pii import redact
from tickets.models import LabelFeedback, ModelEvent, ModelVersion, Person, Ticket, utcnow
from tickets.settings import ROOT, VAR_DIR, Settings

#: The intent of "not a demand" corrections (data/nlu has narrower ones for notices and thanks).
NOT_DEMAND_INTENT = "chitchat"
_RESERVED = str.maketrans(
    {"[": "【", "]": "】", "(": "（", ")": "）", "\t": " ", "\r": " ", "\n": " "}
)


def label_of(corrected: dict[str, Any]) -> tuple[str, bool] | None:
    """``(intent, urgent)`` of a correction, None when it says nothing about the label."""
    if corrected.get("is_demand") and corrected.get("category"):
        return f"demand_{corrected['category']}", bool(corrected.get("urgent"))
    if corrected.get("is_demand") is False:
        return NOT_DEMAND_INTENT, False
    return None


def masked_example(text: str, locations: Iterable[dict[str, Any]]) -> tuple[str, list]:
    """The text with PII masked and markup characters replaced (same length), and the place spans
    ``(start, end)`` that still fit it (non-overlapping, in order)."""
    clean = redact(text).translate(_RESERVED)
    spans: list[tuple[int, int]] = []
    for loc in locations:
        start, end, value = loc.get("start"), loc.get("end"), loc.get("text")
        if not (isinstance(start, int) and isinstance(end, int) and value):
            continue
        if text[start:end] == value and not any(start < e and s < end for s, e in spans):
            spans.append((start, end))
    return clean, sorted(spans)


def markup(text: str, spans: list[tuple[int, int]]) -> str:
    """Rasa markup of a masked text with its place spans (whitespace collapsed)."""
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(f"[{text[start:end]}](location)")
        last = end
    out.append(text[last:])
    return " ".join("".join(out).split())


def _actor_label(session: Session, item: LabelFeedback) -> str:
    if item.actor_id is None:
        return item.source
    person = session.get(Person, item.actor_id)
    return f"{person.display_name or person.username or person.id}" if person else item.source


def correction_examples(session: Session, *, require_confirmation: bool = False) -> list[Example]:
    """Training examples from every stored correction (see the module docstring)."""
    rows = session.execute(
        select(LabelFeedback, Ticket)
        .outerjoin(Ticket, Ticket.id == LabelFeedback.ticket_id)
        .order_by(LabelFeedback.id)
    ).tuples()
    by_text: dict[str, list[tuple[LabelFeedback, Ticket | None, tuple[str, bool]]]] = {}
    for fb, tk in rows:
        found = label_of(fb.corrected or {})
        if found is None or not fb.text.strip():
            continue
        by_text.setdefault(" ".join(redact(fb.text).split()), []).append((fb, tk, found))
    out = []
    for items in by_text.values():
        item, ticket, label = items[-1]
        if require_confirmation:
            people = {
                (i.actor_id if i.actor_id is not None else f"{i.source}:{i.id}")
                for i, _, lab in items
                if lab == label
            }
            if len(people) < 2:
                continue
        intent, urgent = label
        places = (
            (ticket.locations or []) if ticket is not None and intent != NOT_DEMAND_INTENT else []
        )
        text, spans = masked_example(item.text, places)
        when = item.created_at.isoformat() if item.created_at else ""
        out.append(
            Example(
                text=text,
                intent=intent,
                urgent=urgent and intent != NOT_DEMAND_INTENT,
                locations=tuple(spans),
                source=f"{FEEDBACK_SOURCE}{item.id} {item.source} {_actor_label(session, item)} {when}",
                markup=markup(text, spans),
            )
        )
    return out


# ------------------------------------------------------------------------------ retrain, rollback


def registry_root(settings: Settings) -> Path:
    from nlu.registry import default_root

    return settings.model_registry or default_root()


def _log_event(
    session: Session,
    kind: str,
    version: str | None,
    actor: Person | None,
    label: str,
    now: datetime,
    **data: Any,
) -> ModelEvent:
    event = ModelEvent(
        at=now,
        kind=kind,
        version=version,
        actor_id=actor.id if actor else None,
        actor_label=(actor.display_name or actor.username or "") if actor else label,
        data=data,
    )
    session.add(event)
    return event


def sync_versions(session: Session, root: Path) -> None:
    """Mirror the registry's history into ``model_versions`` (a version imported or trained outside
    the database, e.g. ``nlu retrain --corrections FILE``, shows in the console too)."""
    from nlu.registry import Registry

    known = {v for v in session.scalars(select(ModelVersion.version))}
    for entry in Registry.open(root).history():
        if entry["version"] in known or entry["event"] == "rolled_back":
            continue
        known.add(entry["version"])
        session.add(
            ModelVersion(
                version=entry["version"],
                status=entry["event"],
                figures=entry.get("figures") or {},
                compared_with=entry.get("active_figures") or {},
                reasons=entry.get("reasons") or [],
                corrections=int(entry.get("corrections") or 0),
                examples=int(entry.get("examples") or 0),
                created_by_label=str(entry.get("by") or entry["event"]),
            )
        )


def retrain(
    session: Session,
    settings: Settings,
    *,
    actor: Person | None = None,
    label: str = "命令行",
    now: datetime,
    shipped: list[Example] | None = None,
    eval_records: list[dict[str, Any]] | None = None,
    seed: Path | bool | None = True,
) -> Any:
    """Retrain on data/nlu + every correction; returns ``nlu.learning.Outcome``. The caller commits."""
    from nlu.learning import retrain as run
    from nlu.registry import Registry
    from nlu.resources import DEFAULT_MODEL_DIR

    root = registry_root(settings)
    registry = Registry.open(root)
    # The first time, the model in use (BOT_NLU_MODEL_DIR or models/nlu) becomes version one.
    seed_dir = (settings.nlu_model_dir or DEFAULT_MODEL_DIR) if seed is True else seed or None
    if seed_dir is not None:
        registry.seed(seed_dir)
    sync_versions(session, root)
    corrections = correction_examples(
        session, require_confirmation=settings.learning_require_confirmation
    )
    by = (actor.display_name or actor.username or str(actor.id)) if actor else label
    outcome = run(
        corrections,
        registry=registry,
        shipped=shipped,
        eval_records=eval_records,
        tolerance=settings.learning_tolerance,
        by=by,
        seed=None,
    )
    row = session.scalar(select(ModelVersion).where(ModelVersion.version == outcome.candidate))
    if row is None:
        row = ModelVersion(version=outcome.candidate)
        session.add(row)
    row.status = "promoted" if outcome.promoted else "refused"
    row.figures = outcome.candidate_figures
    row.compared_with = outcome.active_figures or {}
    row.reasons = outcome.reasons
    row.corrections = outcome.corrections_used
    row.examples = outcome.examples
    row.created_at = now
    row.created_by_id = actor.id if actor else None
    row.created_by_label = by
    _log_event(
        session,
        row.status,
        outcome.candidate,
        actor,
        label,
        now,
        previous=outcome.active,
        reasons=outcome.reasons,
        figures=outcome.candidate_figures,
        compared_with=outcome.active_figures,
    )
    return outcome


def rollback(
    session: Session,
    settings: Settings,
    version: str,
    *,
    actor: Person | None,
    label: str,
    now: datetime,
) -> str | None:
    """Make ``version`` active again; returns the version it replaced."""
    from nlu.registry import Registry

    registry = Registry.open(registry_root(settings))
    previous = registry.active()
    by = (actor.display_name or actor.username or str(actor.id)) if actor else label
    registry.rollback(version, by=by)
    sync_versions(session, registry.root)
    _log_event(session, "rolled_back", version, actor, label, now, previous=previous)
    return previous


def history(session: Session, settings: Settings) -> tuple[list[ModelVersion], str | None]:
    """Every version, newest first, and the active one."""
    from nlu.registry import read_active

    root = registry_root(settings)
    sync_versions(session, root)
    rows = list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))
    return rows, read_active(root)


def events(session: Session, limit: int = 50) -> list[ModelEvent]:
    return list(session.scalars(select(ModelEvent).order_by(ModelEvent.id.desc()).limit(limit)))


def record_failure(session: Session, actor_id: int | None, label: str, error: str) -> None:
    actor = session.get(Person, actor_id) if actor_id else None
    _log_event(session, "failed", None, actor, label, utcnow(), error=error[:500])


def finished(settings: Settings) -> None:
    """Forget the pid of a retrain this process was (called by that process when it ends)."""
    pid_file = registry_root(settings) / "retrain.pid"
    with contextlib.suppress(OSError, ValueError):
        if int(pid_file.read_text().strip()) == os.getpid():
            pid_file.unlink()


def running(settings: Settings) -> bool:
    """A retrain started by ``start_retrain`` is still running."""
    pid_file = registry_root(settings) / "retrain.pid"
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


#: Retrain processes this process started (kept so that they are reaped when they end).
_JOBS: list[subprocess.Popen[bytes]] = []


def stop_retrain(settings: Settings, *, timeout: float = 30.0) -> bool:
    """Stop the running retrain (SIGTERM to its process group) and, when this process started it,
    wait for it to end; False when none was running."""
    pid_file = registry_root(settings) / "retrain.pid"
    try:
        pid = int(pid_file.read_text().strip())
        os.killpg(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return False
    for job in [j for j in _JOBS if j.pid == pid]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            job.wait(timeout=timeout)
        _JOBS.remove(job)
    with contextlib.suppress(OSError):
        pid_file.unlink()
    return True


def start_retrain(
    session: Session, settings: Settings, *, actor: Person | None, label: str, now: datetime
) -> bool:
    """Start ``python -m nlu retrain`` in its own process (False: one is running already). Its output
    goes to ``var/retrain.log``; the result is recorded by that process."""
    if running(settings):
        return False
    root = registry_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "nlu", "retrain", "--registry", str(root)]
    if actor is not None:
        command += ["--actor-id", str(actor.id)]
    else:
        command += ["--actor-label", label]
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    _JOBS[:] = [p for p in _JOBS if p.poll() is None]  # reap the finished ones
    with open(VAR_DIR / "retrain.log", "ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=log, env=env, start_new_session=True
        )
    _JOBS.append(process)
    (root / "retrain.pid").write_text(str(process.pid))
    _log_event(session, "requested", None, actor, label, now, pid=process.pid)
    return True
