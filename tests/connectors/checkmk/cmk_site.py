"""A Checkmk site on loopback that follows the REST API 1.0 contract (a real ThreadingHTTPServer).

What it follows (Checkmk's own endpoint code and docs): the API lives at ``/<site>/check_mk/api/1.0``;
every request needs ``Authorization: Bearer <user> <secret>`` or gets ``401`` with a problem body
(``{"title", "status", "detail"}``); ``GET /version``; ``GET /domain-types/host_config/collections/all``
(``extensions.folder`` and ``extensions.attributes``); ``GET /domain-types/host/collections/all`` and
``GET /objects/host/{host_name}/collections/services`` return, per object, only the Livestatus columns
asked for with repeated ``columns=`` parameters (``name`` / ``host_name`` always), and ``400`` for a
column the table does not have. Collections are not paged: one answer holds every object.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOST_TABLE = {
    "name",
    "alias",
    "address",
    "state",
    "has_been_checked",
    "plugin_output",
    "last_check",
    "num_services",
    "num_services_ok",
    "num_services_warn",
    "num_services_crit",
    "num_services_unknown",
    "num_services_pending",
}
SERVICE_TABLE = {"host_name", "description", "state", "has_been_checked", "plugin_output", "last_check"}
LAST_CHECK = 1_764_650_000


@dataclass
class FakeService:
    description: str
    state: int = 0
    output: str = "OK"
    checked: bool = True


@dataclass
class FakeHost:
    name: str
    state: int = 0
    output: str = "Packet received via smart PING"
    alias: str = ""
    ipaddress: str = "10.0.0.1"
    folder: str = "/"
    checked: bool = True
    services: list[FakeService] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        states = [s.state for s in self.services if s.checked]
        return {
            "name": self.name,
            "alias": self.alias or self.name,
            "address": self.ipaddress,
            "state": self.state,
            "has_been_checked": int(self.checked),
            "plugin_output": self.output,
            "last_check": LAST_CHECK if self.checked else 0,
            "num_services": len(self.services),
            "num_services_ok": states.count(0),
            "num_services_warn": states.count(1),
            "num_services_crit": states.count(2),
            "num_services_unknown": states.count(3),
            "num_services_pending": sum(1 for s in self.services if not s.checked),
        }


@dataclass
class CheckmkSite:
    """The site's state; tests change it between syncs (the server reads it under ``lock``)."""

    url: str
    site: str = "mysite"
    username: str = "automation"
    secret: str = "s3cr3t-automation"
    hosts: dict[str, FakeHost] = field(default_factory=dict)
    #: Host names configured but not yet activated (in host_config only, not in monitoring).
    unactivated: set[str] = field(default_factory=set)
    #: Answer 403 to monitoring endpoints (the user lacks "see all hosts").
    forbid_monitoring: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, host: FakeHost) -> FakeHost:
        with self.lock:
            self.hosts[host.name] = host
        return host

    def paths(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests]


def _problem(status: int, title: str, detail: str) -> tuple[int, dict[str, Any]]:
    return status, {"title": title, "status": status, "detail": detail}


def _collection(domain_type: str, value: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "links": [{"rel": "self", "href": f"/domain-types/{domain_type}/collections/all"}],
        "domainType": domain_type,
        "value": value,
    }


def _object(domain_type: str, ident: str, extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "links": [],
        "domainType": domain_type,
        "id": ident,
        "title": ident,
        "members": {},
        "extensions": extensions,
    }


def _columns(query: dict[str, list[str]], table: set[str], mandatory: str) -> list[str] | tuple[int, dict[str, Any]]:
    asked = query.get("columns", [])
    unknown = [c for c in asked if c not in table]
    if unknown:
        return _problem(400, "Bad Request", f"These fields have problems: columns: Unknown column {unknown[0]!r}")
    return [mandatory, *[c for c in asked if c != mandatory]]


def answer(site: CheckmkSite, method: str, raw_path: str, auth: str | None) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for one request (the contract, without the HTTP plumbing)."""
    parts = urlsplit(raw_path)
    query = parse_qs(parts.query)
    prefix = f"/{site.site}/check_mk/api/1.0"
    if not parts.path.startswith(prefix + "/"):
        return _problem(404, "Not Found", "The requested URL was not found on the server.")
    path = parts.path.removeprefix(prefix)
    if auth != f"Bearer {site.username} {site.secret}":
        return _problem(401, "Unauthorized", "You need to be authenticated to use the REST API.")
    if method != "GET":
        return _problem(405, "Method Not Allowed", "The method is not allowed for the requested URL.")
    with site.lock:
        hosts = list(site.hosts.values())
        monitored = [h for h in hosts if h.name not in site.unactivated]
        if path == "/version":
            return 200, {
                "site": site.site,
                "group": "",
                "rest_api": {"revision": "0"},
                "versions": {"checkmk": "2.3.0p5", "apache": [2, 4, 58], "python": "3.12.3"},
                "edition": "cre",
                "demo": False,
            }
        if path == "/domain-types/host_config/collections/all":
            return 200, _collection(
                "host_config",
                [
                    _object(
                        "host_config",
                        h.name,
                        {
                            "folder": h.folder,
                            "attributes": {"alias": h.alias or None, "ipaddress": h.ipaddress},
                            "effective_attributes": None,
                            "is_cluster": False,
                            "is_offline": False,
                        },
                    )
                    for h in hosts
                ],
            )
        if site.forbid_monitoring and (path.startswith("/domain-types/host/") or path.startswith("/objects/host/")):
            return _problem(403, "Forbidden", "You do not have the permission to see all hosts (general.see_all).")
        if path == "/domain-types/host/collections/all":
            cols = _columns(query, HOST_TABLE, "name")
            if isinstance(cols, tuple):
                return cols
            return 200, _collection("host", [_object("host", h.name, {c: h.row()[c] for c in cols}) for h in monitored])
        if path.startswith("/objects/host/") and path.endswith("/collections/services"):
            name = unquote(path.removeprefix("/objects/host/").removesuffix("/collections/services"))
            cols = _columns(query, SERVICE_TABLE, "host_name")
            if isinstance(cols, tuple):
                return cols
            found = next((h for h in monitored if h.name == name), None)
            rows = []
            for s in found.services if found else []:
                full = {
                    "host_name": name,
                    "description": s.description,
                    "state": s.state,
                    "has_been_checked": int(s.checked),
                    "plugin_output": s.output,
                    "last_check": LAST_CHECK if s.checked else 0,
                }
                rows.append(_object("service", f"{name}:{s.description}", {c: full[c] for c in cols}))
            return 200, _collection("service", rows)
    return _problem(404, "Not Found", "The requested URL was not found on the server.")


def serve(site_name: str = "mysite") -> Iterator[CheckmkSite]:
    """Run a site on a free loopback port for the duration of the ``with`` / fixture."""

    site_ref: list[CheckmkSite] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            site = site_ref[0]
            with site.lock:
                site.requests.append((urlsplit(self.path).path, self.headers.get("Authorization", "")))
            status, body = answer(site, method, self.path, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(status)
            kind = "application/problem+json" if status >= 400 else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site_ref.append(CheckmkSite(url=f"http://127.0.0.1:{server.server_address[1]}", site=site_name))
    thread = threading.Thread(target=server.serve_forever, name="checkmk-site", daemon=True)
    thread.start()
    try:
        yield site_ref[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
