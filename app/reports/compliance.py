"""The compliance report: tallies per month of surgery, per surgeon and per phase, the items
most often late, and a bar chart laid out here and drawn as inline SVG by the template."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from app.domain.compliance import (
    HIGH_COMPLIANCE_PERCENT,
    MOST_LATE_LIMIT,
    Month,
    MonthSpan,
    ReportVersion,
    Tally,
    fold_months,
    months_between,
    total,
)
from app.domain.vocab import Phase
from app.queries.compliance import outcome_counts, outcome_counts_by_step, unscheduled_episodes
from app.reports.csv_export import COMPLIANCE_HEADER, compliance_record, csv_chunks


@dataclass
class ReportRow:
    label: str
    by_phase: dict[Phase, Tally] = field(default_factory=lambda: {p: Tally() for p in Phase})

    @property
    def overall(self) -> Tally:
        return total(self.by_phase.values())

    def add(self, phase: Phase, tally: Tally) -> None:
        self.by_phase[phase] = self.by_phase[phase] + tally


@dataclass(frozen=True)
class LateStep:
    code: str
    title: str
    phase: Phase
    tally: Tally

    @property
    def late_percent(self) -> float | None:
        return None if not self.tally.counted else 100 * self.tally.late / self.tally.counted


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    percent: float


@dataclass(frozen=True)
class ChartMonth:
    label: str
    x: float  # centre of the month's pair of bars
    completed: Bar | None
    on_time: Bar | None
    show_label: bool


@dataclass
class BarChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    months: list[ChartMonth]
    y_ticks: list[tuple[float, int]]
    reference_y: float
    bar_width: float

    @property
    def empty(self) -> bool:
        return not any(m.completed for m in self.months)


@dataclass
class ComplianceReport:
    first: Month
    last: Month
    surgeon_name: str | None
    months: list[tuple[Month, ReportRow]]
    surgeons: list[tuple[int, ReportRow]]  # (surgeon id, row), by name
    overall: ReportRow
    most_late: list[LateStep]
    unscheduled: int
    detail: list[tuple[Month, str, Phase, Tally]]  # month x surgeon x phase, for the CSV
    chart: BarChart
    version: ReportVersion | None = None  # the protocol version it is narrowed to, if any

    @property
    def month_lines(self) -> list[tuple[Month, ReportRow] | MonthSpan]:
        """The months in order, each run of months with nothing due folded into one line."""
        return fold_months(self.months, lambda row: not row.overall.counted)


def build_report(
    session: Session,
    first: Month,
    last: Month,
    surgeon_id: int | None,
    surgeon_names: dict[int, str],
    today: date,
    version: ReportVersion | None = None,
) -> ComplianceReport:
    """The whole report for a period (and one surgeon, or all; one protocol version, or all), in
    three queries."""
    version_id = version.id if version is not None else None
    months = {m: ReportRow(m.label) for m in months_between(first, last)}
    surgeons: dict[int, ReportRow] = {}
    overall = ReportRow("All")
    detail: dict[tuple[Month, int, Phase], Tally] = defaultdict(Tally)
    for month, surgeon, phase, outcome, n in outcome_counts(
        session, first, last, surgeon_id, today, version_id
    ):
        tally = Tally.of(outcome, n)
        months[month].add(phase, tally)
        if surgeon not in surgeons:
            surgeons[surgeon] = ReportRow(surgeon_names.get(surgeon, f"Surgeon {surgeon}"))
        surgeons[surgeon].add(phase, tally)
        overall.add(phase, tally)
        detail[(month, surgeon, phase)] = detail[(month, surgeon, phase)] + tally
    month_rows = sorted(months.items(), key=lambda kv: (kv[0].year, kv[0].month))
    return ComplianceReport(
        first=first,
        last=last,
        surgeon_name=surgeon_names.get(surgeon_id) if surgeon_id is not None else None,
        months=month_rows,
        surgeons=sorted(surgeons.items(), key=lambda kv: kv[1].label),
        overall=overall,
        most_late=most_often_late(session, first, last, surgeon_id, today, version_id=version_id),
        unscheduled=unscheduled_episodes(session, surgeon_id, version_id),
        detail=[
            (month, surgeon_names.get(surgeon, f"Surgeon {surgeon}"), phase, tally)
            for (month, surgeon, phase), tally in sorted(
                detail.items(),
                key=lambda kv: (kv[0][0].key, surgeon_names.get(kv[0][1], ""), list(Phase).index(kv[0][2])),
            )
        ],
        chart=bar_chart([(m.label, row.overall) for m, row in month_rows]),
        version=version,
    )


def most_often_late(
    session: Session,
    first: Month,
    last: Month,
    surgeon_id: int | None,
    today: date,
    limit: int = MOST_LATE_LIMIT,
    version_id: int | None = None,
) -> list[LateStep]:
    """The protocol steps most often completed late or not at all, most late first."""
    by_step: dict[str, tuple[str, Phase, Tally]] = {}
    for code, title, phase, outcome, n in outcome_counts_by_step(
        session, first, last, surgeon_id, today, version_id
    ):
        _, _, tally = by_step.get(code, (title, phase, Tally()))
        by_step[code] = (title, phase, tally + Tally.of(outcome, n))
    steps = [LateStep(code, title, phase, tally) for code, (title, phase, tally) in by_step.items()]
    late = [s for s in steps if s.tally.late > 0]
    late.sort(key=lambda s: (-s.tally.late, -(s.late_percent or 0), s.code))
    return late[:limit]


WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 12, 30


def bar_chart(months: list[tuple[str, Tally]]) -> BarChart:
    """Two bars a month: completed % and completed on time %; a line at the high-compliance cut-off."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)
    bar_w = min(18.0, slot * 0.38)
    label_every = max(1, round(len(months) / 12))

    def y(percent: float) -> float:
        return TOP + plot_h * (1 - percent / 100)

    def bar(x: float, percent: float | None) -> Bar | None:
        if percent is None:
            return None
        return Bar(x=x, y=y(percent), height=plot_h * percent / 100, percent=percent)

    laid_out = []
    for i, (label, tally) in enumerate(months):
        centre = LEFT + slot * (i + 0.5)
        laid_out.append(
            ChartMonth(
                label=label,
                x=centre,
                completed=bar(centre - bar_w - 1, tally.completed_percent),
                on_time=bar(centre + 1, tally.on_time_percent),
                show_label=i % label_every == 0,
            )
        )
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        months=laid_out,
        y_ticks=[(y(v), v) for v in (0, 25, 50, 75, 100)],
        reference_y=y(HIGH_COMPLIANCE_PERCENT),
        bar_width=bar_w,
    )


def compliance_csv(report: ComplianceReport) -> Iterator[str]:
    """The report's figures per month, surgeon and phase (no patient data), as CSV chunks."""
    return csv_chunks(COMPLIANCE_HEADER, (compliance_record(*row) for row in report.detail))
