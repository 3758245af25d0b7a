"""Read a served page as a browser would: its forms (what each would send) and its flashed messages."""

import html
import re
from dataclasses import dataclass

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_ATTR = re.compile(r'([a-zA-Z_:-]+)(?:="([^"]*)")?')
_INPUT = re.compile(r"<input\b([^>]*)>")
_TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S)
_SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
_OPTION = re.compile(r"<option\b([^>]*)>", re.S)
# Flashed messages (base.html): an alert with a role; the page's other alerts have none. The
# answer to a change of an item is shown beside the item (templates/checklist/_item.html).
_FLASH = re.compile(
    r'<div class="alert alert-[a-z]+(?: [^"]*)?" role="(?:alert|status)"'
    r'(?: tabindex="-1" data-item-message)?>(.*?)</div>',
    re.S,
)


@dataclass(frozen=True)
class Form:
    """A form on a page: where it posts and the fields it sends as it stands."""

    action: str
    fields: dict[str, str]


def _attrs(raw: str) -> dict[str, str]:
    return {name: html.unescape(value or "") for name, value in _ATTR.findall(raw)}


def forms(page: str) -> list[Form]:
    """Find every POST form of the page, with the values a browser would send if nothing were typed."""
    found = []
    for raw_attrs, body in _FORM.findall(page):
        attrs = _attrs(raw_attrs)
        if attrs.get("method", "get").lower() != "post":
            continue
        fields: dict[str, str] = {}
        for raw in _INPUT.findall(body):
            field = _attrs(raw)
            kind = field.get("type", "text").lower()
            if "name" not in field or (kind == "checkbox" and "checked" not in field):
                continue
            fields[field["name"]] = field.get("value", "y" if kind == "checkbox" else "")
        for raw, text in _TEXTAREA.findall(body):
            fields[_attrs(raw)["name"]] = html.unescape(text)
        for raw, options in _SELECT.findall(body):
            choices = [_attrs(o) for o in _OPTION.findall(options)]
            chosen = next((c for c in choices if "selected" in c), choices[0] if choices else {})
            fields[_attrs(raw)["name"]] = chosen.get("value", "")
        found.append(Form(attrs.get("action", ""), fields))
    return found


def flashes(page: str) -> list[str]:
    """Return the messages flashed on the page, or given beside the item changed, as text."""
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in _FLASH.findall(page)]
