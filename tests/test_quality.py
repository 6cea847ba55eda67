"""Validation against the landing models, and masking of what is shown to people."""

from quality.masking import mask_record
from quality.quarantine import validate_rows
from quality.tables import landed_table
from quality.tables.erp import ErpCustomer
from quality.tables.esp import EspMember


def erp_row(**changes):
    row = {
        "customer_no": "C1",
        "first_name": "Matti",
        "last_name": "Virtanen",
        "street_address": None,
        "postal_code": None,
        "city": None,
        "country_code": "FI",
        "phone": None,
        "email": None,
        "birth_date": None,
        "marketing_ban": False,
        "created_at": "2024-01-01 10:00:00",
        "updated_at": "2024-01-02 10:00:00",
        "is_deleted": False,
    }
    return {**row, **changes}


def test_good_rows_pass_unchanged_and_bad_rows_carry_every_failed_check():
    good = erp_row()
    bad = erp_row(customer_no="C2", first_name="", country_code="Finland", updated_at="not a time")
    passed, rejected = validate_rows([good, bad], ErpCustomer)
    assert passed == [good]
    assert len(rejected) == 1 and rejected[0].raw is bad
    assert {c["column"] for c in rejected[0].checks} == {"first_name", "country_code", "updated_at"}


def test_a_column_missing_from_the_whole_batch_rejects_every_row():
    rows = [{k: v for k, v in erp_row(customer_no=f"C{i}").items() if k != "is_deleted"} for i in range(3)]
    passed, rejected = validate_rows(rows, ErpCustomer)
    assert passed == [] and len(rejected) == 3
    assert all(any(c["column"] == "is_deleted" for c in r.checks) for r in rejected)


def test_esp_member_id_must_be_an_md5():
    member = {
        "id": "x" * 32,
        "email_address": "a@b.fi",
        "status": "subscribed",
        "last_changed": "2025-01-01T00:00:00",
    }
    _, rejected = validate_rows([member], EspMember)
    assert rejected[0].checks[0]["column"] == "id"


def test_masking_hides_every_personal_field_but_keeps_record_facts():
    raw = {
        "id": 17,
        "first_name": "Matti",
        "email": "matti.virtanen@example.fi",
        "newsletter_opt_in": "yes",
        "billing": {"phone": "0401234567", "country": "FI"},
        "something_new": "Virtanen",
        "line": "L1;Matti;Virtanen;01.01.1970",
    }
    masked = mask_record(landed_table("webshop_customer"), raw)
    text = str(masked)
    for secret in ("Matti", "matti.virtanen", "0401234567", "Virtanen", "1970"):
        assert secret not in text
    assert masked["id"] == 17 and masked["newsletter_opt_in"] == "yes"
    assert masked["billing"]["country"] == "F***", "a country is a locality: masked"
    assert masked["something_new"] == "V***", "a field the description does not name is masked"
    assert masked["line"].startswith("L1;")
    invoice = mask_record(landed_table("erp_invoice"), {"customer_no": "C0100234", "total_eur": 12.5, "status": "paid"})
    assert invoice == {"customer_no": "C0100234", "total_eur": 12.5, "status": "paid"}
