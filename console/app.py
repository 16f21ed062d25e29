"""The console application factory (the full console lands with the console issue)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from tickets.settings import Settings

PLACEHOLDER = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>民微 MinWei</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>民微 MinWei</h1>
<p>工单后台正在建设中。Rasa 服务：<code>{rasa}</code></p></body></html>"""


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="民微 MinWei", docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return PLACEHOLDER.format(rasa=settings.rasa_url)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app
