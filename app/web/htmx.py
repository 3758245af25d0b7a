"""Answers to changes made in place (htmx, served from app/static): an item on the episode page
is ticked, marked not applicable, reopened, noted or acknowledged without reloading the page.

Every such form is an ordinary form too (its `action`, `method="post"`), so without JavaScript the
same change goes through the full page. A request htmx sends carries `HX-Request: true`; its
answer is a fragment (the item and what changed around it), or, where there is no fragment to
give (a repeated form, an expired one), an instruction to load a whole page (`HX-Redirect`).
"""

from flask import Response, make_response, request


def is_htmx() -> bool:
    """Whether htmx sent this request (a change made in place)."""
    return request.headers.get("HX-Request") == "true"


def load_page(location: str) -> Response:
    """Tell htmx to load `location` as a whole page (its flashed message shows there)."""
    response = make_response("", 200)
    response.headers["HX-Redirect"] = location
    return response
