"""Declarative segments and audiences, on small populations whose right answer is worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hub.settings.documents import DocumentError, load_document
from transforms.segments.audiences import AudienceSettings, decide, holdout_draw
from transforms.segments.rules import Segment, explain

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "abc_class": ["A", "A", "B", "A", None],
        "lifecycle_stage": ["lapsing", "active", "churned", "churned", "new"],
        "churn_risk": [0.1, 0.7, 0.9, None, 0.2],
        "channels": ["erp,webshop", "loyalty", "webshop", "", None],
        "birthday_today": [False, True, False, False, False],
    }
)
VIP = {
    "name": "vip_lapsing",
    "description": "A-class customers going quiet",
    "owner": "crm",
    "purpose": "profiling",
    "rule": {
        "all": [
            {"field": "abc_class", "op": "eq", "value": "A"},
            {
                "any": [
                    {"field": "lifecycle_stage", "op": "in", "value": ["lapsing", "churned"]},
                    {"field": "churn_risk", "op": "gte", "value": 0.6},
                ]
            },
        ]
    },
}


def test_a_rule_selects_exactly_the_customers_it_says():
    # a: A and lapsing; b: A and risk 0.7; c: B; d: A and churned (risk unknown); e: no class
    assert Segment.model_validate(VIP).members(CUSTOMERS).tolist() == ["a", "b", "d"]


@pytest.mark.parametrize(
    ("condition", "members"),
    [
        ({"field": "channels", "op": "contains", "value": "webshop"}, ["a", "c"]),
        ({"field": "churn_risk", "op": "is_null"}, ["d"]),
        ({"field": "churn_risk", "op": "lt", "value": 0.2}, ["a"]),
        ({"field": "abc_class", "op": "ne", "value": "A"}, ["c"]),
        ({"field": "lifecycle_stage", "op": "not_in", "value": ["churned"]}, ["a", "b", "e"]),
        ({"field": "birthday_today", "op": "is_true"}, ["b"]),
    ],
)
def test_each_operator(condition, members):
    segment = Segment.model_validate({**VIP, "rule": {"all": [condition]}})
    assert segment.members(CUSTOMERS).tolist() == members


def test_explain_says_which_condition_holds():
    lines = explain(Segment.model_validate(VIP).rule, CUSTOMERS.iloc[2].to_dict())
    assert lines == [
        (0, "all of", False),
        (1, "abc_class eq 'A'", False),
        (1, "any of", True),
        (2, "lifecycle_stage in ['lapsing', 'churned']", True),
        (2, "churn_risk gte 0.6", True),
    ]


SEGMENT_FILE = """name: vip_lapsing
description: A-class customers going quiet
owner: crm
purpose: profiling
rule:
  all:
    - field: abc_class
      op: eq
      value: A
    - any:
        - field: lifecycle_stage
          op: in
          value: [lapsing, churned]
        - field: churn_risk
          op: {op}
          value: {value}
"""


@pytest.mark.parametrize(
    ("op", "value", "problem"),
    [
        ("gte", "high", "line 14: rule.all[1].any[1]: value 'high' is not a number"),
        ("contains", "0.6", "line 14: rule.all[1].any[1]: churn_risk is a number: op must be one of"),
        ("gte", "[0.6", "line 17: not valid YAML"),
    ],
)
def test_a_bad_segment_file_names_file_line_and_problem(tmp_path: Path, op, value, problem):
    path = tmp_path / "vip.yaml"
    path.write_text(SEGMENT_FILE.format(op=op, value=value))
    with pytest.raises(DocumentError) as refused:
        load_document(path, Segment)
    assert str(refused.value).startswith(f"{path} ") and problem in str(refused.value)


def test_a_segment_with_code_in_it_is_refused(tmp_path: Path):
    path = tmp_path / "evil.yaml"
    path.write_text(SEGMENT_FILE.format(op="gte", value="0.6") + '    - sql: "1 = 1; DROP TABLE x"\n')
    with pytest.raises(DocumentError, match=r"line 17: rule.all\[2\].sql: Extra inputs are not permitted"):
        load_document(path, Segment)


def audiences(**changes) -> AudienceSettings:
    return AudienceSettings.model_validate(
        {
            "frequency_cap": {"messages": 2, "days": 7},
            "product_categories": {"outerwear": ["Kuoritakki"]},
            "audiences": [
                {"name": "first", "segment": "s1", "purpose": "email_marketing", "channel": "email"},
                {
                    "name": "second",
                    "segment": "s2",
                    "purpose": "email_marketing",
                    "channel": "email",
                    "exclude_recent_buyers": {"categories": ["outerwear"], "days": 30},
                },
                {"name": "third", "segment": "s2", "purpose": "profiling", "channel": "any"},
            ],
            **changes,
        }
    )


def test_who_may_be_contacted_and_why_not():
    members = pd.DataFrame(
        {
            "segment": ["s1"] * 5 + ["s2"] * 5,
            "customer_id": ["ok", "restricted", "objected", "no_consent", "busy"] + ["ok", "buyer", "busy", "old", "x"],
        }
    )
    granted = pd.DataFrame(
        [(c, p) for c in ("ok", "restricted", "objected", "busy", "buyer", "old", "x") for p in ("email_marketing",)]
        + [("ok", "profiling"), ("busy", "profiling")],
        columns=["customer_id", "purpose"],
    )
    decisions = decide(
        audiences(),
        members,
        granted=granted,
        flags=pd.DataFrame({"customer_id": ["restricted", "objected"], "flag": ["restricted", "objected"]}),
        recent_categories=pd.DataFrame(
            {"customer_id": ["buyer", "old"], "category": ["outerwear", "outerwear"], "days_ago": [10, 45]}
        ),
        sent_recently=pd.Series({"busy": 1}),
        current=pd.DataFrame({"audience": ["third"], "customer_id": ["x"]}),
    )
    why = {(a, c): r for a, c, _, r in decisions.itertuples(index=False)}
    assert why == {
        ("first", "ok"): "eligible",
        ("first", "restricted"): "restricted",
        ("first", "objected"): "objected",
        ("first", "no_consent"): "no consent for email_marketing",
        ("first", "busy"): "eligible",  # one message sent this week, this is the second
        ("second", "ok"): "eligible",
        ("second", "buyer"): "bought outerwear within 30 days",
        ("second", "busy"): "frequency cap: 2 messages in 7 days",  # across audiences
        ("second", "old"): "eligible",  # bought outerwear 45 days ago: outside the window
        ("second", "x"): "eligible",
        ("third", "ok"): "frequency cap: 2 messages in 7 days",  # 'first' and 'second' came before
        ("third", "buyer"): "no consent for profiling",
        ("third", "busy"): "frequency cap: 2 messages in 7 days",
        ("third", "old"): "no consent for profiling",
        ("third", "x"): "no consent for profiling",
    }
    assert decisions.loc[decisions["reason"] == "eligible", "included"].all()
    assert not decisions.loc[decisions["reason"] != "eligible", "included"].any()


def test_staying_in_an_audience_is_no_new_message():
    members = pd.DataFrame({"segment": ["s1", "s2"], "customer_id": ["k", "k"]})
    granted = pd.DataFrame({"customer_id": ["k", "k"], "purpose": ["email_marketing", "profiling"]})
    decisions = decide(
        audiences(),
        members,
        granted=granted,
        flags=pd.DataFrame(columns=["customer_id", "flag"]),
        recent_categories=pd.DataFrame(columns=["customer_id", "category", "days_ago"]),
        sent_recently=pd.Series({"k": 2}),
        current=pd.DataFrame({"audience": ["first", "third"], "customer_id": ["k", "k"]}),
    )
    assert dict(zip(decisions["audience"], decisions["reason"], strict=True)) == {
        "first": "eligible",
        "second": "frequency cap: 2 messages in 7 days",
        "third": "eligible",
    }


def test_the_holdout_is_stable_and_near_its_share():
    ids = pd.Series([f"CUST{n:010d}" for n in range(4000)])
    draw = holdout_draw("vip", ids)
    assert (draw == holdout_draw("vip", ids)).all() and 0.08 < (draw < 0.1).mean() < 0.12
    assert not (draw == holdout_draw("other", ids)).all(), "each audience has its own control group"


def test_audience_settings_refuse_unknown_categories_and_twice_used_names():
    with pytest.raises(ValueError, match="not in product_categories"):
        audiences(product_categories={})
    with pytest.raises(ValueError, match="used twice"):
        audiences(audiences=[{"name": "a", "segment": "s", "purpose": "p", "channel": "c"}] * 2)
