"""模型管理: district admins see the model history with figures, start a retrain in the background and
roll back; everyone else is refused; every action is in the models' audit log."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from nlu.data import load_examples, split
from nlu.learning import retrain
from nlu.registry import Registry, read_active
from tests.console.conftest import post, sign_in
from tickets import learning
from tickets.db import Database
from tickets.models import ModelEvent, ModelVersion
from tickets.settings import Settings


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A registry with two tiny versions, the second active."""
    root = tmp_path_factory.mktemp("models") / "registry"
    shipped = [ex for i, ex in enumerate(split(load_examples(), "train")) if i % 12 == 0]
    frozen = [ex.as_record() for i, ex in enumerate(split(load_examples(), "test")) if i % 20 == 0]
    registry = Registry.open(root)
    first = retrain([], registry=registry, shipped=shipped, eval_records=frozen, seed=None)
    second = retrain(
        [ex for ex in split(load_examples(), "train") if ex not in shipped][::50],
        registry=registry,
        shipped=shipped,
        eval_records=frozen,
        tolerance=1.0,
        seed=None,
    )
    return root, first.candidate, second.candidate


@pytest.fixture
def app_settings(
    settings: Settings, two_versions: tuple[Path, str, str], tmp_path: Path
) -> Settings:
    root = tmp_path / "registry"
    shutil.copytree(two_versions[0], root)
    return Settings(
        database_url=settings.database_url,
        staff_chat_id=settings.staff_chat_id,
        data_dir=settings.data_dir,
        console_secret_key="test-secret-key-for-the-console",
        model_registry=root,
    )


def test_only_district_admins_manage_models(client: TestClient) -> None:
    sign_in(client, "street")
    assert client.get("/models").status_code == 403
    assert "模型管理" not in client.get("/tickets").text


def test_history_with_figures_and_rollback(
    client: TestClient, db: Database, app_settings: Settings, two_versions: tuple[Path, str, str]
) -> None:
    _, first, second = two_versions
    sign_in(client, "admin")
    page = client.get("/models").text
    assert first in page and second in page and "（当前）" in page
    figures = Registry.open(app_settings.model_registry).figures(second)
    assert figures is not None and f"{figures['category_macro_f1']:.4f}" in page
    response = post(client, "/models/rollback", {"version": first}, page="/models")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert read_active(app_settings.model_registry) == first  # type: ignore[arg-type]
    assert f"已回滚到 {first}" in client.get("/models").text
    with db.session() as s:
        assert {v.version for v in s.scalars(select(ModelVersion))} == {first, second}
        event = s.scalars(select(ModelEvent)).one()
        assert (event.kind, event.version, event.actor_label) == ("rolled_back", first, "admin")


def test_the_retrain_button_starts_a_background_job(
    client: TestClient, db: Database, app_settings: Settings
) -> None:
    sign_in(client, "admin")
    response = post(client, "/models/retrain", {}, page="/models")
    assert response.status_code == 303  # type: ignore[attr-defined]
    try:
        page = client.get("/models").text
        assert "已开始再训练" in page and "再训练进行中" in page
        post(client, "/models/retrain", {})  # a second click while it runs
        assert "已有一次再训练正在进行" in client.get("/models").text
        with db.session() as s:
            event = s.scalars(select(ModelEvent)).one()
            assert (event.kind, event.actor_label) == ("requested", "admin")
    finally:
        # Stop the retrain this test started instead of training for minutes.
        assert learning.stop_retrain(app_settings)
