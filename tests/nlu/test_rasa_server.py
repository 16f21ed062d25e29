"""The real Rasa server with our components: ``/model/parse`` carries ``minwei`` and location entities."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from nlu.data import load_examples, write_rasa_yaml
from nlu.resources import ROOT

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}

pytestmark = pytest.mark.skipif(not RASA.exists(), reason="needs .venv-rasa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An NLU-only Rasa model from config.yml on every third example, served on a free port."""
    work = tmp_path_factory.mktemp("rasa")
    write_rasa_yaml(load_examples()[::3], work / "nlu.yml")
    subprocess.run(
        [
            str(RASA),
            "train",
            "nlu",
            "--config",
            str(ROOT / "config.yml"),
            "--nlu",
            str(work / "nlu.yml"),
            "--out",
            str(work),
            "--fixed-model-name",
            "nlu",
        ],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        timeout=900,
    )
    port = free_port()
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(RASA),
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            str(work / "nlu.tar.gz"),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2) as r:
                    if json.loads(r.read()).get("model_file"):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"Rasa server did not start:\n{(work / 'server.log').read_text()[-3000:]}"
                )
            time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def parse(url: str, text: str) -> dict:
    request = urllib.request.Request(
        f"{url}/model/parse",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def test_a_demand_is_report_with_minwei_and_location_entities(rasa_url: str) -> None:
    text = "【转发】陈姨：幸福花园5栋电梯又坏咗，我阿妈落唔到楼"
    result = parse(rasa_url, text)
    assert result["intent"]["name"] == "report"
    assert result["minwei"]["is_demand"] is True
    assert result["minwei"]["category"] == "elevator"
    assert result["minwei"]["framing"] == {"forwarded": True, "speaker": "陈姨"}
    locations = [e for e in result["entities"] if e["entity"] == "location"]
    assert [(e["value"], text[e["start"] : e["end"]]) for e in locations] == [("幸福花园5栋",) * 2]


def test_a_thank_you_is_not_a_demand(rasa_url: str) -> None:
    result = parse(rasa_url, "多谢晒物业，路灯已经修好咗👍")
    assert result["minwei"]["is_demand"] is False
    assert result["intent"]["name"] == "thank"
    assert result["intent_ranking"][0]["name"] == "thank"
