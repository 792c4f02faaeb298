"""HTML for the product page: the product, its details, reviews with stars, and versions.

For example::

    html = render_page(product)   # product: the JSON of /api/v1/products/{id}
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["render_error", "render_page"]

_STYLE = (
    "body{font-family:sans-serif;max-width:46rem;margin:2rem auto;color:#222}"
    ".version{font-size:.8rem;color:#666;border:1px solid #ccc;border-radius:4px;padding:0 .3rem}"
    ".stars{color:#c80}.lane{background:#eef6ff;padding:.4rem .6rem;border-radius:4px}"
)


def _version(served_by: dict[str, str], service: str) -> str:
    value = served_by.get(service, "?")
    return f'<span class="version" data-service="{service}">{service}: {escape(value)}</span>'


def _document(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def render_page(product: dict[str, Any]) -> str:
    """Return the HTML page of *product*, naming the version that served each part."""
    served_by = product["served_by"]
    lane = product.get("lane") or "none (stable)"
    details = "".join(
        f"<dt>{escape(key)}</dt><dd>{escape(str(value))}</dd>"
        for key, value in product["details"].items()
        if key != "id"
    )
    reviews = "".join(
        f"<blockquote><p>{escape(item['text'])}</p><footer>{escape(item['reviewer'])} "
        f"<span class='stars'>{'★' * item['stars']}{'☆' * (5 - item['stars'])}</span>"
        "</footer></blockquote>"
        for item in product["reviews"]
    )
    body = (
        f"<h1>{escape(product['title'])} {_version(served_by, 'productpage')}</h1>"
        f"<p class='lane'>lane: <b>{escape(lane)}</b></p><p>{escape(product['summary'])}</p>"
        f"<h2>Details {_version(served_by, 'details')}</h2><dl>{details}</dl>"
        f"<h2>Reviews {_version(served_by, 'reviews')} {_version(served_by, 'ratings')}</h2>"
        f"{reviews}"
    )
    return _document(product["title"], body)


def render_error(failure: dict[str, Any]) -> str:
    """Return an HTML page saying which service failed."""
    body = (
        f"<h1>Sorry, part of this page is unavailable</h1><p>{escape(failure['error'])}</p>"
        f"<p class='lane'>lane: <b>{escape(failure.get('lane') or 'none (stable)')}</b></p>"
    )
    return _document("unavailable", body)
