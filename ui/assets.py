"""Browser assets: our own files under ``ui/static`` and specific files of npm packages in ``ui/node_modules``.

Nothing is fetched from a CDN at run time (MSP sites are often air-gapped). Vendor files are
mapped one by one, so only what pages use is reachable under ``/static/vendor/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

UI_DIR = Path(__file__).parent
STATIC_DIR = UI_DIR / "static"
NODE_MODULES = UI_DIR / "node_modules"

#: URL name under ``/static/vendor/`` -> file inside ``ui/node_modules``.
VENDOR_FILES: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "xterm.js": "@xterm/xterm/lib/xterm.js",
    "xterm.css": "@xterm/xterm/css/xterm.css",
    "addon-fit.js": "@xterm/addon-fit/lib/addon-fit.js",
}
#: noVNC ships ES modules with relative imports, so its whole directory is served under this prefix.
NOVNC_DIR = NODE_MODULES / "@novnc" / "novnc"
NOVNC_PREFIX = "/static/vendor/novnc"


class AssetsMissing(RuntimeError):
    """The npm packages the pages need are not installed."""


def check_assets() -> None:
    """Fail loudly when ``ui/node_modules`` lacks a file the pages load."""
    missing = [rel for rel in VENDOR_FILES.values() if not (NODE_MODULES / rel).is_file()]
    if not (NOVNC_DIR / "core" / "rfb.js").is_file():
        missing.append("@novnc/novnc/core/rfb.js")
    if missing:
        raise AssetsMissing(f"run `make install` (npm assets missing in {NODE_MODULES}: {', '.join(missing)})")


def asset_router() -> APIRouter:
    """Routes serving ``/static/app/...``, ``/static/vendor/<file>``, ``/static/vendor/novnc/...`` and
    ``/favicon.ico``."""
    router = APIRouter(include_in_schema=False)
    router.mount("/static/app", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static-app")
    router.mount(NOVNC_PREFIX, StaticFiles(directory=NOVNC_DIR, check_dir=False), name="static-novnc")

    @router.get("/favicon.ico", name="favicon")
    async def favicon() -> FileResponse:
        """The hub's icon (an SVG; browsers ask for ``/favicon.ico`` on every page)."""
        return FileResponse(
            STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
        )

    @router.get("/static/vendor/{name}", name="static-vendor")
    async def vendor(name: str) -> FileResponse:
        rel = VENDOR_FILES.get(name)
        if rel is None:
            raise HTTPException(404, f"no vendor asset {name!r}")
        return FileResponse(NODE_MODULES / rel, headers={"Cache-Control": "public, max-age=3600"})

    return router
