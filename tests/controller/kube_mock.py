"""A small in-memory Kubernetes API server on 127.0.0.1, speaking the HTTP API the
controller and the ``lanectx lane`` commands use.

    with KubeMock() as kube:
        kube.kubeconfig(tmp_path)            # a kubeconfig pointing at it
        kube.fail("PATCH", "/status", 409)   # the next matching request answers 409

Served: GET (object, list with labelSelector, watch with resourceVersion and timeoutSeconds;
410 Gone for versions older than ``compacted``), POST (create, generateName, 409
AlreadyExists), PATCH as server-side apply (create or update, fieldManager required) and
as merge patch (a resourceVersion in the body is a precondition: 409 Conflict when
stale), DELETE (dependents found through
ownerReferences are deleted too, like the garbage collector). ``generation`` moves when
``spec`` changes; ``/status`` writes never move it.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (api root + plural, namespace, name)


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _matches(obj: Obj, selector: str) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, selector.split(",")):
        if "=" in term:
            name, value = term.split("=", 1)
            if labels.get(name) != value:
                return False
        elif term not in labels:
            return False
    return True


class _Store:
    """Objects, their change log (for watches) and the resourceVersion counter."""

    def __init__(self) -> None:
        self.objects: dict[Key, Obj] = {}
        self.log: list[tuple[int, str, str, str, Obj]] = []  # rv, type, collection, ns, obj
        self.version = 100
        self.changed = threading.Condition()

    def record(self, kind: str, key: Key, obj: Obj) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.log.append((self.version, kind, key[0], key[1], copy.deepcopy(obj)))
        self.changed.notify_all()


class KubeMock:
    """The mock API server; ``requests`` logs (method, path, query, content type, body)."""

    def __init__(self) -> None:
        self.store = _Store()
        self.requests: list[tuple[str, str, dict[str, list[str]], str, Any]] = []
        self._faults: list[tuple[str, str, int]] = []
        self._closing = False
        self.compacted = 0  # watches from an older resourceVersion get 410 Gone (as etcd's)
        self.gone_served = 0
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                mock.handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KubeMock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; open watches end."""
        self._closing = True
        with self.store.changed:
            self.store.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def kubeconfig(self, directory: Path) -> Path:
        """Write a kubeconfig for this server into *directory*; return its path."""
        path = directory / "kubeconfig.json"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "mock", "cluster": {"server": self.url}}],
            "users": [{"name": "dev", "user": {"token": "mock-token"}}],
            "contexts": [{"name": "mock", "context": {"cluster": "mock", "user": "dev"}}],
            "current-context": "mock",
        }
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def fail(self, method: str, path_part: str, status: int, times: int = 1) -> None:
        """Answer the next *times* *method* requests whose path holds *path_part* with *status*."""
        for _ in range(times):
            self._faults.append((method, path_part, status))

    # -- test-side access -------------------------------------------------------------
    def objects(self, plural: str, namespace: str = "shop") -> dict[str, Obj]:
        """The stored objects of collection *plural* (e.g. ``virtualservices``), by name."""
        with self.store.changed:
            return {
                key[2]: copy.deepcopy(obj)
                for key, obj in self.store.objects.items()
                if key[0].endswith("/" + plural) and key[1] == namespace
            }

    def put(self, collection: str, namespace: str, obj: Obj) -> Obj:
        """Create or update *obj* directly, without a request (what kubelet or a user does).

        *collection* is the API path of its kind without the namespace part, such as
        ``apis/apps/v1/deployments``. A status already stored stays unless *obj* has one.
        """
        with self.store.changed:
            key = (collection, namespace, obj["metadata"]["name"])
            return self._store(key, copy.deepcopy(obj), replace=False)

    def remove(self, collection: str, namespace: str, name: str) -> None:
        """Delete an object directly, with its dependents (as ``kubectl delete`` would)."""
        with self.store.changed:
            self._delete((collection, namespace, name))

    # -- HTTP ---------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        content_type = request.headers.get("Content-Type", "")
        self.requests.append((request.command, url.path, query, content_type, body))
        with self.store.changed:
            fault = next(
                (
                    item
                    for item in self._faults
                    if item[0] == request.command and item[1] in url.path
                ),
                None,
            )
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None:
            self._reply(request, fault[2], self._status(fault[2], "injected fault"))
            return
        parts = url.path.strip("/").split("/")
        root = 2 if parts[0] == "api" else 3
        if len(parts) < root + 3 or parts[root] != "namespaces":
            self._reply(request, 404, self._status(404, "not served by the mock"))
            return
        collection = "/".join(parts[:root]) + "/" + parts[root + 2]
        namespace = parts[root + 1]
        name = parts[root + 3] if len(parts) > root + 3 else None
        subresource = parts[root + 4] if len(parts) > root + 4 else None
        if name is None and request.command == "GET" and query.get("watch") == ["true"]:
            self._watch(request, collection, namespace, query)
            return
        with self.store.changed:
            status, answer = self._serve(
                request.command, collection, namespace, name, subresource, query, content_type, body
            )
        self._reply(request, status, answer)

    def _serve(
        self,
        method: str,
        collection: str,
        namespace: str,
        name: str | None,
        subresource: str | None,
        query: dict[str, list[str]],
        content_type: str,
        body: Any,
    ) -> tuple[int, Obj]:
        store = self.store
        if name is None and method == "GET":
            selector = query.get("labelSelector", [""])[0]
            items = [
                copy.deepcopy(obj)
                for key, obj in sorted(store.objects.items())
                if key[:2] == (collection, namespace) and _matches(obj, selector)
            ]
            meta = {"resourceVersion": str(store.version)}
            return 200, {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": items}
        if name is None and method == "POST":
            meta = body.setdefault("metadata", {})
            if not meta.get("name"):
                meta["name"] = meta.get("generateName", "x-") + uuid.uuid4().hex[:5]
            key = (collection, namespace, meta["name"])
            if key in store.objects:
                return 409, self._status(409, f"{meta['name']} already exists", "AlreadyExists")
            return 201, self._store(key, body, replace=True)
        key = (collection, namespace, str(name))
        current = store.objects.get(key)
        if method == "GET":
            if current is None:
                return 404, self._status(404, f"{name} not found", "NotFound")
            return 200, copy.deepcopy(current)
        if method == "DELETE":
            if current is None:
                return 404, self._status(404, f"{name} not found", "NotFound")
            self._delete(key)
            return 200, self._status(200, "deleted", "Success")
        if method == "PATCH" and content_type.startswith("application/apply-patch"):
            if not query.get("fieldManager"):
                return 400, self._status(400, "fieldManager is required for apply", "BadRequest")
            if subresource == "status":
                if current is None:
                    return 404, self._status(404, f"{name} not found", "NotFound")
                updated = copy.deepcopy(current)
                updated["status"] = body.get("status")
                return 200, self._store(key, updated, replace=False)
            return 200, self._store(key, body, replace=False)
        if method == "PATCH" and content_type == "application/merge-patch+json":
            if current is None:
                return 404, self._status(404, f"{name} not found", "NotFound")
            wanted = (body.get("metadata") or {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                message = "the object has been modified; please apply your changes to the latest"
                return 409, self._status(409, message, "Conflict")
            updated = merge_patch(current, body)
            updated["metadata"] = merge_patch(current["metadata"], {"resourceVersion": None})
            if subresource == "status":
                updated = {**copy.deepcopy(current), "status": updated.get("status")}
            return 200, self._store(key, updated, replace=subresource != "status")
        return 405, self._status(405, f"{method} not served by the mock", "MethodNotAllowed")

    def _store(self, key: Key, obj: Obj, replace: bool) -> Obj:
        """Create or update *obj* at *key*, keeping what the server owns."""
        store = self.store
        current = store.objects.get(key)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta["name"], meta["namespace"] = key[2], key[1]
        if current is None:
            meta.update(
                uid=str(uuid.uuid4()),
                creationTimestamp=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                generation=1,
            )
            store.record("ADDED", key, obj)
            return copy.deepcopy(obj)
        old = current["metadata"]
        for field in ("uid", "creationTimestamp", "generation"):
            meta[field] = old[field]
        if not replace and "status" not in obj and "status" in current:
            obj["status"] = copy.deepcopy(current["status"])
        if obj.get("spec") != current.get("spec"):
            meta["generation"] = old["generation"] + 1
        store.record("MODIFIED", key, obj)
        return copy.deepcopy(obj)

    def _delete(self, key: Key) -> None:
        store = self.store
        gone = store.objects[key]
        store.record("DELETED", key, copy.deepcopy(gone))
        uid = gone["metadata"]["uid"]
        for other, obj in list(store.objects.items()):
            owners = obj["metadata"].get("ownerReferences") or []
            if other[1] == key[1] and any(owner.get("uid") == uid for owner in owners):
                self._delete(other)

    def _watch(
        self,
        request: BaseHTTPRequestHandler,
        collection: str,
        namespace: str,
        query: dict[str, list[str]],
    ) -> None:
        selector = query.get("labelSelector", [""])[0]
        since = query.get("resourceVersion", [""])[0]
        deadline = time.monotonic() + float(query.get("timeoutSeconds", ["30"])[0])
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        events: Iterator[Obj] = self._events(collection, namespace, selector, since, deadline)
        if since and int(since) < self.compacted:
            gone = self._status(410, f"too old resource version: {since}", "Expired")
            events = iter([{"type": "ERROR", "object": gone}])
            self.gone_served += 1
        try:
            for event in events:
                data = json.dumps(event).encode() + b"\n"
                request.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                request.wfile.flush()
            request.wfile.write(b"0\r\n\r\n")
            request.wfile.flush()
        except OSError:
            return

    def _events(
        self, collection: str, namespace: str, selector: str, since: str, deadline: float
    ) -> Iterator[Obj]:
        store = self.store
        initial: list[Obj] = []
        with store.changed:
            if since:
                position = next(
                    (i for i, entry in enumerate(store.log) if entry[0] > int(since)),
                    len(store.log),
                )
            else:
                position = len(store.log)
                initial = [
                    {"type": "ADDED", "object": copy.deepcopy(obj)}
                    for key, obj in sorted(store.objects.items())
                    if key[:2] == (collection, namespace) and _matches(obj, selector)
                ]
        yield from initial
        while not self._closing and time.monotonic() < deadline:
            with store.changed:
                batch = store.log[position:]
                position = len(store.log)
                if not batch:
                    store.changed.wait(min(0.2, max(deadline - time.monotonic(), 0)))
                    continue
            for _, kind, where, ns, obj in batch:
                if (where, ns) == (collection, namespace) and _matches(obj, selector):
                    yield {"type": kind, "object": obj}

    def _status(self, code: int, message: str, reason: str = "Injected") -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "code": code,
            "reason": reason,
            "message": message,
            "status": "Failure" if code >= 400 else "Success",
        }

    def _reply(self, request: BaseHTTPRequestHandler, status: int, body: Obj) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
