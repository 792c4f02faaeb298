"""A small JSON view of the Kubernetes API over the official client's connection.

    kube = connect()                      # in-cluster, else ~/.kube/config (or kubeconfig=)
    kube.apply(obj, manager="lanectx-controller")      # server-side apply, forced
    kube.list("apps/v1", "Deployment", "shop", selector="lanectx.dev/lane")
    for event in kube.watch("lanectx.dev/v1alpha1", "Lane", "shop", resource_version):
        ...

The official client (``kubernetes``) supplies configuration, authentication and TLS;
objects stay plain dicts, addressed by apiVersion + kind (every kind used here has the
plural ``<kind>s``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from kubernetes import client, config
from kubernetes.watch.watch import iter_resp_lines

__all__ = ["Kube", "KubeError", "collection_path", "connect", "object_path"]

Manifest = dict[str, Any]
Query = list[tuple[str, str]]
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


class KubeError(Exception):
    """The API server answered with an error status (``status``: 404, 409, 422, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def collection_path(api_version: str, kind: str, namespace: str) -> str:
    """Return the URL path of the *kind* objects of *namespace*."""
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{root}/namespaces/{quote(namespace, safe='')}/{kind.lower()}s"


def object_path(obj: Mapping[str, Any]) -> str:
    """Return the URL path of *obj*."""
    meta = obj["metadata"]
    base = collection_path(str(obj["apiVersion"]), str(obj["kind"]), str(meta["namespace"]))
    return f"{base}/{quote(str(meta['name']), safe='')}"


def connect(kubeconfig: str | None = None, context: str | None = None) -> Kube:
    """Return a `Kube` for the service account in a pod, else for the kubeconfig."""
    configuration = client.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
    return Kube(client.ApiClient(configuration))


class Kube:
    """JSON requests to the API server through an official `kubernetes.client.ApiClient`."""

    def __init__(self, api: client.ApiClient, timeout: float = 30.0) -> None:
        self.api = api
        self.timeout = timeout

    def _send(
        self, method: str, path: str, query: Query, body: object, kind: str, timeout: float
    ) -> Any:
        """Send one request; return the raw response, or raise `KubeError` on an error status."""
        headers = {"Accept": "application/json", "Content-Type": kind}
        serialized = self.api.param_serialize(
            method,
            path,
            query_params=query,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(*serialized, _request_timeout=timeout)
        if not 200 <= response.status <= 299:
            data = response.read()  # type: ignore[no-untyped-call]
            raise KubeError(response.status, _message(data, response.reason))
        return response

    def request(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        body: object = None,
        content_type: str = "application/json",
    ) -> Manifest:
        """Send one request; return the JSON answer or raise `KubeError`."""
        data = self._send(method, path, query or [], body, content_type, self.timeout).read()
        return dict(json.loads(data)) if data else {}

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Manifest:
        """Return one object (`KubeError` 404 when it is absent)."""
        path = collection_path(api_version, kind, namespace) + "/" + quote(name, safe="")
        return self.request("GET", path)

    def list(
        self, api_version: str, kind: str, namespace: str, selector: str | None = None
    ) -> tuple[list[Manifest], str]:
        """Return the *kind* objects of *namespace* (matching *selector*) and the list's RV."""
        query = [("labelSelector", selector)] if selector else []
        answer = self.request("GET", collection_path(api_version, kind, namespace), query)
        items = [{"apiVersion": api_version, "kind": kind, **item} for item in answer["items"]]
        return items, str(answer.get("metadata", {}).get("resourceVersion", ""))

    def apply(self, obj: Mapping[str, Any], manager: str, status: bool = False) -> Manifest:
        """Server-side apply *obj* as field manager *manager* (forced: the controller owns it)."""
        path = object_path(obj) + ("/status" if status else "")
        query = [("fieldManager", manager), ("force", "true")]
        return self.request("PATCH", path, query, dict(obj), APPLY)

    def patch_status(self, obj: Mapping[str, Any], status: Mapping[str, Any]) -> Manifest:
        """Merge *status* into *obj*'s status, only if *obj* is unchanged (409 otherwise)."""
        meta = obj["metadata"]
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": status}
        return self.request("PATCH", object_path(obj) + "/status", None, body, MERGE)

    def create(self, obj: Mapping[str, Any]) -> Manifest:
        """Create *obj* (``metadata.generateName`` works)."""
        meta = obj["metadata"]
        path = collection_path(str(obj["apiVersion"]), str(obj["kind"]), str(meta["namespace"]))
        return self.request("POST", path, None, dict(obj))

    def delete(self, obj: Mapping[str, Any]) -> bool:
        """Delete *obj* with its dependents in the background; False when it was gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        try:
            self.request("DELETE", object_path(obj), None, body)
        except KubeError as err:
            if err.status == 404:
                return False
            raise
        return True

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        resource_version: str = "",
        selector: str | None = None,
        timeout: int = 60,
    ) -> Iterator[Manifest]:
        """Yield watch events ``{"type": ..., "object": ...}`` until the server ends the watch."""
        query = [("watch", "true"), ("timeoutSeconds", str(timeout))]
        query += [("allowWatchBookmarks", "true")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if selector:
            query.append(("labelSelector", selector))
        path = collection_path(api_version, kind, namespace)
        response = self._send("GET", path, query, None, "application/json", timeout + 10)
        try:
            for line in iter_resp_lines(response.response):  # type: ignore[no-untyped-call]
                if line:
                    yield dict(json.loads(line))
        finally:
            response.response.release_conn()


def _message(data: bytes | None, reason: str | None) -> str:
    """The ``message`` of a Status answer, else the HTTP reason."""
    try:
        return str(json.loads(data or b"{}").get("message") or reason)
    except (ValueError, AttributeError):
        return str(reason)
