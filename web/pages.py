"""The trading page: ``/`` (and the API's docs at ``/api/docs``), its own files under ``/static/`` and the npm
libraries it uses under ``/vendor/`` (served from ``web/node_modules``, so the
page needs no internet and no CDN).

The Flask app registers ``blueprint`` with no prefix. Create that app with
``static_folder=None``: Flask's own ``/static`` route would otherwise shadow
this one.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
NODE_MODULES = WEB_DIR / "node_modules"

# The only files of node_modules the page may load: public name -> path under
# node_modules (the bundled ES-module builds, which the page's modules import).
# Anything else there stays private.
VENDOR_FILES = {
    "lightweight-charts.mjs": "lightweight-charts/dist/lightweight-charts.standalone.production.mjs",
    "lightweight-charts.LICENSE.txt": "lightweight-charts/LICENSE",
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": "socket.io-client/dist/socket.io.esm.min.js.map",
    "socket.io.LICENSE.txt": "socket.io-client/LICENSE",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui.LICENSE.txt": "swagger-ui-dist/LICENSE",
}
# Browsers refuse a module script served as anything but JavaScript, and
# Python's mimetypes does not know .mjs everywhere.
MIMETYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".txt": "text/plain",
             ".map": "application/json", ".css": "text/css"}

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def trading_page():
    response = send_from_directory(STATIC_DIR, "index.html", max_age=0)
    response.cache_control.no_cache = True
    return response


@blueprint.get("/api/docs")
def api_docs():
    """The REST API's documentation: Swagger UI (from web/node_modules) over /api/v1/openapi.json.
    nginx sends this one /api/ path to the web tier; every other goes to the API replicas."""
    response = send_from_directory(STATIC_DIR, "api-docs.html", max_age=0)
    response.cache_control.no_cache = True
    return response


@blueprint.get("/static/<path:filename>")
def static_file(filename: str):
    # Revalidated every time: the files change with the code and carry no version in their names.
    return send_from_directory(STATIC_DIR, filename, max_age=0, mimetype=MIMETYPES.get(Path(filename).suffix))


@blueprint.get("/vendor/<name>")
def vendor_file(name: str):
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    path = NODE_MODULES / relative
    if not path.is_file():
        abort(404, description=f"{name} is missing: run `npm ci` in web/ (make up does)")
    mimetype = MIMETYPES[Path(name).suffix]
    return send_from_directory(path.parent, path.name, max_age=3600, mimetype=mimetype)
