"""Standardisation of identity fields as the four systems write them."""

import pandas as pd
import pytest

from quality.canonical import email_local_part, normalise_email, normalise_phone
from transforms.source_records import standardise
from transforms.standardise.addresses import house_number, normalise_postcode, normalise_street, street_name
from transforms.standardise.names import clean_name, fold_name


@pytest.mark.parametrize(
    ("raw", "display", "folded"),
    [
        ("  anna -liisa ", "Anna-Liisa", "anna liisa"),
        ("MÄKELÄ", "Mäkelä", "makela"),
        ("HÃ¤mÃ¤lÃ¤inen", "Hämäläinen", "hamalainen"),
        ("van der Berg", "van der Berg", "van der berg"),
        ("   ", None, None),
    ],
)
def test_names_keep_a_display_form_and_fold_for_comparison(raw, display, folded):
    assert clean_name(raw) == display
    assert fold_name(raw) == folded


@pytest.mark.parametrize("raw", ["040 123 4567", "0401234567", "+358401234567", "+358 40 1234567", "040-1234567"])
def test_every_finnish_phone_format_becomes_e164(raw):
    assert normalise_phone(raw) == "+358401234567"


def test_invalid_phone_and_email_become_missing():
    assert normalise_phone("12") is None
    assert normalise_email("matti@") is None
    assert normalise_email("no at sign") is None


def test_emails_are_trimmed_lower_cased_and_keep_their_user_part():
    assert normalise_email("  Matti.Virtanen@Gmail.COM ") == "matti.virtanen@gmail.com"
    assert email_local_part("matti.virtanen+shop@gmail.com") == "matti.virtanen"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Hämeenk. 12 B7", "hameenkatu 12 b 7"),
        ("Hämeenkatu 12 b 7", "hameenkatu 12 b 7"),
        ("Koivut. 3 as. 4", "koivutie 3 4"),
        ("Kauppakj. 3B 4", "kauppakuja 3 b 4"),
    ],
)
def test_street_abbreviations_and_unit_styles_agree(raw, normalised):
    assert normalise_street(raw) == normalised
    assert street_name(normalised).isalpha()


def test_a_house_number_leaves_out_the_unit_and_the_letter():
    assert house_number("hameenkatu 12 b 7") == "12"
    assert house_number("koivutie 3a") == "3"
    assert house_number("bertel jungin tie 20 c 15") == "20"
    assert house_number("kauppatori") is None
    assert house_number("2. linja 5") == "5", "a number before the street's words is part of its name"


def test_postal_codes_must_have_five_digits():
    assert normalise_postcode("33100") == "33100"
    assert normalise_postcode("3310") is None


def test_birth_dates_from_every_system_and_the_email_platforms_month_day():
    identities = pd.DataFrame(
        {
            "source_system": ["erp", "loyalty", "esp"],
            "source_key": ["C1", "L1", "abc"],
            "first_name": ["Matti", "MATTI", "matti"],
            "last_name": ["Virtanen", "Virtanen", "Virtanen"],
            "email": [None, None, "m@example.fi"],
            "phone": [None, "040 123 4567", None],
            "birth_date": ["1980-03-07", "1980-03-07", "03/07"],
            "street": ["Hämeenk. 1", None, None],
            "postal_code": ["33100", "33100", None],
            "city": ["TAMPERE", None, None],
            "updated_at": ["2025-01-01 10:00:00", None, "2025-02-01T00:00:00"],
        }
    )
    records = standardise(identities).set_index("unique_id")
    assert records.loc["erp:C1", "birth_date"] == pd.Timestamp("1980-03-07")
    assert pd.isna(records.loc["esp:abc", "birth_date"])
    assert set(records["birth_month_day"]) == {"03-07"}
    assert records.loc["loyalty:L1", "first_name_display"] == "Matti"
    assert records.loc["erp:C1", "city_display"] == "Tampere"
    assert records.loc["erp:C1", "street"] == "hameenkatu 1"


def test_a_raw_fingerprint_moves_with_any_raw_field_but_the_touch_time_and_with_the_standardisation(monkeypatch):
    from transforms import source_records

    identities = pd.DataFrame(
        {
            "source_system": ["erp", "erp"],
            "source_key": ["1", "2"],
            "first_name": ["Anna", "Anna"],
            "email": ["anna@example.fi", "anna@example.fi"],
            "updated_at": ["2026-01-01 10:00:00", "2026-01-01 10:00:00"],
            "soft_deleted": [False, False],
        }
    )
    before = source_records.raw_fingerprints(identities)
    assert before[0] != before[1]  # the key is part of it
    edited = identities.assign(first_name=["Anna", "Ana"])
    after = source_records.raw_fingerprints(edited)
    assert after[0] == before[0] and after[1] != before[1]
    assert source_records.raw_fingerprints(identities.assign(soft_deleted=[True, False]))[0] != before[0]
    touched = identities.assign(updated_at=["2026-06-01 10:00:00", "2026-01-01 10:00:00"])  # the hub set a tag
    assert source_records.raw_fingerprints(touched).equals(before), "a touch is no change of the record"
    monkeypatch.setattr(source_records, "standardisation_digest", lambda: "another version of the code")
    assert (source_records.raw_fingerprints(identities) != before).all()
