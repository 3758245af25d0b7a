"""Templates keep to the Content-Security-Policy: no inline styles or scripts (they would be blocked)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_uses_inline_style_or_script():
    assert len(list(TEMPLATES.rglob("*.html"))) > 30  # the app's templates, not an empty folder
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\sstyle=\"|<script(?![^>]*\bsrc=)|\son[a-z]+=\"", text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []
