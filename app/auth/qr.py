"""QR codes drawn on the server as inline SVG markup: no image request, nothing for the CSP to allow."""

import segno
from markupsafe import Markup


def qr_svg(text: str, title: str) -> Markup:
    """The QR code of `text` as an <svg> element to put in a page as it is."""
    code = segno.make(text, error="m")
    svg = code.svg_inline(scale=5, border=4, dark="#000", light="#fff", title=title, svgclass="qr-code")
    return Markup(svg)  # noqa: S704 - segno's own markup; `text` is encoded in the modules, `title` escaped
