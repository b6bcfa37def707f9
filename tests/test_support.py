"""The first, rule-based support types (taxonomy ``support_type``)."""

from __future__ import annotations

import pytest

from pipeline.readers.support import find_support


@pytest.mark.parametrize(
    ("sentence", "types"),
    [
        ("The archdiocese\u2019s education service has trained governors.", ["diocese"]),
        ("The diocesan adviser has visited twice.", ["diocese", "la_adviser_consultant"]),
        ("Leaders from the Fenwold Learning Trust visit every fortnight.", ["academy_trust_sponsor"]),
        ("A consultant governor has joined the board.", ["national_leader_of_governance"]),
        ("A national leader of education has coached the headteacher.", ["national_leader_of_education"]),
        ("The school improvement partner has written clear reports.", ["school_improvement_partner"]),
        ("A local authority literacy consultant has trained assistants.", ["la_adviser_consultant"]),
        ("A local university ran a curriculum design programme.", ["other_external"]),
        ("Pupils enjoy reading in the new library.", []),
        ("invite HMI to train the governing body on the inspection framework", ["ofsted_hmi"]),
        ("Leaders attended an Ofsted best practice seminar.", ["ofsted_hmi"]),
        ("schedule another visit to the school by HMI to check on pupil progress", ["ofsted_hmi"]),
        ("The unit received a visit from one of His Majesty\u2019s Inspectors in May.", ["ofsted_hmi"]),
        ("Ofsted may carry out further visits and provide further support and challenge.", ["ofsted_hmi"]),
        # Ofsted or HMI named, but giving nothing: sign-offs, letterheads, recommendations, categories
        ("Ofsted will continue to monitor the school until its next section 5 inspection.", []),
        ("Following the visit to the school, HMI recommend that further action is taken to:", []),
        ("Jane Smith Her Majesty's Inspector", []),
        ("T 0300 123 1231 enquiries@ofsted.gov.uk www.ofsted.gov.uk", []),
        ("Schools in an Ofsted category receive support from the local authority.", ["la_adviser_consultant"]),
        ("HMI judged the action plan fit for purpose.", []),
    ],
)
def test_support_types_named_in_a_sentence(sentence: str, types: list[str]) -> None:
    assert [t for t, _ in find_support(sentence)] == types


def test_the_words_of_a_specific_rule_are_not_reused_by_a_general_one() -> None:
    found = dict(find_support("A consultant governor reviewed the minutes."))
    assert found == {"national_leader_of_governance": "consultant governor"}
