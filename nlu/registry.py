"""The models registry: every trained NLU model kept as a version, one of them active.

    <root>/versions/<version>/    a model directory (nlu.pipeline), named by its version
    <root>/registry.json          {"active": version, "history": [entry, …]} (written atomically)
    <root>/ACTIVE                 the active version alone, for cheap polling by serving processes

``root`` is ``$MINWEI_MODEL_REGISTRY`` or ``<repo>/models/registry``. A history entry records what
happened to a version (``imported``, ``promoted``, ``refused``, ``rolled_back``), when, its figures on
the frozen evaluation set and why. Serving processes (the bot's group classifier, the console, Rasa's
MinweiClassifier) hold a ``LiveModel``: it re-reads ``ACTIVE`` at most every few seconds and loads the
new version in the background of the request that notices it, so a promotion or a rollback reaches
them without a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.errors import ModelNotFound, NluError
from nlu.resources import DEFAULT_MODEL_DIR, ROOT

REGISTRY_ENV = "MINWEI_MODEL_REGISTRY"
DEFAULT_REGISTRY = ROOT / "models" / "registry"


class RegistryError(NluError):
    pass


def default_root() -> Path:
    value = os.environ.get(REGISTRY_ENV)
    return Path(value) if value else DEFAULT_REGISTRY


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + path.name, dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def model_version(directory: Path) -> str:
    try:
        return str(json.loads((directory / "model.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError) as e:
        raise ModelNotFound(f"no NLU model in {directory}") from e


@dataclass
class Registry:
    root: Path

    @classmethod
    def open(cls, root: Path | str | None = None) -> Registry:
        registry = cls(Path(root) if root is not None else default_root())
        (registry.root / "versions").mkdir(parents=True, exist_ok=True)
        return registry

    # ----------------------------------------------------------------------------------- reading

    def _state(self) -> dict[str, Any]:
        path = self.root / "registry.json"
        if not path.is_file():
            return {"active": None, "history": []}
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state

    def active(self) -> str | None:
        active = self._state().get("active")
        return str(active) if active else None

    def history(self) -> list[dict[str, Any]]:
        """Entries, oldest first."""
        return list(self._state()["history"])

    def versions(self) -> list[str]:
        return sorted(p.name for p in (self.root / "versions").iterdir() if p.is_dir())

    def path(self, version: str) -> Path:
        directory = self.root / "versions" / version
        if not (directory / "model.json").is_file():
            raise RegistryError(f"没有这个模型版本：{version}")
        return directory

    def active_dir(self) -> Path | None:
        active = self.active()
        return self.path(active) if active else None

    def figures(self, version: str) -> dict[str, Any] | None:
        """The figures recorded last for ``version`` (None when it was never evaluated)."""
        for entry in reversed(self.history()):
            if entry["version"] == version and entry.get("figures"):
                return dict(entry["figures"])
        return None

    # ----------------------------------------------------------------------------------- writing

    def _save(self, state: dict[str, Any]) -> None:
        _write_atomic(
            self.root / "registry.json", json.dumps(state, ensure_ascii=False, indent=2) + "\n"
        )
        _write_atomic(self.root / "ACTIVE", (state.get("active") or "") + "\n")

    def add(self, model_dir: Path) -> str:
        """Copy a trained model directory in (a no-op when that version is already here)."""
        version = model_version(model_dir)
        target = self.root / "versions" / version
        if not (target / "model.json").is_file():
            work = Path(tempfile.mkdtemp(prefix=".adding-", dir=self.root / "versions"))
            try:
                shutil.copytree(model_dir, work / "model")
                shutil.rmtree(target, ignore_errors=True)
                (work / "model").rename(target)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return version

    def record(self, version: str, event: str, *, activate: bool = False, **data: Any) -> dict:
        """Append a history entry (and make ``version`` the active one when ``activate``)."""
        self.path(version)
        with self._lock():
            state = self._state()
            previous = state.get("active")
            if activate:
                state["active"] = version
            entry = {"version": version, "event": event, "at": _now(), "previous": previous}
            entry.update(data)
            state["history"].append(entry)
            self._save(state)
        return entry

    def seed(self, model_dir: Path | None = None) -> str | None:
        """With no active version yet, import ``model_dir`` (default models/nlu) as the active one."""
        if self.active():
            return self.active()
        source = model_dir or DEFAULT_MODEL_DIR
        if not (source / "model.json").is_file():
            return None
        version = self.add(source)
        self.record(version, "imported", activate=True, source=str(source))
        return version

    def rollback(self, version: str, *, by: str = "", reason: str = "") -> dict:
        """Make an earlier version active again."""
        self.path(version)
        if version == self.active():
            raise RegistryError(f"{version} 已经是当前模型")
        return self.record(
            version, "rolled_back", activate=True, by=by, reason=reason or "管理员回滚"
        )

    class _Lock:
        def __init__(self, path: Path) -> None:
            self.path = path

        def __enter__(self) -> None:
            deadline = time.monotonic() + 30
            while True:
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    os.write(fd, str(os.getpid()).encode())
                    os.close(fd)
                    return
                except FileExistsError:
                    if time.monotonic() > deadline:
                        raise RegistryError(f"registry locked: {self.path}") from None
                    time.sleep(0.05)

        def __exit__(self, *exc: object) -> None:
            self.path.unlink(missing_ok=True)

    def _lock(self) -> Registry._Lock:
        return Registry._Lock(self.root / ".registry.lock")


def read_active(root: Path) -> str | None:
    """The active version from ``<root>/ACTIVE`` (None when there is no registry or none is active)."""
    try:
        return (root / "ACTIVE").read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class LiveModel:
    """A loaded pipeline that follows the registry's active version.

    ``get()`` returns the pipeline to use now; at most every ``check_seconds`` it reads ``ACTIVE``,
    and when that names another version than the one loaded it loads it (in the calling thread, while
    other threads keep using the old pipeline) and swaps. A version that fails to load is logged and
    the old pipeline kept. Without a registry (no ``ACTIVE``) it keeps serving ``pipeline``.
    """

    def __init__(
        self,
        pipeline: Any,
        *,
        root: Path | None = None,
        check_seconds: float = 10.0,
        loader: Callable[[Path], Any] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root if root is not None else default_root()
        self.pipeline = pipeline
        self.version = str(getattr(pipeline, "version", "")) or None
        self.check_seconds = check_seconds
        self._loader = loader
        self._log = log or (lambda m: None)
        self._swap = threading.Lock()
        self._checked = float("-inf")

    def _load(self, directory: Path) -> Any:
        if self._loader is not None:
            return self._loader(directory)
        from nlu.pipeline import load_pipeline

        return load_pipeline(directory)

    def get(self) -> Any:
        now = time.monotonic()
        if now - self._checked >= self.check_seconds and self._swap.acquire(blocking=False):
            try:
                self._checked = now
                active = read_active(self.root)
                if active and active != self.version:
                    try:
                        pipeline = self._load(self.root / "versions" / active)
                        pipeline.classify(["启动预热"])
                    except (NluError, OSError) as e:
                        self._log(f"NLU model {active} not loaded, keeping {self.version}: {e}")
                    else:
                        self._log(f"NLU model {self.version} → {active}")
                        self.pipeline, self.version = pipeline, active
            finally:
                self._swap.release()
        return self.pipeline
