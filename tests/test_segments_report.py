"""The segments report on a synthetic population: self-contained, complete, right in its figures, free of IDs."""

from __future__ import annotations

import base64
import io
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hub.segments.report import REPORT_NAME, write_report

AS_OF = date(2024, 6, 30)
CHARTS = ("segment-sizes", "rfm-grid", "value-quadrant", "lifecycle-flow", "churn-by-segment", "abc-revenue")
SEGMENTS = ("champions", "loyal", "promising", "at_risk", "lost")
STAGES = ("new", "active", "regular", "lapsing", "churned")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def synthetic_metrics(n: int = 400, buyer_share: float = 0.8, seed: int = 1) -> pd.DataFrame:
    """``n`` customers shaped like ``customer_metrics`` output; those who never bought as the models leave them.

    IDs have a hyphen, which base64 never produces, so finding one in the page can only mean a leak.
    """
    rng = np.random.default_rng(seed)
    bought = rng.random(n) < buyer_share
    orders = np.where(bought, rng.integers(1, 20, n), 0)
    revenue = np.where(bought, np.round(rng.lognormal(5, 1, n), 2), 0.0)
    scores = {
        column: pd.Series(rng.integers(1, 6, n), dtype="Int64").where(bought)
        for column in ("r_score", "f_score", "m_score")
    }
    last = pd.Timestamp(AS_OF, tz="UTC") - pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    return pd.DataFrame(
        {
            "customer_id": [f"cust-{index:05d}" for index in range(n)],
            "first_purchase_at": pd.Series(last - pd.Timedelta(days=30)).where(bought),
            "last_purchase_at": pd.Series(last).where(bought),
            "orders_total": orders,
            "orders_12m": np.minimum(orders, rng.integers(0, 5, n)),
            "revenue_total_eur": revenue,
            "revenue_12m_eur": np.where(bought, np.round(revenue * rng.random(n), 2), 0.0),
            "returns_eur": np.where(bought & (rng.random(n) < 0.2), np.round(rng.random(n) * 50, 2), 0.0),
            "channels": np.where(bought, "webshop", ""),
            **scores,
            "rfm_segment": np.where(bought, rng.choice(SEGMENTS, n), "prospect"),
            "lifecycle_stage": np.where(bought, rng.choice(STAGES, n), "suspect"),
            "abc_class": np.where(bought, rng.choice(["A", "B", "C"], n, p=[0.2, 0.3, 0.5]), "C"),
            "value_quadrant": pd.Series(rng.choice(["star", "growth", "keep", "streamline"], n)).where(bought),
            "churn_risk": pd.Series(rng.random(n)).where(bought),
            "churn_signals": "",
            "p_alive": pd.Series(rng.random(n)).where(bought),
            "expected_orders_12m": np.where(bought, rng.random(n) * 4, 0.0),
            "expected_revenue_12m_eur": np.where(bought, rng.lognormal(4, 1.5, n), 0.0),
        }
    )


class Page(HTMLParser):
    """The parts of the report the tests read: chart images by id and the summary table's rows."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.images: dict[str, str] = {}
        self.summary: dict[str, str] = {}
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images[str(values["id"]).removeprefix("chart-")] = str(values["src"])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            label, value = self._row
            self.summary[label] = value
            self._row = []


def png_of(data_uri: str) -> bytes:
    """The PNG a data URI carries, checked to decode as an image."""
    prefix = "data:image/png;base64,"
    assert data_uri.startswith(prefix)
    png = base64.b64decode(data_uri.removeprefix(prefix), validate=True)
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.width > 100 and image.height > 100
    return png


def memberships_of(metrics: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"segment": "vip", "customer_id": metrics.loc[metrics["abc_class"] == "A", "customer_id"]}),
            pd.DataFrame({"segment": "winback", "customer_id": metrics["customer_id"].iloc[::7]}),
        ]
    )


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    return synthetic_metrics()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, metrics: pd.DataFrame) -> Path:
    previous = synthetic_metrics(seed=2).iloc[40:]
    out = tmp_path_factory.mktemp("report")
    return write_report(out, metrics, previous=previous, memberships=memberships_of(metrics), as_of=AS_OF)


def test_the_page_needs_no_network(report: Path):
    html = report.read_text(encoding="utf-8")
    assert report.name == REPORT_NAME
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html


def test_every_chart_is_an_embedded_png_also_written_beside_the_page(report: Path):
    images = Page(report.read_text(encoding="utf-8")).images
    assert tuple(images) == CHARTS
    for slug, data_uri in images.items():
        assert png_of(data_uri) == (report.parent / f"{slug}.png").read_bytes()


def test_the_summary_is_worked_out_from_the_metrics(report: Path, metrics: pd.DataFrame):
    assert Page(report.read_text(encoding="utf-8")).summary == {
        "As of": "2024-06-30",
        "Customers": "400",
        "Buyers (at least one order)": f"{(metrics['orders_total'] > 0).sum():,}",
        "Revenue, all time (net of returns)": f"EUR {metrics['revenue_total_eur'].sum():,.2f}",
        "Revenue, last 12 months (net of returns)": f"EUR {metrics['revenue_12m_eur'].sum():,.2f}",
        "Returns, all time": f"EUR {metrics['returns_eur'].sum():,.2f}",
    }


def test_money_has_thousands_separators(report: Path, metrics: pd.DataFrame):
    revenue = Page(report.read_text(encoding="utf-8")).summary["Revenue, all time (net of returns)"]
    assert metrics["revenue_total_eur"].sum() > 1000 and "," in revenue and revenue.split(".")[-1].isdigit()


def test_no_customer_id_reaches_the_page(report: Path, metrics: pd.DataFrame):
    html = report.read_text(encoding="utf-8")
    assert not [customer for customer in metrics["customer_id"] if customer in html]
    assert "cust-" not in html


def test_without_a_previous_run_the_page_says_so_and_draws_no_flow(tmp_path: Path, metrics: pd.DataFrame):
    (tmp_path / "lifecycle-flow.png").write_bytes(b"stale")
    report = write_report(tmp_path, metrics, previous=None, memberships=None, as_of=AS_OF)
    html = report.read_text(encoding="utf-8")
    assert "no previous run" in html
    assert "lifecycle-flow" not in Page(html).images
    assert not (tmp_path / "lifecycle-flow.png").exists()
    assert len(Page(html).images) == len(CHARTS) - 1


@pytest.mark.parametrize(
    "population",
    [synthetic_metrics(50, buyer_share=0.0), synthetic_metrics(0)],
    ids=["nobody-bought", "no-customers"],
)
def test_degenerate_populations_still_render(tmp_path: Path, population: pd.DataFrame):
    empty_members = pd.DataFrame({"segment": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str)})
    report = write_report(tmp_path, population, previous=population, memberships=empty_members, as_of=AS_OF)
    page = Page(report.read_text(encoding="utf-8"))
    assert tuple(page.images) == CHARTS
    for data_uri in page.images.values():
        png_of(data_uri)
    assert page.summary["Customers"] == f"{len(population):,}"
    assert page.summary["Buyers (at least one order)"] == "0"
    assert page.summary["Revenue, all time (net of returns)"] == "EUR 0.00"
