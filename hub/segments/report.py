"""The segments report: one HTML page of charts and aggregates over a run's customer metrics.

The page has to open anywhere, offline, from a mail attachment or a shared drive, so it carries
everything it shows: the CSS is inline and every chart is a PNG embedded as a base64 data URI. The
same PNGs are also written beside it, for slides. Charts are drawn with matplotlib's Agg renderer on
``Figure`` objects (never ``pyplot``), so no display, global state or network is involved.

The report shows aggregates and customer counts only: no name, email or customer ID ever reaches the
page or a chart. Each chart is computed from a small aggregate first (counts per segment, a 5 x 5
grid, a stage-by-stage matrix) and the one scatter plot draws a fixed-seed sample, so that a report
over hundreds of thousands of customers still renders in seconds.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from transforms.segments.config import SCORES, RfmConfig

REPORT_NAME = "segments-report.html"
MAX_SCATTER_POINTS = 20_000
MAX_MEMBERSHIP_BARS = 25
DPI = 110

_RFM = RfmConfig()
SEGMENT_ORDER = (*(rule.name for rule in _RFM.segments), _RFM.no_purchase_segment)
STAGE_ORDER = ("suspect", "prospect", "new", "active", "regular", "lapsing", "churned")
QUADRANT_COLOURS = {"star": "#1b9e77", "growth": "#7570b3", "keep": "#d95f02", "streamline": "#9e9e9e"}
ABC_CLASSES = ("A", "B", "C")
NOT_IN_PREVIOUS = "(not in previous run)"
NOT_IN_CURRENT = "(no longer in the hub)"
NOTHING_BOUGHT = "No customer has bought anything yet."


@dataclass(frozen=True)
class Chart:
    """One section of the report: its PNG and how to read it, or, with nothing to draw, a note saying why."""

    slug: str
    title: str
    reading: str = ""
    png: bytes | None = None
    note: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.slug}.png"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png or b"").decode("ascii")


def write_report(
    out_dir: Path,
    metrics: pd.DataFrame,
    *,
    previous: pd.DataFrame | None,
    memberships: pd.DataFrame | None,
    as_of: date,
) -> Path:
    """Write the report and its chart PNGs into ``out_dir`` (created if needed) and return the HTML's path.

    ``metrics``: one row per customer, the columns of ``transforms.segments.metrics.METRIC_COLUMNS``.
    ``previous``: the previous run's metrics (``customer_id`` and ``lifecycle_stage`` at least), or
    None when there is none. ``memberships``: ``segment`` and ``customer_id`` of the declarative
    segments' current members, or None. A chart left out (no previous run) has its stale PNG from an
    earlier report removed, so that the folder always matches the page.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = [
        segment_sizes_chart(metrics, memberships),
        rfm_grid_chart(metrics),
        value_quadrant_chart(metrics),
        lifecycle_flow_chart(metrics, previous),
        churn_by_segment_chart(metrics),
        abc_chart(metrics),
    ]
    for chart in charts:
        path = out_dir / chart.file_name
        if chart.png is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(chart.png)
    report = out_dir / REPORT_NAME
    report.write_text(
        _TEMPLATE.render(as_of=as_of.isoformat(), summary=summary_rows(metrics, as_of), charts=charts), encoding="utf-8"
    )
    return report


# ---------------------------------------------------------------- numbers for people


def format_count(value: int) -> str:
    return f"{value:,}"


def format_customers(value: int) -> str:
    return f"{value:,} customer" if value == 1 else f"{value:,} customers"


def format_eur(value: float) -> str:
    """Two decimals with thousands separators; a rounded -0.00 reads as 0.00."""
    return f"EUR {round(value, 2) + 0.0:,.2f}"


def _numbers(values: pd.Series) -> np.ndarray:
    """Floats from whatever the database gave (Decimal, nullable integers, None), NaN for missing."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def summary_rows(metrics: pd.DataFrame, as_of: date) -> list[tuple[str, str]]:
    """The headline figures: (label, formatted value) pairs. Buyers are customers with at least one order."""
    orders = np.nan_to_num(_numbers(metrics["orders_total"]))
    return [
        ("As of", as_of.isoformat()),
        ("Customers", format_count(len(metrics))),
        ("Buyers (at least one order)", format_count(int((orders > 0).sum()))),
        ("Revenue, all time (net of returns)", format_eur(np.nansum(_numbers(metrics["revenue_total_eur"])))),
        ("Revenue, last 12 months (net of returns)", format_eur(np.nansum(_numbers(metrics["revenue_12m_eur"])))),
        ("Returns, all time", format_eur(np.nansum(_numbers(metrics["returns_eur"])))),
    ]


# ---------------------------------------------------------------- drawing helpers


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    """The figure as PNG bytes, without the software tag, so that equal data give equal files."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _label(name: object) -> str:
    """A name as matplotlib text: a '$' would otherwise start a formula (segment names are free text)."""
    return str(name).replace("$", r"\$")


def _say(axes: Axes, message: str) -> None:
    """Write ``message`` where a plot would be, for inputs that leave nothing to draw."""
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, fontsize=11, color="#555555")
    axes.set_axis_off()


def _annotate_cells(axes: Axes, labels: np.ndarray, shade: np.ndarray) -> None:
    """Write each cell's label on a heatmap, white on dark cells (``shade`` in 0-1) and black on light ones."""
    for (row, column), text in np.ndenumerate(labels):
        if text:
            colour = "white" if shade[row, column] > 0.6 else "black"
            axes.text(column, row, text, ha="center", va="center", fontsize=9, color=colour)


def _ordered(names: pd.Index, order: tuple[str, ...]) -> list[str]:
    """``names`` in the report's fixed order, names it does not know after them, alphabetically."""
    known = [name for name in order if name in names]
    return known + sorted(str(name) for name in names if name not in order)


# ---------------------------------------------------------------- 1. segment sizes


def rfm_segment_counts(metrics: pd.DataFrame) -> pd.Series:
    """Customers per RFM segment, every default segment listed (zero when empty), best to worst."""
    counts = metrics["rfm_segment"].fillna("(none)").astype(str).value_counts()
    return counts.reindex(_ordered(counts.index.union(SEGMENT_ORDER), SEGMENT_ORDER), fill_value=0)


def membership_counts(memberships: pd.DataFrame | None) -> pd.Series:
    """Distinct members per declarative segment, largest first, at most ``MAX_MEMBERSHIP_BARS`` of them."""
    if memberships is None or memberships.empty:
        return pd.Series(dtype="int64")
    counts = memberships.groupby("segment")["customer_id"].nunique()
    return counts.sort_values(ascending=False, kind="stable").head(MAX_MEMBERSHIP_BARS)


def _bars(axes: Axes, counts: pd.Series, total: int, limit: int, colour: str, title: str) -> None:
    """Horizontal bars, first at the top, each labelled with its count and share of all customers.

    ``limit`` is the longest bar of the whole figure, so that bars in different panels compare.
    """
    positions = np.arange(len(counts))
    axes.barh(positions, counts.to_numpy(), color=colour)
    axes.set_yticks(positions, [_label(name) for name in counts.index])
    axes.invert_yaxis()
    for position, count in zip(positions, counts.to_numpy(), strict=True):
        share = f" ({count / total:.1%})" if total else ""
        axes.text(count, position, f" {count:,}{share}", va="center", fontsize=8)
    axes.set_xlim(0, max(limit, 1) * 1.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_xlabel("customers")
    axes.set_title(title, loc="left", fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)


def segment_sizes_chart(metrics: pd.DataFrame, memberships: pd.DataFrame | None) -> Chart:
    rfm = rfm_segment_counts(metrics)
    members = membership_counts(memberships)
    heights = [len(rfm)] + ([len(members)] if len(members) else [])
    figure = _figure(9, 1.2 * len(heights) + 0.28 * sum(heights))
    panels = figure.subplots(len(heights), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    limit = int(max(rfm.max(), members.max() if len(members) else 0))
    _bars(panels[0], rfm, len(metrics), limit, "#4c72b0", "RFM segments")
    if len(members):
        _bars(panels[1], members, len(metrics), limit, "#55a868", "Declarative segments (current members)")
    reading = (
        "Each bar is the number of customers in a segment and its share of all customers; RFM segments run "
        "from the best customers at the top to the lost ones, prospects have not bought yet"
    )
    if memberships is None or memberships.empty:
        reading += "; no declarative segment has members."
    else:
        declared = memberships["segment"].nunique()
        shown = f" (the {len(members)} largest of {declared:,})" if declared > len(members) else ""
        reading += f"; a customer can belong to several declarative segments{shown}."
    return Chart("segment-sizes", "Segment sizes", reading, _png(figure))


# ---------------------------------------------------------------- 2. RFM grid


def rfm_grid(metrics: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Customer counts and mean m_score per (r_score, f_score) cell: rows r = 5 down to 1, columns f = 1 to 5."""
    r, f, m = (_numbers(metrics[column]) for column in ("r_score", "f_score", "m_score"))
    scored = ~(np.isnan(r) | np.isnan(f))
    rows, columns = 5 - r[scored].astype(int), f[scored].astype(int) - 1
    counts = np.zeros((5, 5))
    np.add.at(counts, (rows, columns), 1)
    m_sums, m_counts = np.zeros((5, 5)), np.zeros((5, 5))
    has_m = ~np.isnan(m[scored])
    np.add.at(m_sums, (rows[has_m], columns[has_m]), m[scored][has_m])
    np.add.at(m_counts, (rows[has_m], columns[has_m]), 1)
    mean_m = np.divide(m_sums, m_counts, out=np.full((5, 5), np.nan), where=m_counts > 0)
    return counts.astype(np.int64), mean_m


def _score_axes(axes: Axes, title: str) -> None:
    axes.set_xticks(range(5), [str(score) for score in SCORES])
    axes.set_yticks(range(5), [str(score) for score in reversed(SCORES)])
    axes.set_xlabel("f_score (frequency: 5 = most orders)")
    axes.set_ylabel("r_score (recency: 5 = bought most recently)")
    axes.set_title(title, fontsize=11)


def rfm_grid_chart(metrics: pd.DataFrame) -> Chart:
    counts, mean_m = rfm_grid(metrics)
    figure = _figure(10, 4.6)
    left, right = figure.subplots(1, 2)
    count_norm = Normalize(0, max(int(counts.max()), 1))
    left.imshow(counts, cmap="Blues", norm=count_norm)
    _annotate_cells(left, np.vectorize(lambda value: f"{value:,}")(counts), count_norm(counts))
    _score_axes(left, "Customers per cell")
    m_norm = Normalize(1, 5)
    right.imshow(np.ma.masked_invalid(mean_m), cmap="Greens", norm=m_norm)
    labels = np.where(np.isnan(mean_m), "", np.char.mod("%.1f", np.nan_to_num(mean_m)))
    _annotate_cells(right, labels, np.nan_to_num(m_norm(mean_m)))
    _score_axes(right, "Mean m_score (monetary, 1-5)")
    reading = (
        "Rows are recency scores and columns frequency scores; the left grid counts the customers in each cell "
        "and the right one shows how much they spend on average (m_score), so dark cells at the top right are the "
        "frequent, recent, valuable customers (those who never bought have no scores and are left out)."
    )
    return Chart("rfm-grid", "RFM grid", reading, _png(figure))


# ---------------------------------------------------------------- 3. value quadrant


def quadrant_sample(metrics: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The buyers' current and expected revenue with their quadrant, sampled to ``MAX_SCATTER_POINTS``.

    Returns the (possibly sampled) points and the number of buyers they were drawn from. The seed is
    fixed so that the same metrics always draw the same picture.
    """
    points = pd.DataFrame(
        {
            "current": _numbers(metrics["revenue_12m_eur"]),
            "expected": _numbers(metrics["expected_revenue_12m_eur"]),
            "quadrant": metrics["value_quadrant"].to_numpy(dtype=object),
        }
    ).dropna()
    if len(points) > MAX_SCATTER_POINTS:
        return points.sample(n=MAX_SCATTER_POINTS, random_state=0), len(points)
    return points, len(points)


def _euro_symlog(axes: Axes) -> None:
    """Log-like axes that still place zero (no revenue) and negative values (returns above sales)."""
    for axis, set_scale in ((axes.xaxis, axes.set_xscale), (axes.yaxis, axes.set_yscale)):
        set_scale("symlog", linthresh=10, linscale=0.5)
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def value_quadrant_chart(metrics: pd.DataFrame) -> Chart:
    points, buyers = quadrant_sample(metrics)
    figure = _figure(8, 6.4)
    axes = figure.subplots()
    title = "Value quadrant"
    if points.empty:
        _say(axes, NOTHING_BOUGHT)
        return Chart("value-quadrant", title, "Customers who bought are placed here once there are any.", _png(figure))
    totals = metrics["value_quadrant"].value_counts()
    size = 6 if len(points) > 2_000 else 16
    for quadrant in _ordered(pd.Index(points["quadrant"].unique()), tuple(QUADRANT_COLOURS)):
        chosen = points[points["quadrant"] == quadrant]
        label = f"{_label(quadrant)} ({int(totals.get(quadrant, 0)):,})"
        colour = QUADRANT_COLOURS.get(quadrant, "#333333")
        axes.scatter(chosen["current"], chosen["expected"], s=size, alpha=0.45, color=colour, label=label, linewidths=0)
    high = max(points["current"].max(), points["expected"].max(), 10.0)
    axes.plot([0, high], [0, high], ls=":", color="#555555", lw=1, label="expected = last 12 months")
    _euro_symlog(axes)
    axes.set_xlabel("revenue, last 12 months (EUR, net of returns)")
    axes.set_ylabel("expected revenue, next 12 months (EUR)")
    legend = axes.legend(title="quadrant (customers)", loc="upper left", markerscale=3, fontsize=9)
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    axes.grid(True, which="major", alpha=0.3)
    sampled = f" (a random sample of {len(points):,} of the {buyers:,} buyers)" if len(points) < buyers else ""
    reading = (
        f"Each dot is a customer who bought{sampled}: further right they spent more in the last twelve months, "
        "higher up the purchase model expects more from them next year, and above the dotted line they are expected "
        "to grow (axes are logarithmic above EUR 10 and linear below it, so that customers without revenue this year "
        "form the column at 0)."
    )
    return Chart("value-quadrant", title, reading, _png(figure))


# ---------------------------------------------------------------- 4. lifecycle flow


def lifecycle_transitions(metrics: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Customers by previous stage (rows) and current stage (columns), with customers new to or gone from the hub.

    Stages in lifecycle order; the rows ``NOT_IN_PREVIOUS`` and columns ``NOT_IN_CURRENT`` appear only
    when some customer is in one run and not the other.
    """
    stages = pd.concat(
        {
            "before": previous.set_index("customer_id")["lifecycle_stage"],
            "now": metrics.set_index("customer_id")["lifecycle_stage"],
        },
        axis=1,
    )
    stages = stages.fillna({"before": NOT_IN_PREVIOUS, "now": NOT_IN_CURRENT}).astype(str)
    counts = stages.groupby(["before", "now"]).size().unstack(fill_value=0)
    named = _ordered(counts.index.union(counts.columns).difference([NOT_IN_PREVIOUS, NOT_IN_CURRENT]), STAGE_ORDER)
    rows = named + ([NOT_IN_PREVIOUS] if NOT_IN_PREVIOUS in counts.index else [])
    columns = named + ([NOT_IN_CURRENT] if NOT_IN_CURRENT in counts.columns else [])
    return counts.reindex(index=rows, columns=columns, fill_value=0)


def _outline_stays(axes: Axes, matrix: pd.DataFrame) -> None:
    """Frame the cells of customers who kept their stage, so that moves stand out from stays."""
    for row, stage in enumerate(matrix.index):
        if stage in matrix.columns:
            column = matrix.columns.get_loc(stage)
            axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#333333", lw=1.2))


def lifecycle_flow_chart(metrics: pd.DataFrame, previous: pd.DataFrame | None) -> Chart:
    title = "Lifecycle flow since the previous run"
    if previous is None:
        return Chart(
            "lifecycle-flow", title, note="There is no previous run to compare with yet, so no lifecycle flow is shown."
        )
    matrix = lifecycle_transitions(metrics, previous)
    figure = _figure(max(6.5, 1.1 * len(matrix.columns) + 2.5), max(4.0, 0.55 * len(matrix.index) + 2.0))
    axes = figure.subplots()
    if matrix.empty:
        _say(axes, "Neither run has any customer.")
        return Chart("lifecycle-flow", title, "Customers' moves between stages appear here.", _png(figure))
    values = matrix.to_numpy()
    norm = LogNorm(0.5, max(int(values.max()), 2))  # below 1, so that a single customer still shows
    axes.imshow(np.ma.masked_equal(values, 0), cmap="Purples", norm=norm, aspect="auto")
    labels = np.where(values > 0, np.vectorize(lambda value: f"{value:,}")(values), "")
    _annotate_cells(axes, labels, np.nan_to_num(norm(np.maximum(values, 1))))
    axes.set_xticks(range(len(matrix.columns)), [_label(name) for name in matrix.columns], rotation=30, ha="right")
    axes.set_yticks(range(len(matrix.index)), [_label(name) for name in matrix.index])
    _outline_stays(axes, matrix)
    axes.set_xlabel("stage in this run")
    axes.set_ylabel("stage in the previous run")
    reading = (
        "Each row is where customers stood in the previous run and each column where they stand now, so the "
        "framed diagonal counts those who stayed and every other cell a move; colours are on a logarithmic scale and "
        "empty cells mean nobody made that move."
    )
    return Chart("lifecycle-flow", title, reading, _png(figure))


# ---------------------------------------------------------------- 5. churn risk by segment


def churn_by_segment(metrics: pd.DataFrame) -> dict[str, np.ndarray]:
    """Churn risks per RFM segment, segments in report order, those without any risk (prospects) left out."""
    risks = pd.Series(_numbers(metrics["churn_risk"]), index=metrics.index)
    segments = metrics["rfm_segment"].fillna("(none)").astype(str)
    groups = {name: group.dropna().to_numpy() for name, group in risks.groupby(segments)}
    return {name: groups[name] for name in _ordered(pd.Index(groups), SEGMENT_ORDER) if len(groups[name])}


def churn_by_segment_chart(metrics: pd.DataFrame) -> Chart:
    groups = churn_by_segment(metrics)
    figure = _figure(9, 1.3 + 0.4 * max(len(groups), 3))
    axes = figure.subplots()
    title = "Churn risk by RFM segment"
    if not groups:
        _say(axes, NOTHING_BOUGHT)
        return Chart(
            "churn-by-segment", title, "Churn risk per segment appears once customers have bought.", _png(figure)
        )
    labels = [f"{_label(name)} ({len(values):,})" for name, values in groups.items()]
    axes.boxplot(
        list(groups.values()),
        orientation="horizontal",
        tick_labels=labels,
        showfliers=False,
        showmeans=True,
        widths=0.6,
        patch_artist=True,
        boxprops={"facecolor": "#c6d5ea", "edgecolor": "#333333"},
        meanprops={"marker": "D", "markerfacecolor": "#c44e52", "markeredgecolor": "#c44e52", "markersize": 5},
        medianprops={"color": "#222222"},
    )
    axes.invert_yaxis()
    axes.set_xlim(-0.03, 1.03)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("churn risk")
    axes.grid(True, axis="x", alpha=0.3)
    reading = (
        "Each box spans the middle half of a segment's customers by churn risk (line: median, red diamond: mean, "
        "whiskers: the usual range, outliers not drawn), and the further right a segment lies the more of its "
        "customers are likely gone; prospects never bought and have no risk."
    )
    return Chart("churn-by-segment", title, reading, _png(figure))


# ---------------------------------------------------------------- 6. ABC classes


def abc_shares(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per ABC class: customers, twelve-month revenue, and both as shares of the whole (0 when the whole is 0)."""
    table = (
        pd.DataFrame(
            {"abc_class": metrics["abc_class"], "revenue": np.nan_to_num(_numbers(metrics["revenue_12m_eur"]))}
        )
        .groupby("abc_class")["revenue"]
        .agg(customers="size", revenue="sum")
        .reindex(ABC_CLASSES, fill_value=0)
    )
    customers, revenue = table["customers"].sum(), table["revenue"].sum()
    table["customer_share"] = table["customers"] / customers if customers else 0.0
    table["revenue_share"] = table["revenue"] / revenue if revenue > 0 else 0.0
    return table


def abc_chart(metrics: pd.DataFrame) -> Chart:
    table = abc_shares(metrics)
    figure = _figure(8, 4.8)
    axes = figure.subplots()
    positions = np.arange(len(table))
    for offset, column, colour, label in (
        (-0.2, "customer_share", "#8c8c8c", "share of customers"),
        (0.2, "revenue_share", "#4c72b0", "share of revenue, last 12 months"),
    ):
        bars = axes.bar(positions + offset, table[column], width=0.4, color=colour, label=label)
        axes.bar_label(bars, labels=[f"{share:.1%}" for share in table[column]], fontsize=9, padding=2)
    ticks = [
        f"{name}\n{format_customers(int(row.customers))}\n{format_eur(row.revenue)}" for name, row in table.iterrows()
    ]
    axes.set_xticks(positions, ticks)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylim(min(0.0, table["revenue_share"].min() * 1.2), 1.1)
    axes.axhline(0, color="#333333", lw=0.8)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=9, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    reading = (
        "For each ABC class, the grey bar is its share of all customers and the blue bar its share of the last "
        "twelve months' revenue: A customers bring the first 80% of revenue, B the next 15% (by default), C the rest "
        "(including everyone without revenue this year)."
    )
    return Chart("abc-revenue", "Revenue by ABC class", reading, _png(figure))


# ---------------------------------------------------------------- the page

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer segments as of {{ as_of }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table.summary { border-collapse: collapse; margin: 1em 0; }
table.summary th { text-align: left; font-weight: normal; padding: 0.3em 2em 0.3em 0; color: #555; }
table.summary td { text-align: right; padding: 0.3em 0; font-variant-numeric: tabular-nums; }
table.summary tr + tr { border-top: 1px solid #eee; }
img { max-width: 100%; height: auto; }
.reading { color: #444; }
.note { background: #f6f6f6; border-left: 4px solid #bbb; padding: 0.6em 1em; }
.file, .privacy { color: #777; font-size: 0.85em; }
</style>
</head>
<body>
<h1>Customer segments</h1>
<p class="privacy">As of {{ as_of }}. Aggregates and customer counts only:
no names, email addresses or customer IDs.</p>
<table class="summary" id="summary">
{% for label, value in summary %}<tr><th scope="row">{{ label }}</th><td>{{ value }}</td></tr>
{% endfor %}</table>
{% for chart in charts %}
<section id="{{ chart.slug }}">
<h2>{{ chart.title }}</h2>
{% if chart.png %}<p class="reading">{{ chart.reading }}</p>
<img id="chart-{{ chart.slug }}" src="{{ chart.data_uri }}" alt="{{ chart.title }}">
<p class="file">Also saved beside this page as {{ chart.file_name }}.</p>
{% else %}<p class="note">{{ chart.note }}</p>
{% endif %}</section>
{% endfor %}
</body>
</html>
"""
)
