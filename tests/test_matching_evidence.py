"""Each kind of matching mistake the independent population showed, built by hand with its right answer.

False merges: chains through one weak link, namesakes who share an email, records without names that
share a household's phone. Missed merges: a last name replaced at marriage, an email one letter off or
reordered at the same provider.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transforms.matching.blocking import blocking_keys, candidate_pairs
from transforms.matching.clustering import ClusterInput, cluster
from transforms.matching.email_names import with_names_from_email
from transforms.matching.engine import hard_conflicts
from transforms.matching.features import LEVELS, MISSING, compare
from transforms.matching.model import MatchModel, estimate_u
from transforms.matching.owners import shared_by_several
from transforms.matching.settings import BlockingPass, Comparisons

pytestmark = pytest.mark.unit

COLUMNS = ("first_name", "last_name", "email", "phone", "birth_date", "street", "postal_code")
EMPTY = np.empty((0, 2), dtype=np.int64)


def records(*rows: tuple) -> pd.DataFrame:
    """Standardised records from tuples in ``COLUMNS`` order (None where unknown)."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS), dtype=object)
    frame["birth_date"] = pd.to_datetime(frame["birth_date"]).astype("datetime64[ns]")
    month_day = frame["birth_date"].dt.strftime("%m-%d").astype(object)
    frame["birth_month_day"] = month_day.where(frame["birth_date"].notna())
    frame["email_local"] = frame["email"].str.split("@").str[0]
    frame["street_name"] = frame["street"].str.split(" ").str[0]
    return frame.astype({c: object for c in frame.columns if c != "birth_date"})


def clusters(frame: pd.DataFrame, edges: list, weights: list, with_records: bool = True) -> np.ndarray:
    return cluster(
        ClusterInput(
            len(frame),
            np.array(edges, dtype=np.int64).reshape(-1, 2),
            np.array(weights, dtype=float),
            EMPTY,
            EMPTY,
            records=frame if with_records else None,
        )
    )


def levels_of(frame: pd.DataFrame, pairs: list) -> pd.DataFrame:
    return compare(frame, np.array(pairs, dtype=np.int64).reshape(-1, 2), Comparisons())


def level(feature: str, name: str) -> int:
    return LEVELS[feature].index(name)


# False merges ---------------------------------------------------------------------------------------------


def test_two_sisters_each_named_consistently_are_not_chained_by_one_similar_pair():
    # Maria (0, 1) and Marja (2, 3) Keskikylä: every system spells each of them the same way; the
    # pair 1-2 looks like a typo of one name, and would chain the two sisters together.
    frame = records(
        ("maria", "keskikyla", "maria.k@gmail.com", "+358401111111", None, "rantatie 1", "00100"),
        ("maria", "keskikyla", None, "+358401111111", None, "rantatie 1", "00100"),
        ("marja", "keskikyla", None, "+358402222222", None, "rantatie 1", "00100"),
        ("marja", "keskikyla", "marja.k@gmail.com", "+358402222222", None, "rantatie 1", "00100"),
    )
    edges, weights = [[0, 1], [2, 3], [1, 2]], [30.0, 30.0, 6.0]
    assert len(set(clusters(frame, edges, weights, with_records=False))) == 1, "pairs alone chain them"
    labels = clusters(frame, edges, weights)
    assert labels[0] == labels[1] != labels[2] == labels[3]


def test_a_phone_one_digit_off_or_a_shared_birth_date_still_joins():
    frame = records(
        ("ville", "aho", None, "+358401111111", "1970-03-04", None, None),
        ("ville", "aho", None, "+358401111112", None, None, None),
        ("ville", "aho", None, "+358409999999", "1970-03-04", None, None),
    )
    labels = clusters(frame, [[0, 1], [0, 2]], [30.0, 20.0])
    assert labels[0] == labels[1] == labels[2], "a typo in a phone; a new phone with the same birth date"


def test_a_one_off_nickname_still_joins_its_person():
    # Juhani in two systems, Jussi once: one record is a nickname, not a second person.
    frame = records(
        ("juhani", "lahti", "juhani.lahti@iki.fi", None, "1970-03-04", None, None),
        ("juhani", "lahti", "juhani.lahti@iki.fi", None, None, None, None),
        ("jussi", "lahti", None, None, "1970-03-04", None, None),
    )
    labels = clusters(frame, [[0, 1], [1, 2]], [30.0, 8.0])
    assert labels[0] == labels[1] == labels[2]


def test_namesakes_sharing_an_email_stay_apart_when_their_phones_differ():
    # Two Matti Virtanens: 0 and 1 are one (phone, address); 2 and 3 the other; 2 uses 0's email
    # (typed for the wrong namesake). The weak pair 1-2 would chain them; no phone of one side is
    # like the other's, so the email has two owners.
    frame = records(
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358401111111", None, "koivutie 2", "33100"),
        ("matti", "virtanen", None, "+358401111111", None, "koivutie 2", "33100"),
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358409999999", None, "kuusitie 9", "90100"),
        ("matti", "virtanen", None, "+358409999999", None, "kuusitie 9", "90100"),
    )
    labels = clusters(frame, [[0, 1], [2, 3], [1, 2]], [30.0, 30.0, 6.0])
    assert labels[0] == labels[1] != labels[2] == labels[3]


def test_namesakes_given_one_email_stay_apart_when_they_live_apart_and_share_nothing_else():
    # Two Aino Mäkis: 0 and 1 are one (her email, Tampere); 2 gave that email too but lives in Oulu and
    # shares no phone and no birth date with 0 and 1: a slip of the namesake's address, not a second home.
    # 3 moved from Tampere to Oulu: her phone is in both, so she is one person.
    frame = records(
        ("aino", "maki", "aino.maki@gmail.com", None, None, "koivutie 2", "33100"),
        ("aino", "maki", None, "+358401111111", "1980-02-03", "koivutie 2", "33100"),
        ("aino", "maki", "aino.maki@gmail.com", None, None, "kuusitie 9", "90100"),
        ("aila", "maki", "aila.maki@gmail.com", "+358402222222", None, "koivutie 4", "33100"),
        ("aila", "maki", "aila.maki@gmail.com", "+358402222222", None, "kuusitie 1", "90100"),
    )
    labels = clusters(frame, [[0, 1], [0, 2], [3, 4]], [30.0, 20.0, 40.0])
    assert labels[0] == labels[1] != labels[2]
    assert labels[3] == labels[4], "a move with a phone in common is one person"


def test_namesakes_a_few_doors_apart_stay_apart_unless_a_phone_or_birth_date_joins_them():
    # Two Tuula Ylälaaksos on Bostaksenpolku, numbers 2 and 8: 1 gave 0's email (a slip), and shares
    # no phone and no birth date with 0. Pertti (3, 4) lives at number 6, written once without his flat:
    # one building, one person. Jari (5, 6) moved within the postal code and kept his phone.
    frame = records(
        ("tuula", "ylalaakso", "tuula.y@gmail.com", "+358408448542", None, "bostaksenpolku 2", "37120"),
        ("tuula", "ylalaakso", "tuula.y@gmail.com", None, "1982-07-25", "bostaksenpolku 8 e 10", "37120"),
        ("tuula", "ylalaakso", None, "+358408448542", None, "bostaksenpolku 2", "37120"),
        ("pertti", "peltola", "pertti.p@gmail.com", None, None, "harjurinne 6 a 3", "40790"),
        ("pertti", "peltola", "pertti.p@gmail.com", None, "1960-01-02", "harjurinne 6", "40790"),
        ("jari", "aho", "jari.aho@gmail.com", "+358401234567", None, "koulutie 3", "40790"),
        ("jari", "aho", None, "+358401234567", None, "koulutie 9", "40790"),
    )
    labels = clusters(frame, [[0, 2], [0, 1], [3, 4], [5, 6]], [30.0, 20.0, 20.0, 20.0])
    assert labels[0] == labels[2] != labels[1]
    assert labels[3] == labels[4], "a flat left out is the same home"
    assert labels[5] == labels[6], "a move with a phone in common is one person"


def test_a_house_number_that_differs_on_one_street_is_no_typo_of_the_address():
    frame = records(
        ("pertti", "peltola", None, None, None, "harjurinne 6", "40790"),
        ("pertti", "peltola", None, None, None, "harjurinne 10", "40790"),
        ("pertti", "peltola", None, None, None, "harjurine 6 b 2", "40790"),
        ("pertti", "peltola", None, None, None, None, "40790"),
        ("pertti", "peltola", None, None, None, "rantatie 5 b 12", "40790"),
        ("pertti", "peltola", None, None, None, "rantakatu 5 b 12", "40790"),
    )
    levels = levels_of(frame, [[0, 1], [0, 2], [0, 3], [4, 5]])
    assert levels["address"].tolist() == [
        level("address", "another home, same postal code"),
        level("address", "same building"),
        level("address", "same postal code"),
        level("address", "another home, same postal code"),
    ], "a postal code is all that is known of 3's home; two streets are not one for a shared number and flat"


def test_one_email_under_two_owners_is_a_conflict_between_the_pair_itself():
    frame = records(
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358401111111", None, "koivutie 2", "33100"),
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358409999999", None, "kuusitie 9", "90100"),
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358409999999", None, "koivutie 2", "33100"),
    )
    conflicts = hard_conflicts(levels_of(frame, [[0, 1], [0, 2]]))
    assert conflicts.tolist() == [True, False], "a household's phone or a move alone is no second owner"


def test_one_email_given_at_another_home_in_the_postal_code_with_another_phone_has_two_owners():
    frame = records(
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358401111111", None, "koivutie 2", "33100"),
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358409999999", None, "koivutie 8", "33100"),
        ("matti", "virtanen", "matti.virtanen@gmail.com", "+358409999999", None, "koivutie 2 a 1", "33100"),
    )
    conflicts = hard_conflicts(levels_of(frame, [[0, 1], [0, 2]]))
    assert conflicts.tolist() == [True, False], "another home and another phone; the same home is a household's"


def test_birth_dates_that_differ_anywhere_across_two_clusters_keep_them_apart_but_a_day_month_swap_does_not():
    def frame(born: str) -> pd.DataFrame:
        return records(
            ("liisa", "aho", None, None, "1980-04-07", None, None),
            ("liisa", "aho", "liisa.aho@gmail.com", None, None, None, None),
            ("liisa", "aho", "liisa.aho@gmail.com", None, None, None, None),
            ("liisa", "aho", None, None, born, None, None),
        )

    edges, weights = [[0, 1], [2, 3], [1, 2]], [20.0, 20.0, 15.0]
    labels = clusters(frame("1986-11-30"), edges, weights)
    assert labels[0] == labels[1] != labels[2] == labels[3], "0 and 3 were never compared, yet they differ"
    assert len(set(clusters(frame("1980-07-04"), edges, weights))) == 1, "day and month swapped: one date"


def test_a_record_without_names_does_not_bridge_two_people():
    # 2 has no names: it shares Anna's email and Pekka's household phone. It may join one of them,
    # never both: Anna and Pekka have no name in common.
    frame = records(
        ("anna", "korhonen", "anna.k@gmail.com", None, None, None, None),
        ("anna", "korhonen", "anna.k@gmail.com", None, None, None, None),
        (None, None, "anna.k@gmail.com", "+358405555555", None, None, None),
        ("pekka", "virtanen", None, "+358405555555", None, None, None),
    )
    labels = clusters(frame, [[0, 1], [1, 2], [2, 3]], [30.0, 20.0, 10.0])
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_a_household_phone_is_no_evidence_for_a_record_without_names():
    # Sami and Raimo give one phone; a nameless account with it could be either of them.
    frame = records(
        ("sami", "nurmi", None, "+358400000001", None, "koulutie 3", "40100"),
        ("raimo", "honkanen", None, "+358400000001", None, "koulutie 3", "40100"),
        (None, None, "sade47822@gmail.com", "+358400000001", None, "koulutie 3", "40100"),
    )
    assert shared_by_several(frame, Comparisons())["phone"].tolist() == [True, True, True]
    levels = levels_of(frame, [[0, 2]])
    assert levels.loc[0, "phone"] == MISSING
    assert levels.loc[0, "address"] == level("address", "exact"), "the address still says which household"


def test_a_nameless_record_is_named_by_its_email_only_when_the_email_is_made_of_known_names():
    frame = records(
        ("paula", "leppavuori", None, None, None, None, None),
        ("paula", "aho", None, None, None, None, None),
        ("nahita", "leppavuori", None, None, None, None, None),
        (None, None, "leppavuori.paula86@saunalahti.fi", None, None, None, None),
        (None, None, "perhe.leppavuori@gmail.com", None, None, None, None),
        (None, None, "sauna10@hotmail.com", None, None, None, None),
        (None, None, "paula.m.aho@gmail.com", None, None, None, None),
        (None, None, "pleppavuori77@gmail.com", None, None, None, None),
        ("ville", "aho", None, None, None, None, None),
        (None, None, "karhu88@gmail.com", None, None, None, None),
        ("ville", "karhu", None, None, None, None, None),
        ("sami", "karhu", None, None, None, None, None),
    )
    named = with_names_from_email(frame)
    assert named.loc[3, ["first_name", "last_name"]].tolist() == ["paula", "leppavuori"]
    assert named.loc[6, ["first_name", "last_name"]].tolist() == ["paula", "aho"], "a middle initial"
    assert named.loc[[4, 5, 7], "first_name"].isna().all(), "'perhe' (family) is no first name; 'sauna10' no name"
    assert named.loc[[4, 5, 7], "email_family"].tolist() == ["leppavuori", None, "leppavuori"], "the family's name"
    assert named.loc[9, "email_family"] is None, "a short last name may be any word ('karhu88')"
    assert frame.loc[3, "first_name"] is None, "the records themselves are not changed"


def test_another_familys_name_in_a_nameless_records_email_makes_a_shared_phone_and_home_no_evidence():
    # Pertti's household gives one phone; the nameless order 2 is a Honkanen's ('hhonkanen'), placed at
    # his home with his phone. Order 3 ('haukkamaa.p') is his own. (A word is a name when two records use it.)
    frame = records(
        ("pertti", "haukkamaa", None, "+358440654278", None, "rautatienpolku 5", "00850"),
        ("hanna", "honkanen", "hanna.honkanen@iki.fi", None, None, "asemakatu 1", "00100"),
        (None, None, "hhonkanen@kolumbus.fi", "+358440654278", None, "rautatienpolku 5", "00850"),
        (None, None, "haukkamaa.p@kolumbus.fi", "+358440654278", None, "rautatienpolku 5", "00850"),
        ("pertti", "haukkamaa", None, None, None, None, None),
        ("hanna", "honkanen", None, None, None, None, None),
    )
    levels = levels_of(with_names_from_email(frame), [[0, 2], [0, 3]])
    assert levels.loc[0, ["phone", "address"]].tolist() == [MISSING, MISSING]
    assert levels.loc[1, ["phone", "address"]].tolist() == [level("phone", "exact"), level("address", "exact")]


def test_a_nameless_records_email_of_one_first_name_joins_it_to_that_member_of_the_household():
    # Ari and Tiina give one phone and one home; the nameless order with 'tiina95@' is Tiina's. A word is a
    # name when two records use it, and a first name when more use it so than as a last name ('aho tiina' is
    # one record's swap). 'lumi7' names no one: no record is called Lumi.
    frame = records(
        ("ari", "harju", None, "+358449996549", None, "haahkatie 5", "70130"),
        ("tiina", "harju", None, "+358449996549", None, "haahkatie 5", "70130"),
        (None, None, "tiina95@gmail.com", "+358449996549", None, "haahkatie 5", "70130"),
        ("tiina", "aho", None, None, None, None, None),
        ("aho", "tiina", None, None, None, None, None),
        (None, None, "lumi7@gmail.com", None, None, None, None),
    )
    named = with_names_from_email(frame)
    assert named.loc[2, ["first_name", "last_name"]].tolist() == ["tiina", None]
    assert named.loc[5, "first_name"] is None
    levels = levels_of(named, [[0, 2], [1, 2]])
    assert levels.loc[0, ["phone", "address"]].tolist() == [MISSING, MISSING], "Ari's household, not Ari"
    assert levels.loc[1, "first_name"] == level("first_name", "exact")
    assert levels.loc[1, ["phone", "address"]].tolist() == [level("phone", "exact"), level("address", "exact")]


def test_a_households_email_on_a_nameless_account_does_not_say_which_member_it_is():
    # Niilo's loyalty card carries the couple's 'tuula.ja.niilo@' and the family's 'perhe.haukkasto@'; the
    # nameless webshop accounts with those addresses may be Tuula's. 'sammakko77@' names no one and no
    # family: the account with it is its cardholder's.
    frame = records(
        ("niilo", "haukkasto", "tuula.ja.niilo@suomi24.fi", None, None, None, None),
        (None, None, "tuula.ja.niilo@suomi24.fi", None, None, None, None),
        ("niilo", "haukkasto", "perhe.haukkasto@gmail.com", None, None, None, None),
        (None, None, "perhe.haukkasto@gmail.com", None, None, None, None),
        ("tuula", "haukkasto", "sammakko77@gmail.com", None, None, None, None),
        (None, None, "sammakko77@gmail.com", None, None, None, None),
        ("tuula", "haukkasto", None, None, None, None, None),
    )
    named = with_names_from_email(frame)
    assert named["email_household"].tolist() == [False, True, False, True, False, False, False]
    levels = levels_of(named, [[0, 1], [2, 3], [4, 5]])
    assert levels["email"].tolist() == [MISSING, MISSING, level("email", "exact")]


def test_siblings_named_alike_each_named_by_their_own_email_are_two_people():
    # Hannu and Hanna Kaikkonen, Marja and Markus Lehtola: one home, one household phone, first names a
    # letter or a pet form apart, but each gave an email with their own first name in it ('kaikkonen.hanna',
    # the glued 'markuslehtola'). Jukka's 'jukkis' is his pet form, Tapani's second record a typo with his own
    # email, Antero's swapped fields: the same person each time.
    home = ("+358405837051", None, "maakatu 2", "00100")
    frame = records(
        ("hannu", "kaikkonen", "hannu.kaikkonen@luukku.com", *home),
        ("hanna", "kaikkonen", "kaikkonen.hanna@yahoo.com", *home),
        ("marja", "lehtola", "marja_lehtola@gmail.com", *home),
        ("markus", "lehtola", "markuslehtola1957@gmail.com", *home),
        ("jukka", "sainio", "jukka.sainio@gmail.com", *home),
        ("jukkis", "sainio", "jukkis_sainio@gmail.com", *home),
        ("tapani", "ojala", "tapani.ojala@gmail.com", *home),
        ("tpani", "ojala", "tapani.ojala@hotmail.com", *home),
        ("antero", "salo", "antero.salo@gmail.com", *home),
        ("salo", "antti", "salo.antti@gmail.com", *home),
    )
    levels = levels_of(frame, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]])
    different, close = level("first_name", "different"), level("first_name", "nickname or close")
    assert levels["first_name"].tolist() == [different, different, close, close, close]


# Missed merges --------------------------------------------------------------------------------------------


def test_a_last_name_replaced_at_marriage_is_no_evidence_against_with_the_same_email():
    frame = records(
        ("hanna", "virtanen", "hanna.v@gmail.com", None, None, None, None),
        ("hanna", "korhonen", "hanna.v@gmail.com", None, None, None, None),
        ("hanna", "korhonen", "koti@gmail.com", None, None, None, None),
        ("hanna", "virtanen", "koti@gmail.com", None, None, None, None),
        ("pekka", "virtanen", "koti@gmail.com", None, None, None, None),
    )
    levels = levels_of(frame, [[0, 1], [2, 3]])
    assert levels.loc[0, "last_name"] == MISSING, "a replaced name: neither for nor against"
    assert levels.loc[1, "last_name"] == level("last_name", "different"), "a family's email proves no marriage"


def test_an_email_one_letter_off_or_reordered_at_the_same_provider_is_its_own_level():
    frame = records(
        ("maria", "virtanen", "maria.virtanen@gmail.com", None, None, None, None),
        ("maria", "virtanen", "maria.virtnen@gmail.com", None, None, None, None),
        ("maria", "virtanen", "virtanen.maria@gmail.com", None, None, None, None),
        ("maria", "virtanen", "maria.virtanen2@gmail.com", None, None, None, None),
        ("maria", "virtanen", "maria.virtnen@hotmail.com", None, None, None, None),
        ("maria", "virtanen", "mariavirtanen@gmail.com", None, None, None, None),
    )
    levels = levels_of(frame, [[0, 1], [0, 2], [0, 3], [0, 4], [0, 5]])["email"].tolist()
    assert levels == [
        level("email", "one letter off"),
        level("email", "user part reordered"),
        level("email", "different"),  # a digit: another account, often a namesake's
        level("email", "different"),  # another provider
        level("email", "different"),  # a separator
    ]


def test_blocking_puts_reordered_and_mistyped_emails_of_common_names_side_by_side():
    frame = records(
        ("maria", "virtanen", "maria.virtanen@gmail.com", None, None, None, None),
        ("maria", "virtanen", "virtanen.maria@gmail.com", None, None, None, None),
        ("maria", "virtanen", "maria.virtnen@gmail.com", None, None, None, None),
        ("maria", "virtanen", "m.virtanen@hotmail.com", None, None, None, None),
    )
    keys = blocking_keys(frame)
    words = candidate_pairs(keys, (BlockingPass("email_words", 30),))
    assert words.tolist() == [[0, 1]]
    provider = candidate_pairs(keys, (BlockingPass("name_provider", 30),))
    assert provider.tolist() == [[0, 1], [0, 2], [1, 2]]


# The model ------------------------------------------------------------------------------------------------


def test_a_level_no_random_pair_reached_counts_as_half_a_sighting():
    random_levels = pd.DataFrame({f: np.zeros(1000, dtype=np.int8) for f in LEVELS})
    u = estimate_u(random_levels)["phone"]
    assert u[level("phone", "one digit off")] == pytest.approx(0.5 / 1000, rel=0.01)


def test_a_stored_model_of_other_levels_is_not_read_into_the_wrong_ones():
    old = [{"feature": "_prior", "level": 0, "level_name": "prior", "m": 1e-5, "u": 1.0}]
    for i, name in enumerate(("different", "exact")):  # email as it was before slips and reorders
        old.append({"feature": "email", "level": i, "level_name": name, "m": 0.5, "u": 0.5})
    assert not MatchModel.from_rows(old).current
