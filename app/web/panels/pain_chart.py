"""A small pain-over-time chart, laid out in Python and drawn as inline SVG by the template."""

from dataclasses import dataclass, field
from datetime import date

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 12, 28
MAX_SCORE = 10


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    on: date
    value: int


@dataclass
class Series:
    key: str
    label: str
    marker: str  # "circle", "square", "triangle", "diamond": told apart without colour
    dash: str  # stroke-dasharray
    points: list[Point] = field(default_factory=list)

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class Chart:
    width: int
    height: int
    series: list[Series]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, date]]
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not any(s.points for s in self.series)


SERIES = (
    ("pain_before", "Pain before session", "circle", ""),
    ("pain_after", "Pain after session", "square", "4 3"),
    ("nrs_back", "NRS back pain (outcome)", "triangle", "1 3"),
    ("nrs_leg", "NRS leg pain (outcome)", "diamond", "8 3 1 3"),
)


def pain_chart(values: dict[str, list[tuple[date, int]]]) -> Chart:
    """Lay out pain scores (0-10) by date, one series per key of SERIES."""
    days = sorted({d for points in values.values() for d, _ in points})
    first, last = (days[0], days[-1]) if days else (date.min, date.min)
    span = max(1, (last - first).days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(on: date) -> float:
        if first == last:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (on - first).days / span

    def y(score: int) -> float:
        return TOP + plot_h * (1 - score / MAX_SCORE)

    series = []
    for key, label, marker, dash in SERIES:
        points = sorted(values.get(key, []))
        series.append(Series(key, label, marker, dash, [Point(x(d), y(v), d, v) for d, v in points]))
    x_ticks = [(x(d), d) for d in ([first] if first == last else [first, last])] if days else []
    return Chart(WIDTH, HEIGHT, series, [(y(v), v) for v in (0, 5, 10)], x_ticks)
