"""A seeded generator of synthetic HMI letters, with their ground truth and a GIAS extract.

Researchers benchmark the pipeline on thousands of letters that no one may
publish; this module writes letters shaped like the real ones, from its own
phrase bank (nothing is copied from real letters): contractor or Ofsted
letterheads, the date line, the address block, "Dear …", a subject line naming
the visit kind and the school, visit dates (one day, two days, across months),
the judgement, section headings, recommendation bullets (nested, wrapped), the
external support named in the letter, the sign-off and the copy line naming the
local authority. A share of the letters are PDFs laid out as Ofsted's are:
letterhead, bullets drawn with "•" and hanging indents, a running footer and
page numbers on 2–4 pages.

Core (pure, seeded): `plan_corpus` chooses the schools and each letter's kind,
dates and outcome; `build_letter` composes one letter and renders it to bytes
with its truth record; `gias_csv` writes the schools as a GIAS extract. The same
``(n, pdf_share, seed)`` always gives byte-identical files. The shell `run`
writes them to disk.

The truth record of a letter holds exactly what the parser should read
(`pipeline.stages.parse`): kind, dates, school, postcode, headteacher, local authority
as written, inspector, previous section 5 month, monitoring visit number,
judgement, ``effective_action``, ``action_plan_fit``, ``nqt_permission``, the
recommendations the school is asked to act on (folded as the parser folds
them), the external support and its types, the headings, and every generated
sentence with its issue tags and polarity (taxonomy.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

LETTER_KINDS = (
    "ri_monitoring",
    "special_measures_monitoring",
    "serious_weaknesses_monitoring",
    "short_inspection",
    "section8_other",
)
GIAS_HEADER = (
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentNumber",
    "EstablishmentName",
    "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)",
    "EstablishmentStatus (code)",
    "EstablishmentStatus (name)",
    "OpenDate",
    "CloseDate",
    "PhaseOfEducation (code)",
    "PhaseOfEducation (name)",
    "Street",
    "Locality",
    "Town",
    "Postcode",
)
"""The columns of ``corpus/reference/edubasealldata_sample.csv``, in its order."""

URN_BASE = 500001
"""Synthetic URNs start here: above every real English school's and below the sample file's 900000s."""

_CONTRACTORS_UNTIL = dt.date(2015, 9, 1)  # from then on Ofsted writes on its own letterhead
_HIS_MAJESTY_FROM = dt.date(2022, 9, 8)
_COVID = (dt.date(2020, 3, 14), dt.date(2021, 9, 1))  # no routine section 8 visits
_LOWER_KS_FROM = dt.date(2015, 9, 1)  # "Key Stage 2" becomes "key stage 2"

# -- reference data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalAuthority:
    """A local authority as GIAS names it and as letters name it."""

    code: int
    gias_name: str
    letter_name: str
    region: str  # north | midlands | south | london
    council: str | None  # "County Council" … or "London Borough of" (a prefix) or None
    areas: tuple[str, ...]
    towns: tuple[str, ...]


def _la(
    code: int, name: str, region: str, areas: str, towns: str, *, letter: str | None = None, council: str | None = None
) -> LocalAuthority:
    return LocalAuthority(code, name, letter or name, region, council, tuple(areas.split()), tuple(towns.split("|")))


LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    _la(202, "Camden", "london", "NW WC", "London", council="London Borough of"),
    _la(204, "Hackney", "london", "E N", "London", council="London Borough of"),
    _la(208, "Lambeth", "london", "SE SW", "London", council="London Borough of"),
    _la(209, "Lewisham", "london", "SE", "London", council="London Borough of"),
    _la(210, "Southwark", "london", "SE", "London", council="London Borough of"),
    _la(211, "Tower Hamlets", "london", "E", "London", council="London Borough of"),
    _la(212, "Wandsworth", "london", "SW", "London", council="London Borough of"),
    _la(302, "Barnet", "london", "N NW EN", "London|Barnet", council="London Borough of"),
    _la(306, "Croydon", "london", "CR SE", "Croydon", council="London Borough of"),
    _la(307, "Ealing", "london", "W UB", "London|Southall", council="London Borough of"),
    _la(308, "Enfield", "london", "EN N", "Enfield", council="London Borough of"),
    _la(316, "Newham", "london", "E", "London", council="London Borough of"),
    _la(317, "Redbridge", "london", "IG", "Ilford", council="London Borough of"),
    _la(320, "Waltham Forest", "london", "E", "London", council="London Borough of"),
    _la(330, "Birmingham", "midlands", "B", "Birmingham", council="City Council"),
    _la(331, "Coventry", "midlands", "CV", "Coventry", council="City Council"),
    _la(332, "Dudley", "midlands", "DY", "Dudley|Stourbridge|Halesowen", council="Metropolitan Borough Council"),
    _la(333, "Sandwell", "midlands", "B", "Oldbury|West Bromwich|Smethwick", council="Metropolitan Borough Council"),
    _la(335, "Walsall", "midlands", "WS", "Walsall|Bloxwich", council="Metropolitan Borough Council"),
    _la(336, "Wolverhampton", "midlands", "WV", "Wolverhampton", council="City Council"),
    _la(341, "Liverpool", "north", "L", "Liverpool", council="City Council"),
    _la(343, "Sefton", "north", "L PR", "Bootle|Southport", council="Metropolitan Borough Council"),
    _la(344, "Wirral", "north", "CH", "Birkenhead|Wallasey", council="Metropolitan Borough Council"),
    _la(350, "Bolton", "north", "BL", "Bolton", council="Metropolitan Borough Council"),
    _la(352, "Manchester", "north", "M", "Manchester", council="City Council"),
    _la(353, "Oldham", "north", "OL", "Oldham", council="Metropolitan Borough Council"),
    _la(354, "Rochdale", "north", "OL", "Rochdale|Heywood", council="Metropolitan Borough Council"),
    _la(355, "Salford", "north", "M", "Salford|Eccles", council="City Council"),
    _la(356, "Stockport", "north", "SK", "Stockport", council="Metropolitan Borough Council"),
    _la(359, "Wigan", "north", "WN", "Wigan|Leigh", council="Metropolitan Borough Council"),
    _la(370, "Barnsley", "north", "S", "Barnsley", council="Metropolitan Borough Council"),
    _la(371, "Doncaster", "north", "DN", "Doncaster", council="Metropolitan Borough Council"),
    _la(372, "Rotherham", "north", "S", "Rotherham", council="Metropolitan Borough Council"),
    _la(373, "Sheffield", "north", "S", "Sheffield", council="City Council"),
    _la(380, "Bradford", "north", "BD", "Bradford|Keighley"),
    _la(381, "Calderdale", "north", "HX", "Halifax|Brighouse", council="Metropolitan Borough Council"),
    _la(382, "Kirklees", "north", "HD WF", "Huddersfield|Dewsbury", council="Council"),
    _la(383, "Leeds", "north", "LS", "Leeds", council="City Council"),
    _la(384, "Wakefield", "north", "WF", "Wakefield|Pontefract"),
    _la(390, "Gateshead", "north", "NE", "Gateshead", council="Metropolitan Borough Council"),
    _la(391, "Newcastle upon Tyne", "north", "NE", "Newcastle upon Tyne", council="City Council"),
    _la(392, "North Tyneside", "north", "NE", "Wallsend|North Shields", council="Council"),
    _la(394, "Sunderland", "north", "SR", "Sunderland", council="City Council"),
    _la(800, "Bath and North East Somerset", "south", "BA BS", "Bath|Keynsham", council="Council"),
    _la(801, "Bristol, City of", "south", "BS", "Bristol", letter="Bristol", council="City Council"),
    _la(805, "Hartlepool", "north", "TS", "Hartlepool", council="Borough Council"),
    _la(806, "Middlesbrough", "north", "TS", "Middlesbrough", council="Borough Council"),
    _la(810, "Kingston upon Hull, City of", "north", "HU", "Hull", letter="Kingston upon Hull", council="City Council"),
    _la(811, "East Riding of Yorkshire", "north", "HU YO", "Beverley|Bridlington|Goole", council="Council"),
    _la(815, "North Yorkshire", "north", "YO HG DL", "Harrogate|Scarborough|Northallerton", council="County Council"),
    _la(821, "Luton", "midlands", "LU", "Luton", council="Borough Council"),
    _la(822, "Bedford", "midlands", "MK", "Bedford", council="Borough Council"),
    _la(826, "Milton Keynes", "midlands", "MK", "Milton Keynes", council="Council"),
    _la(830, "Derbyshire", "midlands", "DE S SK", "Chesterfield|Alfreton|Buxton|Ilkeston", council="County Council"),
    _la(831, "Derby", "midlands", "DE", "Derby", council="City Council"),
    _la(
        840,
        "County Durham",
        "north",
        "DH DL",
        "Durham|Bishop Auckland|Consett",
        letter="Durham",
        council="County Council",
    ),
    _la(845, "East Sussex", "south", "BN TN", "Eastbourne|Hastings|Lewes", council="County Council"),
    _la(846, "Brighton and Hove", "south", "BN", "Brighton|Hove", council="City Council"),
    _la(850, "Hampshire", "south", "SO PO GU RG", "Winchester|Basingstoke|Andover|Fareham", council="County Council"),
    _la(851, "Portsmouth", "south", "PO", "Portsmouth", council="City Council"),
    _la(852, "Southampton", "south", "SO", "Southampton", council="City Council"),
    _la(855, "Leicestershire", "midlands", "LE", "Loughborough|Hinckley|Melton Mowbray", council="County Council"),
    _la(856, "Leicester", "midlands", "LE", "Leicester", council="City Council"),
    _la(860, "Staffordshire", "midlands", "ST WS DE", "Stafford|Cannock|Tamworth|Leek", council="County Council"),
    _la(861, "Stoke-on-Trent", "midlands", "ST", "Stoke-on-Trent|Hanley", council="City Council"),
    _la(865, "Wiltshire", "south", "SN SP BA", "Salisbury|Trowbridge|Chippenham", council="Council"),
    _la(866, "Swindon", "south", "SN", "Swindon", council="Borough Council"),
    _la(873, "Cambridgeshire", "midlands", "CB PE", "Cambridge|Ely|Huntingdon|Wisbech", council="County Council"),
    _la(874, "Peterborough", "midlands", "PE", "Peterborough", council="City Council"),
    _la(878, "Devon", "south", "EX TQ", "Barnstaple|Tiverton|Newton Abbot|Exmouth", council="County Council"),
    _la(879, "Plymouth", "south", "PL", "Plymouth", council="City Council"),
    _la(881, "Essex", "midlands", "CM CO SS", "Chelmsford|Colchester|Basildon|Harlow", council="County Council"),
    _la(886, "Kent", "south", "ME CT TN DA", "Maidstone|Canterbury|Ashford|Dartford|Margate", council="County Council"),
    _la(887, "Medway", "south", "ME", "Chatham|Gillingham|Rochester", council="Council"),
    _la(
        888, "Lancashire", "north", "PR BB LA FY", "Preston|Burnley|Lancaster|Chorley|Nelson", council="County Council"
    ),
    _la(889, "Blackburn with Darwen", "north", "BB", "Blackburn|Darwen", council="Borough Council"),
    _la(890, "Blackpool", "north", "FY", "Blackpool", council="Council"),
    _la(891, "Nottinghamshire", "midlands", "NG", "Mansfield|Newark|Worksop|Retford", council="County Council"),
    _la(892, "Nottingham", "midlands", "NG", "Nottingham", council="City Council"),
    _la(893, "Shropshire", "midlands", "SY TF", "Shrewsbury|Oswestry|Ludlow", council="Council"),
    _la(894, "Telford and Wrekin", "midlands", "TF", "Telford|Newport", council="Council"),
    _la(908, "Cornwall", "south", "TR PL", "Truro|Camborne|Bodmin|Penzance", council="Council"),
    _la(909, "Cumbria", "north", "CA LA", "Carlisle|Kendal|Workington|Whitehaven", council="County Council"),
    _la(916, "Gloucestershire", "south", "GL", "Gloucester|Cheltenham|Stroud", council="County Council"),
    _la(
        919, "Hertfordshire", "midlands", "SG AL WD HP", "Stevenage|St Albans|Watford|Hitchin", council="County Council"
    ),
    _la(925, "Lincolnshire", "midlands", "LN PE NG", "Lincoln|Boston|Grantham|Sleaford", council="County Council"),
    _la(926, "Norfolk", "midlands", "NR PE IP", "Norwich|Great Yarmouth|Thetford|Dereham", council="County Council"),
    _la(928, "Northamptonshire", "midlands", "NN", "Northampton|Kettering|Corby", council="County Council"),
    _la(929, "Northumberland", "north", "NE TD", "Morpeth|Hexham|Blyth|Alnwick", council="County Council"),
    _la(931, "Oxfordshire", "south", "OX", "Oxford|Banbury|Abingdon|Witney", council="County Council"),
    _la(933, "Somerset", "south", "TA BA", "Taunton|Yeovil|Bridgwater|Frome", council="County Council"),
    _la(935, "Suffolk", "midlands", "IP CO", "Ipswich|Bury St Edmunds|Lowestoft", council="County Council"),
    _la(936, "Surrey", "south", "GU KT RH", "Guildford|Woking|Epsom|Redhill", council="County Council"),
    _la(937, "Warwickshire", "midlands", "CV B", "Warwick|Nuneaton|Rugby", council="County Council"),
    _la(938, "West Sussex", "south", "RH BN PO", "Crawley|Worthing|Chichester|Horsham", council="County Council"),
)
"""Local authorities with their real GIAS codes and names; postcode areas and towns are plausible, not checked."""


@dataclass(frozen=True)
class Letterhead:
    """A letterhead: the sender's address lines, its phone lines and how its direct lines look."""

    key: str
    address: tuple[str, ...]
    phones: tuple[str, ...]
    direct: str | None  # "0121 679 ####": the direct line's pattern (# a digit)
    email_domain: str | None
    email_style: str  # "first.last" | "initiallast"


LETTERHEADS: dict[str, Letterhead] = {
    h.key: h
    for h in (
        Letterhead(
            "serco_cedar",
            ("Serco Inspections", "Cedar House", "21 William Street", "Edgbaston", "Birmingham", "B15 1LH"),
            ("T 0300 123 1231", "Text Phone: 0161 6188524", "enquiries@ofsted.gov.uk", "www.ofsted.gov.uk"),
            "0121 683 ####",
            "serco.com",
            "first.last",
        ),
        Letterhead(
            "serco_colmore",
            ("Serco Inspections", "Colmore Plaza", "20 Colmore Circus Queensway", "Birmingham", "B4 6AT"),
            ("T 0300 123 1231", "Text Phone: 0161 6188524", "enquiries@ofsted.gov.uk", "www.ofsted.gov.uk"),
            "0121 679 ####",
            "serco.com",
            "first.last",
        ),
        Letterhead(
            "tribal",
            ("Tribal", "Kings Orchard", "1 Queen Street", "Bristol", "BS2 0HQ"),
            ("T 0300 123 1231", "Text Phone 0161 6188524", "enquiries@ofsted.gov.uk", "www.ofsted.gov.uk"),
            "0117 311 ####",
            "tribalgroup.com",
            "first.last",
        ),
        Letterhead(
            "cfbt",
            (
                "CfBT Inspection Services",
                "Suite 22",
                "West Lancashire Investment Centre",
                "Maple View",
                "Skelmersdale",
                "WN8 9TG",
            ),
            ("T 0300 123 1231", "Text Phone 0161 6188524", "enquiries@ofsted.gov.uk", "www.ofsted.gov.uk"),
            "01695 566 ###",
            "cfbt.com",
            "initiallast",
        ),
        Letterhead(
            "ofsted_piccadilly",
            ("Ofsted", "Piccadilly Gate", "Store Street", "Manchester", "M1 2WD"),
            ("T 0300 123 4234", "www.gov.uk/ofsted"),
            None,
            None,
            "first.last",
        ),
        Letterhead(
            "ofsted_aviation",
            ("Ofsted", "Aviation House", "125 Kingsway", "London", "WC2B 6SE"),
            ("T 0300 123 4234", "www.gov.uk/ofsted"),
            None,
            None,
            "first.last",
        ),
        Letterhead(
            "ofsted_clive",
            ("Ofsted", "Clive House", "70 Petty France", "London", "SW1H 9EX"),
            ("T 0300 123 4234", "www.gov.uk/ofsted"),
            None,
            None,
            "first.last",
        ),
    )
}
"""The letterheads of Ofsted's offices and of the inspection contractors of 2012–2015 (their public addresses)."""


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST_F = _words(
    "Helen Sarah Claire Rachel Joanne Karen Susan Alison Emma Catherine Louise Fiona Gillian Julie Nicola "
    "Amanda Ruth Jane Elizabeth Hannah Priya Aisha Nadia Bernadette Lorraine Deborah Margaret Anne Lucy Zoe "
    "Kathryn Sian Tracey Janet Yvonne Shazia Angela Maureen Jennifer Rebecca Victoria Natalie Carol Wendy "
    "Pauline Farah"
)
_FIRST_M = _words(
    "David Michael John Paul Mark Stephen Andrew Peter Richard Simon Ian Christopher James Robert Martin "
    "Gareth Neil Anthony Kevin Graham Jonathan Daniel Imran Rajesh Tom Alan Keith Colin Patrick Nigel Matthew "
    "Adrian Philip Owen Tariq Samuel Benjamin Duncan Hugh Vincent Barry Derek Kwame Liam Rhys"
)
_SURNAMES = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White "
    "Roberts Green Hall Wood Jackson Clarke Patel Hughes Edwards Turner Harris Martin Cooper Ward Morris "
    "Moore Baker Harrison Morgan Allen Scott Phillips Watson Parker Price Bennett Young Griffiths Mitchell "
    "Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain "
    "Campbell Matthews Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins "
    "Murray Dixon Harvey Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds "
    "Saunders Payne Fox Ford Pearce Brooks Lawrence Cole Atkinson Bradley Spencer Gill Dawson Burton O'Brien "
    "Watts Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster "
    "Hunter Gregory Carr Lowe Marsh Riley Dunn Woods Parsons Berry Reid Holland Hawkins Harding Porter "
    "Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean McDonald Okafor Osei Mensah Nowak "
    "Kowalski Chaudhry Iqbal Rahman Thornton Ashworth Whitfield Pemberton Calder Dunmore Penhaligon "
    "Brathwaite Castellano Greenwood Haworth Sutcliffe Oldroyd Tremayne Fairbairn"
)
_PLACE_HEAD = _words(
    "Ash Oak Elm Birch Brook Hazel Thorn Wood Mill Kings Queens Long Broad Mar Wen Hal Rad Ald Bran Caver Dun "
    "Fair Gold Green Hart Holm Lang Lin Nor Sut Wal West East High Red Stan Sand Stone Wil Whit Bex Cal Cres "
    "Dal Fen Glen Hil Kel Lyn Mor Pen Ros Shel Tad Wyn Bar Cor Ever Hol Ravens Swan Fox Heron Lark Wren "
    "Thrush Rook Bever Castle Church Abbey Bishops Chapel Cold Deer Ferry Hay Lime Maple Rush Salt Silver "
    "Summer Winter"
)
_PLACE_TAIL = _words(
    "field ley ton bury wood brook dale ford ham hurst mead worth combe bridge gate moor stead well thorpe by "
    "wick hill den low croft cote holme lands minster shaw side stow hay marsh more port vale bourne "
    "cliffe garth heath leigh royd"
)
_SAINTS = _words(
    "Mary Joseph John Peter Paul Michael Anne Thomas Andrew Patrick Bernadette Teresa Francis Margaret "
    "Catherine George James Luke Mark Matthew Chad Aidan Cuthbert Wilfrid Oswald Bede Hilda Edmund Alban "
    "Nicholas Stephen Lawrence Barnabas Bartholomew Clement Augustine Gregory Dunstan Leonard Martin Helen "
    "Elizabeth Anselm Benedict Columba Bridget Vincent Winifred Swithun Oswin"
)
_PLACE_SECOND = _words("Park Green Vale Hill Fields Heath Cross Meadows Valley Common End Bridge Moor Lea Grange")
_STREET_HEAD = _words(
    "Church Mill Station Park Manor Chapel Victoria Albert Queens Kings Meadow Orchard Willow Beech Cedar "
    "Grange Hall Green Farm Brook Heath Bridge Castle Abbey Priory Vicarage Rectory Cross Well Moor Hollow "
    "Spring Highfield Westfield Northgate Southgate Elm Oak Ash Holly Rowan Hawthorn Lime Poplar Sycamore "
    "Chestnut"
)
_STREET_TAIL = _words("Road Street Lane Avenue Drive Close Way Crescent Grove Rise Terrace Walk Gardens")
_SUBJECTS = (
    "history",
    "geography",
    "science",
    "music",
    "art and design",
    "computing",
    "religious education",
    "physical education",
    "design and technology",
    "modern foreign languages",
)
_MONTHS = _words("January February March April May June July August September October November December")
_NUMBER_WORDS = ("two", "three", "four", "five", "six")
_ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth")

# -- the phrase bank ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """A sentence template with its issue tags; ``phase`` limits it to primary or secondary schools."""

    text: str
    tags: tuple[str, ...]
    phase: str = "any"  # any | primary | secondary
    topic: str = ""


def _p(text: str, tags: str, phase: str = "any") -> Phrase:
    """A phrase; a ``#word`` among the tags names its topic (two sentences on one topic would contradict)."""
    words = tags.split()
    topic = next((w[1:] for w in words if w.startswith("#")), "")
    return Phrase(text, tuple(w for w in words if not w.startswith("#")), phase, topic)


# Weakness ("w") and strength ("s") sentences by issue tag. Slots: {ks} key stage, {yr} year group,
# {subj} a foundation subject, {grp} a group of pupils the inclusion tag covers, {n} a small number,
# {month} a month without a year (so that no sentence dates a previous inspection by accident).
BANK: dict[str, dict[str, tuple[Phrase, ...]]] = {
    "governance": {
        "w": (
            _p(
                "The reports that governors receive on pupils' progress are too general for them to challenge "
                "leaders with confidence.",
                "governance #gov_info",
            ),
            _p(
                "The governing body relies too heavily on the headteacher's reports and rarely asks for evidence "
                "that actions are working.",
                "governance #gov_challenge",
            ),
            _p(
                "Governors have not checked how the pupil premium has been spent or what difference it has made.",
                "governance inclusion_send #gov_pp",
            ),
            _p(
                "Many governors joined the board recently and have had no training in reading the school's "
                "performance data.",
                "governance",
            ),
            _p(
                "Minutes of governors' meetings record few searching questions about the quality of teaching.",
                "governance #gov_challenge",
            ),
            _p(
                "Governors visit the school rarely, so their view of its work depends on what they are told.",
                "governance #gov_visits",
            ),
        ),
        "s": (
            _p(
                "Governors now ask searching questions at their meetings and expect leaders to show the impact of "
                "their work.",
                "governance #gov_challenge",
            ),
            _p(
                "The governing body has been reorganised into smaller committees, each with a clear remit.",
                "governance",
            ),
            _p(
                "Governors visit regularly to see the school at work and report what they have seen to the full "
                "governing body.",
                "governance #gov_visits",
            ),
            _p(
                "The chair of governors knows the school well and can say precisely where it is improving and "
                "where it is not.",
                "governance",
            ),
            _p(
                "Governors have a sharper understanding of how well {grp} are doing and check the spending of "
                "additional funding closely.",
                "governance inclusion_send #gov_info",
            ),
        ),
    },
    "senior_leadership": {
        "w": (
            _p(
                "Senior leaders have too many priorities and have not made clear which of them matter most.",
                "senior_leadership #sl_prior",
            ),
            _p(
                "Leadership capacity is stretched because {n} members of the senior team are new to their posts.",
                "senior_leadership staffing",
            ),
            _p(
                "The headteacher carries too much of the work of improvement alone, and other senior leaders do not "
                "yet share it.",
                "senior_leadership #sl_share",
            ),
            _p(
                "Senior leaders do not yet have an accurate view of where teaching is weakest.",
                "senior_leadership monitoring_evaluation #sl_view",
            ),
            _p("Frequent changes of leadership have slowed the pace of improvement.", "senior_leadership staffing"),
            _p(
                "Staff are unsure of what is expected of them because senior leaders have not set out a clear "
                "direction for the school.",
                "senior_leadership #sl_vision",
            ),
        ),
        "s": (
            _p(
                "The headteacher's ambitions for the school are clearly communicated, and staff speak about them "
                "with conviction.",
                "senior_leadership #sl_vision",
            ),
            _p(
                "Senior leaders judge the school's performance accurately and know where it still falls short.",
                "senior_leadership monitoring_evaluation #sl_view",
            ),
            _p(
                "The senior team has been strengthened, and responsibilities are now shared sensibly between its "
                "members.",
                "senior_leadership #sl_share",
            ),
            _p(
                "You have acted decisively to tackle weak teaching while keeping the confidence of staff.",
                "senior_leadership teaching_quality",
            ),
            _p(
                "Leaders have concentrated their efforts on a small number of important priorities.",
                "senior_leadership #sl_prior",
            ),
            _p(
                "The deputy headteacher now leads the work on assessment, which gives the headteacher more time to "
                "check the quality of teaching.",
                "senior_leadership assessment_tracking",
            ),
        ),
    },
    "middle_leadership": {
        "w": (
            _p(
                "Subject leaders are keen to improve their areas, but few have been shown how to evaluate the "
                "teaching in them.",
                "middle_leadership professional_development #ml_check",
            ),
            _p(
                "Middle leaders do not yet check how well the plans for their subjects are being taught.",
                "middle_leadership #ml_check",
            ),
            _p(
                "The leader for {subj} is new to the role and has not yet had time to make a difference.",
                "middle_leadership",
            ),
            _p(
                "Leaders of each phase are not yet answerable for how well the pupils in their classes progress.",
                "middle_leadership #ml_account",
            ),
            _p(
                "The mathematics leader has not been given the time needed to support colleagues.",
                "middle_leadership maths_numeracy #ml_maths",
            ),
            _p(
                "Leaders of English and mathematics do not yet use assessment information to find out which pupils "
                "are falling behind.",
                "middle_leadership english_literacy maths_numeracy assessment_tracking",
            ),
        ),
        "s": (
            _p(
                "Subject leaders now look at pupils' books regularly and give colleagues useful advice.",
                "middle_leadership #ml_check",
            ),
            _p(
                "The new numeracy leader has a clear plan for mathematics and is already supporting colleagues in "
                "their classrooms.",
                "middle_leadership maths_numeracy #ml_maths",
            ),
            _p(
                "Middle leaders have taken on greater responsibility and are accountable for the progress of pupils "
                "in their areas.",
                "middle_leadership #ml_account",
            ),
            _p(
                "The literacy leader has led training on the teaching of writing that staff have found useful.",
                "middle_leadership english_literacy professional_development",
            ),
            _p(
                "Leaders of {subj} have reviewed their plans and now meet regularly to share ideas.",
                "middle_leadership curriculum",
            ),
            _p(
                "Year group leaders review every pupil's progress with senior colleagues each half term.",
                "middle_leadership",
            ),
        ),
    },
    "teaching_quality": {
        "w": (
            _p(
                "Too often every pupil in a class is given an identical activity, which is too easy for some and "
                "too hard for others.",
                "teaching_quality #tq_match",
            ),
            _p("Teachers' expectations of what pupils can achieve are too low in {yr}.", "teaching_quality #tq_expect"),
            _p(
                "Teaching assistants are not always deployed well, and in some lessons they spend long periods "
                "listening to the teacher.",
                "teaching_quality #tq_ta",
            ),
            _p(
                "Teachers talk for too long at the start of lessons, which leaves pupils too little time to work on "
                "their own.",
                "teaching_quality",
            ),
            _p("The quality of teaching remains too variable between classes.", "teaching_quality #tq_consistent"),
            _p(
                "Work is not matched closely enough to pupils' different starting points.", "teaching_quality #tq_match"
            ),
        ),
        "s": (
            _p(
                "Teaching has strengthened, most noticeably in {ks}, where lessons start from what pupils have "
                "already mastered.",
                "teaching_quality #tq_match",
            ),
            _p(
                "Teachers question pupils skilfully to check their understanding and to deepen their thinking.",
                "teaching_quality",
            ),
            _p("Classrooms are well organised and pupils settle to their work quickly.", "teaching_quality"),
            _p(
                "Teaching assistants are now well briefed and make a strong contribution to pupils' learning.",
                "teaching_quality #tq_ta",
            ),
            _p(
                "Expectations have risen, and both the amount and the quality of work in pupils' exercise books "
                "have increased.",
                "teaching_quality #tq_expect",
            ),
            _p(
                "More of the teaching is now consistently good, and the weakest teaching has been eliminated.",
                "teaching_quality #tq_consistent",
            ),
        ),
    },
    "assessment_tracking": {
        "w": (
            _p(
                "Teachers' assessments of pupils' work are not always accurate, so leaders cannot be sure which "
                "pupils are falling behind.",
                "assessment_tracking #as_acc",
            ),
            _p(
                "The new system for tracking pupils' progress is not yet used consistently by all staff.",
                "assessment_tracking #as_track",
            ),
            _p("Assessment information is not checked against the work in pupils' books.", "assessment_tracking"),
            _p(
                "Leaders' tracking does not yet show clearly how well different groups of pupils are doing.",
                "assessment_tracking #as_track",
            ),
            _p(
                "Teachers have had few opportunities to moderate their judgements with colleagues from other schools.",
                "assessment_tracking #as_mod",
            ),
        ),
        "s": (
            _p(
                "Teachers now assess pupils' work accurately, and their judgements are checked regularly by leaders.",
                "assessment_tracking #as_acc",
            ),
            _p(
                "A new tracking system gives leaders a clear picture of each pupil's progress.",
                "assessment_tracking #as_track",
            ),
            _p(
                "Pupil progress meetings are held every half term, and any pupil at risk of falling behind is "
                "quickly identified.",
                "assessment_tracking",
            ),
            _p(
                "Moderation with nearby schools has improved the accuracy of teachers' assessments of writing.",
                "assessment_tracking english_literacy #as_mod",
            ),
            _p(
                "Leaders use assessment information well to plan extra help for the pupils who need it.",
                "assessment_tracking",
            ),
        ),
    },
    "marking_feedback": {
        "w": (
            _p(
                "The quality of marking varies widely, and pupils are not always told how to improve their work.",
                "marking_feedback #mf_quality",
            ),
            _p(
                "Pupils are rarely given time to respond to the comments teachers write in their books.",
                "marking_feedback #mf_respond",
            ),
            _p(
                "The school's marking policy is not followed consistently in every class.",
                "marking_feedback #mf_policy",
            ),
            _p(
                "Feedback in {subj} books is often limited to praise and does not help pupils to improve.",
                "marking_feedback",
            ),
        ),
        "s": (
            _p(
                "Marking is now regular and helpful, and pupils say they know what to do to improve their work.",
                "marking_feedback #mf_quality",
            ),
            _p(
                "Pupils respond to teachers' written comments, and their books show that they correct their mistakes.",
                "marking_feedback #mf_respond",
            ),
            _p(
                "Teachers follow the new feedback policy consistently, and pupils value the advice they are given.",
                "marking_feedback #mf_policy",
            ),
            _p(
                "Spoken feedback during lessons helps pupils to put right their misunderstandings quickly.",
                "marking_feedback",
            ),
        ),
    },
    "monitoring_evaluation": {
        "w": (
            _p(
                "Leaders' checks on teaching focus on what teachers do rather than on how much pupils learn.",
                "monitoring_evaluation #me_checks",
            ),
            _p(
                "The school's self-evaluation is too generous and does not identify the most important weaknesses.",
                "monitoring_evaluation #me_self",
            ),
            _p(
                "Feedback to teachers after lesson observations does not make clear what they must do to improve.",
                "monitoring_evaluation #me_feedback",
            ),
            _p(
                "Leaders have not evaluated whether the actions they have taken are making a difference.",
                "monitoring_evaluation #me_impact",
            ),
            _p(
                "Checks on teaching are too infrequent to give leaders an accurate picture of its quality.",
                "monitoring_evaluation #me_checks",
            ),
        ),
        "s": (
            _p(
                "Leaders check the quality of teaching regularly, and their judgements are accurate.",
                "monitoring_evaluation #me_checks",
            ),
            _p(
                "Teachers receive clear feedback after observations, and leaders return to check that advice has "
                "been acted on.",
                "monitoring_evaluation #me_feedback",
            ),
            _p(
                "The school's evaluation of its own performance is now accurate and honest.",
                "monitoring_evaluation #me_self",
            ),
            _p(
                "Leaders check the impact of each action in the plan and change course when something is not working.",
                "monitoring_evaluation improvement_planning #me_impact",
            ),
        ),
    },
    "improvement_planning": {
        "w": (
            _p(
                "The improvement plan lists many actions but does not say how leaders will measure their success.",
                "improvement_planning #ip_measure",
            ),
            _p(
                "The action plan has no clear milestones, so governors cannot tell whether the school is on track.",
                "improvement_planning governance #ip_milestones",
            ),
            _p(
                "Timescales in the improvement plan are vague, and it is unclear who is responsible for each action.",
                "improvement_planning #ip_measure",
            ),
            _p(
                "The plan is out of date and no longer matches the most pressing needs of the school.",
                "improvement_planning #ip_current",
            ),
        ),
        "s": (
            _p(
                "Every strand of the improvement plan is tied directly to the weaknesses found at the last inspection.",
                "improvement_planning #ip_current",
            ),
            _p(
                "Actions in the plan now carry an owner, a completion date and a target that can be checked "
                "against pupils' results.",
                "improvement_planning #ip_measure",
            ),
            _p(
                "Leaders have set ambitious but realistic milestones, which governors use to check progress each term.",
                "improvement_planning governance #ip_milestones",
            ),
            _p(
                "The action plan has been rewritten and is now a useful tool for checking the school's progress.",
                "improvement_planning #ip_current",
            ),
        ),
    },
    "professional_development": {
        "w": (
            _p(
                "Training for staff has not been closely linked to the weaknesses in teaching that leaders have found.",
                "professional_development #pd_training",
            ),
            _p(
                "Teachers have had few opportunities to see good practice in other schools.",
                "professional_development #pd_visits",
            ),
            _p(
                "Newer members of staff have not yet received the training they need to teach {subj} well.",
                "professional_development",
            ),
            _p(
                "The programme of coaching for teachers has lapsed since {month}.", "professional_development #pd_coach"
            ),
        ),
        "s": (
            _p(
                "Teachers have benefited from a well-planned programme of training and are using what they have "
                "learned in their lessons.",
                "professional_development teaching_quality #pd_training",
            ),
            _p(
                "Staff have visited other schools to observe strong teaching and have adopted some of the approaches "
                "they saw.",
                "professional_development #pd_visits",
            ),
            _p(
                "Coaching for less experienced teachers is helping them to improve their practice.",
                "professional_development #pd_coach",
            ),
            _p(
                "Teaching assistants have been trained to support pupils' reading.",
                "professional_development english_literacy",
            ),
        ),
    },
    "maths_numeracy": {
        "w": (
            _p(
                "Pupils' attainment in mathematics remains too low, particularly in {yr}.",
                "maths_numeracy pupil_outcomes #mn_standards",
            ),
            _p(
                "Pupils have too few opportunities to use their calculation skills to solve problems.",
                "maths_numeracy #mn_problems",
            ),
            _p(
                "Many pupils are not secure in their knowledge of multiplication tables, which slows their work in "
                "other areas of mathematics.",
                "maths_numeracy #mn_fluency",
                "primary",
            ),
            _p(
                "The teaching of mathematics does not build carefully enough on what pupils already know.",
                "maths_numeracy teaching_quality #mn_fluency",
            ),
            _p("Pupils are seldom asked to explain their mathematical reasoning.", "maths_numeracy #mn_problems"),
        ),
        "s": (
            _p(
                "A new approach to the teaching of mathematics has improved pupils' fluency in calculation.",
                "maths_numeracy #mn_fluency",
            ),
            _p(
                "Pupils now have regular opportunities to solve problems and to explain their reasoning in "
                "mathematics.",
                "maths_numeracy #mn_problems",
            ),
            _p(
                "Standards in mathematics are rising, and more pupils are working at the level expected for their age.",
                "maths_numeracy pupil_outcomes #mn_standards",
            ),
            _p(
                "Teachers use practical resources well to help younger pupils understand number.",
                "maths_numeracy",
                "primary",
            ),
        ),
    },
    "english_literacy": {
        "w": (
            _p(
                "The teaching of phonics is inconsistent, and some pupils in {yr} cannot blend sounds to read "
                "unfamiliar words.",
                "english_literacy #el_phonics",
                "primary",
            ),
            _p(
                "Pupils' spelling, punctuation and grammar are weak, and errors are not corrected.",
                "english_literacy #el_spelling",
            ),
            _p(
                "Extended writing is rare outside English lessons.",
                "english_literacy curriculum #el_writing",
            ),
            _p("Handwriting and presentation are untidy in many books.", "english_literacy"),
            _p("Pupils who read less fluently do not read often enough to an adult.", "english_literacy #el_reading"),
            _p(
                "Many pupils find it hard to explain what they have read, because teachers give little time to "
                "reading comprehension.",
                "english_literacy #el_reading",
                "secondary",
            ),
        ),
        "s": (
            _p(
                "A new phonics programme has been introduced, and staff have been trained to teach it well.",
                "english_literacy professional_development #el_phonics",
                "primary",
            ),
            _p(
                "Pupils read widely and often, and they talk with enthusiasm about their favourite authors.",
                "english_literacy #el_reading",
            ),
            _p(
                "The quality of pupils' writing has improved, and they now write at greater length.",
                "english_literacy #el_writing",
            ),
            _p(
                "Guided reading sessions are well organised and help pupils to understand what they read.",
                "english_literacy #el_reading",
                "primary",
            ),
            _p(
                "Pupils' spelling has improved since the introduction of daily spelling practice.",
                "english_literacy #el_spelling",
            ),
        ),
    },
    "pupil_outcomes": {
        "w": (
            _p(
                "Pupils' progress in {ks} has been too slow for too long, and many have gaps in their knowledge.",
                "pupil_outcomes #po_progress",
            ),
            _p("Attainment at the end of {ks} remains below the national average.", "pupil_outcomes #po_attain"),
            _p("The progress of {grp} lags behind that of other pupils.", "pupil_outcomes inclusion_send #po_gap"),
            _p("Too few pupils reach the higher standards by the time they leave the school.", "pupil_outcomes"),
            _p("The underachievement of pupils in previous years has not yet been fully tackled.", "pupil_outcomes"),
        ),
        "s": (
            _p(
                "Pupils are making faster progress this year, and the school's latest assessments suggest that a "
                "larger share will reach age-related expectations.",
                "pupil_outcomes #po_progress",
            ),
            _p(
                "Results at the end of {ks} improved last year and now sit only a little below those found nationally.",
                "pupil_outcomes #po_attain",
            ),
            _p(
                "Pupils in {yr} are now making strong progress from their starting points.",
                "pupil_outcomes #po_progress",
            ),
            _p(
                "The gap between the attainment of {grp} and that of other pupils is narrowing.",
                "pupil_outcomes inclusion_send #po_gap",
            ),
        ),
    },
    "curriculum": {
        "w": (
            _p(
                "The curriculum in {subj} does not set out clearly what pupils should learn and in what order.",
                "curriculum #cu_plan",
            ),
            _p(
                "Leaders have not yet planned how pupils' knowledge in subjects such as {subj} builds from year to "
                "year.",
                "curriculum #cu_design",
            ),
            _p(
                "The curriculum is too narrow in {ks}, and pupils spend little time on {subj}.",
                "curriculum #cu_breadth",
            ),
            _p(
                "Plans for {subj} do not identify the most important knowledge pupils need to remember.",
                "curriculum #cu_plan",
            ),
        ),
        "s": (
            _p(
                "Leaders have built a broad curriculum that spells out, year by year, what pupils are expected to "
                "know.",
                "curriculum #cu_design",
            ),
            _p(
                "The curriculum for {subj} is well sequenced, so pupils build on what they have learned before.",
                "curriculum #cu_plan",
            ),
            _p(
                "Pupils follow a wide range of subjects and describe their recent work in {subj} with obvious "
                "enjoyment.",
                "curriculum #cu_breadth",
            ),
            _p(
                "Subject plans have been revised so that important content is revisited regularly.",
                "curriculum #cu_plan",
            ),
        ),
    },
    "behaviour_attendance": {
        "w": (
            _p(
                "Attendance remains below the national average, and too many pupils are persistently absent.",
                "behaviour_attendance #ba_att",
            ),
            _p("Low-level disruption in some lessons slows learning.", "behaviour_attendance #ba_behav"),
            _p("The number of fixed-term exclusions has risen this year.", "behaviour_attendance #ba_excl"),
            _p(
                "Some pupils arrive late too often, and leaders have not followed this up firmly.",
                "behaviour_attendance #ba_att",
            ),
            _p(
                "A few pupils told me that bullying is not always dealt with quickly.", "behaviour_attendance #ba_bully"
            ),
        ),
        "s": (
            _p(
                "Conduct in classrooms and corridors is good, and pupils are courteous towards visitors.",
                "behaviour_attendance #ba_behav",
            ),
            _p(
                "Attendance has risen this year and now matches the figure for schools nationally.",
                "behaviour_attendance #ba_att",
            ),
            _p(
                "The new behaviour policy is applied consistently, and lessons are rarely interrupted.",
                "behaviour_attendance #ba_behav",
            ),
            _p(
                "Pupils say that bullying is rare and that adults deal with it quickly.",
                "behaviour_attendance #ba_bully",
            ),
            _p(
                "Exclusions have fallen sharply since leaders introduced a new approach to managing behaviour.",
                "behaviour_attendance #ba_excl",
            ),
        ),
    },
    "safeguarding": {
        "w": (
            _p("Some logs of welfare concerns do not say what was done or by whom.", "safeguarding #sg_records"),
            _p(
                "Gaps in the single central record, including missing vetting checks, were filled only after I "
                "raised them.",
                "safeguarding #sg_scr",
            ),
            _p(
                "Not all staff have received up-to-date training in child protection.",
                "safeguarding professional_development #sg_training",
            ),
            _p(
                "Leaders do not always follow up concerns about pupils' safety quickly enough.",
                "safeguarding #sg_records",
            ),
        ),
        "s": (
            _p("Leaders have made sure that safeguarding arrangements meet requirements.", "safeguarding"),
            _p(
                "Records of concerns are detailed, and leaders act swiftly when a pupil may be at risk.",
                "safeguarding #sg_records",
            ),
            _p(
                "Training for staff is up to date, so adults understand how to report any worry about a child's "
                "welfare.",
                "safeguarding #sg_training",
            ),
            _p("Pupils say they feel safe in school and know whom to talk to if they have a worry.", "safeguarding"),
            _p(
                "The single central record is well kept and is checked regularly by governors.",
                "safeguarding governance #sg_scr",
            ),
        ),
    },
    "inclusion_send": {
        "w": (
            _p(
                "The additional funding for disadvantaged pupils is not used well enough to help them catch up.",
                "inclusion_send #in_pp",
            ),
            _p(
                "In lessons, the support given to pupils with SEND is not always matched to what they need.",
                "inclusion_send #in_send",
            ),
            _p(
                "The most able pupils are not challenged consistently, and too few reach the higher standards.",
                "inclusion_send pupil_outcomes #in_able",
            ),
            _p(
                "Pupils who speak English as an additional language are not always given the help they need to "
                "take part in lessons.",
                "inclusion_send #in_eal",
            ),
            _p(
                "Leaders cannot show what difference the pupil premium has made for {grp}.",
                "inclusion_send monitoring_evaluation",
            ),
        ),
        "s": (
            _p(
                "The special educational needs coordinator knows pupils well and makes sure that their support is "
                "carefully planned.",
                "inclusion_send #in_send",
            ),
            _p(
                "Disadvantaged pupils are given well-targeted help, and many are catching up with their classmates.",
                "inclusion_send #in_pp",
            ),
            _p("The most able pupils are given harder work that stretches their thinking.", "inclusion_send #in_able"),
            _p(
                "Pupils who speak English as an additional language are well supported and learn English quickly.",
                "inclusion_send #in_eal",
            ),
        ),
    },
    "early_years": {
        "w": (
            _p(
                "In the Reception class, activities are not planned carefully enough to develop children's early "
                "reading and number skills.",
                "early_years english_literacy maths_numeracy #ey_plan",
                "primary",
            ),
            _p(
                "Adults in the early years miss opportunities to extend children's language during play.",
                "early_years #ey_adults",
                "primary",
            ),
            _p(
                "Assessments of children's learning in the Nursery are not yet accurate.",
                "early_years assessment_tracking",
                "primary",
            ),
            _p("The outdoor area for the youngest children is underused.", "early_years #ey_env", "primary"),
        ),
        "s": (
            _p(
                "Reception children make a confident start, and a growing share reach a good level of development "
                "by the end of the year.",
                "early_years pupil_outcomes",
                "primary",
            ),
            _p(
                "The early years leader has improved the learning environment, and children now choose activities "
                "with confidence.",
                "early_years #ey_env",
                "primary",
            ),
            _p(
                "Adults in the early years know children well and plan activities that capture their interest.",
                "early_years #ey_plan",
                "primary",
            ),
            _p("Children in the Nursery settle quickly and play happily together.", "early_years", "primary"),
        ),
    },
    "staffing": {
        "w": (
            _p(
                "Staff turnover has been high, and {n} classes have been taught by temporary teachers this year.",
                "staffing #st_stable",
            ),
            _p(
                "The school has struggled to recruit teachers of {subj}, and some classes are taught by "
                "non-specialists.",
                "staffing",
                "secondary",
            ),
            _p("Long-term staff absence has disrupted the work of the senior team.", "staffing senior_leadership"),
            _p(
                "Several teachers are on temporary contracts, which makes it hard to sustain improvements.",
                "staffing #st_stable",
            ),
        ),
        "s": (
            _p(
                "The school is now fully staffed, and the use of supply teachers has reduced sharply.",
                "staffing #st_stable",
            ),
            _p(
                "Leaders have made some strong appointments, including a new leader for {subj}.",
                "staffing middle_leadership",
            ),
            _p(
                "Staffing is now more stable, which has helped pupils to settle and make better progress.",
                "staffing #st_stable",
            ),
            _p("The new staffing structure gives clearer lines of responsibility.", "staffing senior_leadership"),
        ),
    },
}
"""Weakness and strength sentences for every issue tag of the taxonomy."""

ISSUE_TAG_ORDER = tuple(BANK)

CONTEXT: tuple[Phrase, ...] = (
    _p("{N} teachers have moved on since the last inspection, and {n2} new teachers have started.", "staffing"),
    _p("A new deputy headteacher took up post in {month}.", "staffing senior_leadership"),
    _p("Governors elected a new chair in {month}.", "governance"),
    _p("{N} teachers are currently on temporary contracts.", "staffing"),
    _p("The number of pupils on roll has risen since the last inspection.", ""),
    _p("An acting deputy headteacher has supported the headteacher since {month}.", "staffing senior_leadership"),
    _p(
        "The school has introduced a new system for assessing pupils' progress since the previous inspection.",
        "assessment_tracking",
    ),
    _p("The leader for special educational needs has been absent since {month}.", "staffing inclusion_send"),
    _p("Two classes are being taught in temporary classrooms while building work is completed.", ""),
    _p("The school has reorganised its classes into mixed-age groups this year.", ""),
)
"""Context sentences: neutral, some tagged with what they are about."""

EVIDENCE: tuple[str, ...] = (
    "I held meetings with you, {roles} and an officer from the local authority.",
    "I observed teaching in {n} classes, {k} of them jointly with {senior}.",
    "I examined samples of pupils' work and heard several pupils read aloud.",
    "I scrutinised the school's improvement plan, minutes of governors' meetings and records of pupils' progress.",
    "I spoke with a group of pupils about their learning and their views of the school.",
    "I reviewed the school's behaviour and attendance logs and its vetting checks on staff.",
    "I took account of parents' responses to Ofsted's online survey and spoke with some parents at the school gate.",
    "Together we visited lessons in every key stage and talked with pupils about their work.",
)
"""Evidence sentences (neutral, untagged): what the inspector did."""

_ROLES = (
    "the deputy headteacher",
    "the assistant headteacher",
    "the special educational needs coordinator",
    "the leaders for English and mathematics",
    "three governors, including the chair",
    "the chair of the governing body",
    "a group of subject leaders",
    "the business manager",
)
_SENIORS = ("you", "the deputy headteacher", "the assistant headteacher", "senior leaders")


@dataclass(frozen=True)
class Rec:
    """A recommendation: imperative text (lower case start), its tags, and sub-items for a "by:" parent."""

    text: str
    tags: tuple[str, ...]
    children: tuple[Phrase, ...] = ()
    phase: str = "any"


def _r(text: str, tags: str, phase: str = "any") -> Rec:
    return Rec(text, tuple(tags.split()), (), phase)


RECS: dict[str, tuple[Rec, ...]] = {
    "governance": (
        _r(
            "give governors sharper information on how different groups of pupils are doing, so that they can "
            "challenge leaders",
            "governance",
        ),
        _r(
            "ensure that governors check the impact of the pupil premium on the achievement of disadvantaged pupils",
            "governance inclusion_send",
        ),
    ),
    "senior_leadership": (
        _r(
            "share leadership responsibilities more widely across the senior team, so that the pace of improvement "
            "quickens",
            "senior_leadership",
        ),
        _r(
            "make sure that all staff understand and share the school's priorities for improvement", "senior_leadership"
        ),
    ),
    "middle_leadership": (
        _r(
            "train subject leaders to evaluate teaching in their areas and to tackle any weaknesses they find",
            "middle_leadership monitoring_evaluation",
        ),
        _r(
            "give the mathematics leader the time to support colleagues and to check the impact of the new approach "
            "to calculation",
            "middle_leadership maths_numeracy",
        ),
    ),
    "teaching_quality": (
        _r(
            "ensure that the work set in lessons matches pupils' different abilities, especially those of the most "
            "able",
            "teaching_quality inclusion_send",
        ),
        _r("make sure that teachers in {yr} expect more of pupils", "teaching_quality"),
        _r("make sure that teaching assistants are used well in every lesson", "teaching_quality"),
    ),
    "assessment_tracking": (
        _r(
            "improve the accuracy of teachers' assessments, so that leaders know precisely which pupils are falling "
            "behind",
            "assessment_tracking",
        ),
        _r(
            "refine the tracking of pupils' progress so that the achievement of different groups can be compared",
            "assessment_tracking",
        ),
    ),
    "marking_feedback": (
        _r(
            "apply the marking policy consistently and build in time for pupils to respond to written comments",
            "marking_feedback",
        ),
        _r("ensure that feedback tells pupils clearly what they need to do to improve their work", "marking_feedback"),
    ),
    "monitoring_evaluation": (
        _r(
            "sharpen the feedback given to teachers after observations, so that it identifies precisely what they "
            "need to improve",
            "monitoring_evaluation",
        ),
        _r(
            "evaluate the impact of each action on pupils' progress, and adjust plans when an action is not working",
            "monitoring_evaluation",
        ),
    ),
    "improvement_planning": (
        _r(
            "rewrite the improvement plan so that each action has an owner, a completion date and a target "
            "that can be checked",
            "improvement_planning",
        ),
        _r(
            "add termly milestones to the action plan that governors can use to judge progress",
            "improvement_planning governance",
        ),
    ),
    "professional_development": (
        _r(
            "provide training for staff that is closely matched to the weaknesses identified in teaching",
            "professional_development",
        ),
        _r("give teachers regular opportunities to see good practice in other schools", "professional_development"),
    ),
    "maths_numeracy": (
        _r(
            "strengthen the teaching of written calculation so that pupils master each method before moving on",
            "maths_numeracy",
        ),
        _r(
            "build regular problem solving and reasoning into mathematics lessons",
            "maths_numeracy",
        ),
    ),
    "english_literacy": (
        _r(
            "improve the teaching of phonics so that all pupils in {ks} can read unfamiliar words accurately",
            "english_literacy",
            "primary",
        ),
        _r(
            "plan regular extended writing in subjects across the curriculum",
            "english_literacy curriculum",
        ),
        _r("raise standards of spelling, punctuation and handwriting in every class", "english_literacy"),
    ),
    "pupil_outcomes": (
        _r(
            "raise attainment at the end of {ks}, particularly in reading and mathematics",
            "pupil_outcomes english_literacy maths_numeracy",
        ),
        _r(
            "quicken the progress of pupils in {yr} so that they catch up with what is expected for their age",
            "pupil_outcomes",
        ),
    ),
    "curriculum": (
        _r(
            "set out clearly the knowledge pupils should learn in {subj} and the order in which they should learn it",
            "curriculum",
        ),
        _r("make sure that subjects such as {subj} are taught in enough depth", "curriculum"),
    ),
    "behaviour_attendance": (
        _r(
            "raise attendance, concentrating on the pupils who miss school most often",
            "behaviour_attendance",
        ),
        _r("reduce the number of exclusions by applying the behaviour policy consistently", "behaviour_attendance"),
        _r("tackle low-level disruption so that learning is not interrupted", "behaviour_attendance"),
    ),
    "safeguarding": (
        _r(
            "keep complete logs of every welfare concern and act on them without delay",
            "safeguarding",
        ),
        _r(
            "make sure that all staff receive up-to-date child protection training",
            "safeguarding professional_development",
        ),
    ),
    "inclusion_send": (
        _r(
            "check that additional funding is used well to improve the progress of disadvantaged pupils",
            "inclusion_send",
        ),
        _r(
            "match the help given to pupils with special educational needs and/or disabilities more closely "
            "to what each of them needs",
            "inclusion_send",
        ),
        _r("provide more challenge for the most able pupils", "inclusion_send"),
    ),
    "early_years": (
        _r(
            "improve the planning of activities in the Reception class so that children develop early reading and "
            "number skills",
            "early_years english_literacy maths_numeracy",
            "primary",
        ),
        _r("make better use of the outdoor area in the early years", "early_years", "primary"),
    ),
    "staffing": (
        _r(
            "secure stable staffing, so that pupils benefit from consistently good teaching",
            "staffing teaching_quality",
        ),
        _r("complete the recruitment of permanent teachers for the classes now taught by temporary staff", "staffing"),
    ),
}
"""Recommendations (what the school is asked to do) for every issue tag."""

NESTED: tuple[Rec, ...] = (
    Rec(
        "make teaching consistently good across the school, by:",
        ("teaching_quality",),
        (
            _p("setting work that fits the different abilities in each class", "teaching_quality"),
            _p("insisting on neat, careful presentation in pupils' books", "teaching_quality"),
            _p(
                "checking pupils' understanding during lessons and adapting the teaching when they are stuck",
                "teaching_quality assessment_tracking",
            ),
            _p("giving pupils clear feedback so that they know how to improve their work", "marking_feedback"),
        ),
    ),
    Rec(
        "increase the impact of leaders and governors, by:",
        ("senior_leadership", "governance"),
        (
            _p("ensuring that governors hold leaders to account for pupils' progress", "governance"),
            _p(
                "giving subject leaders a bigger part in evaluating teaching",
                "middle_leadership monitoring_evaluation",
            ),
            _p("making sure that the improvement plan has measurable targets", "improvement_planning"),
            _p(
                "evaluating the impact of the training that staff receive",
                "professional_development monitoring_evaluation",
            ),
        ),
    ),
    Rec(
        "raise attainment in mathematics, by:",
        ("maths_numeracy", "pupil_outcomes"),
        (
            _p("making sure that pupils are fluent in calculation", "maths_numeracy"),
            _p("asking pupils to apply their number skills to problems every week", "maths_numeracy"),
            _p(
                "checking that teachers' assessments of pupils' mathematics are accurate",
                "maths_numeracy assessment_tracking",
            ),
        ),
    ),
    Rec(
        "improve pupils' reading, by:",
        ("english_literacy",),
        (
            _p("ensuring that phonics is taught consistently well", "english_literacy"),
            _p("making sure that weaker readers read often to an adult", "english_literacy"),
            _p("checking that the books pupils read match the sounds they know", "english_literacy"),
        ),
        "primary",
    ),
    Rec(
        "improve pupils' behaviour and attendance, by:",
        ("behaviour_attendance",),
        (
            _p("applying the behaviour policy consistently in every class", "behaviour_attendance"),
            _p("working with families to reduce persistent absence", "behaviour_attendance"),
            _p("reducing the number of fixed-term exclusions", "behaviour_attendance"),
        ),
    ),
)
"""Recommendations with sub-items ("…, by:" then "– making sure …")."""

SUPPORT: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # (sentence, issue tags, polarity, support types find_support reads in it)
    (
        "The local authority has provided regular visits from its link adviser, who has checked the accuracy of "
        "leaders' judgements about teaching.",
        "monitoring_evaluation",
        "strength",
        ("la_adviser_consultant",),
    ),
    (
        "The local authority's help has been patchy, and agreed actions are rarely checked at later visits.",
        "",
        "weakness",
        ("la_adviser_consultant",),
    ),
    (
        "A local authority consultant has modelled mathematics lessons for teachers in {yr}.",
        "maths_numeracy teaching_quality",
        "strength",
        ("la_adviser_consultant",),
    ),
    (
        "The school improvement partner meets governors each half term and has helped them agree tougher "
        "targets for the headteacher.",
        "governance",
        "strength",
        ("school_improvement_partner",),
    ),
    (
        "Since {month}, the headteacher has been mentored by a national leader of education.",
        "senior_leadership",
        "strength",
        ("national_leader_of_education",),
    ),
    (
        "Staff from a national support school have helped teachers in {ks} to plan catch-up sessions for "
        "pupils who are behind.",
        "teaching_quality",
        "strength",
        ("national_leader_of_education",),
    ),
    (
        "The senior team has worked with a local leader of education to tighten the improvement plan.",
        "improvement_planning senior_leadership",
        "strength",
        ("local_leader_of_education",),
    ),
    (
        "A national leader of governance has reviewed the work of the governing body and trained governors to question "
        "school data.",
        "governance",
        "strength",
        ("national_leader_of_governance",),
    ),
    (
        "A specialist leader of education has coached teachers in {ks} on pitching work at the right level.",
        "teaching_quality professional_development",
        "strength",
        ("specialist_leader_of_education",),
    ),
    (
        "Teachers have visited {place} Teaching School to see effective practice in the teaching of reading.",
        "english_literacy professional_development",
        "strength",
        ("partner_school",),
    ),
    (
        "The school has formed a partnership with two nearby schools, whose leaders check the accuracy of each other's "
        "assessments.",
        "assessment_tracking",
        "strength",
        ("partner_school",),
    ),
    (
        "Leaders attended an Ofsted seminar for schools in their position, which helped them to focus their plans.",
        "improvement_planning",
        "neutral",
        ("ofsted_hmi",),
    ),
    (
        "The trust's central team has helped the principal to improve behaviour and to fill vacant posts.",
        "behaviour_attendance staffing",
        "strength",
        ("academy_trust_sponsor",),
    ),
    (
        "Senior staff of the {trust} review progress against the improvement plan with leaders every two weeks.",
        "improvement_planning",
        "strength",
        ("academy_trust_sponsor",),
    ),
    (
        "The diocese has run sessions for governors on their legal responsibilities.",
        "governance",
        "strength",
        ("diocese",),
    ),
    (
        "Staff from a nearby university have shown teaching assistants how to deliver a reading "
        "intervention for younger pupils.",
        "english_literacy professional_development",
        "strength",
        ("other_external",),
    ),
    (
        "An independent consultant has worked with middle leaders on checking the quality of teaching.",
        "middle_leadership monitoring_evaluation",
        "strength",
        ("other_external",),
    ),
)
"""External support sentences with the support types the rules of `pipeline.readers.support` find in them."""

# -- plans ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A person: title (may be empty), first name, surname."""

    title: str
    first: str
    last: str

    @property
    def full(self) -> str:
        """Title, first name and surname."""
        return " ".join(p for p in (self.title, self.first, self.last) if p)

    @property
    def plain(self) -> str:
        """First name and surname."""
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class School:
    """A school as GIAS lists it; the letters about it agree with this row."""

    urn: int
    name: str
    la: LocalAuthority
    number: int
    type_code: int
    type_name: str
    phase: str  # primary | secondary
    street: str
    locality: str
    town: str
    postcode: str
    opened: dt.date
    head: Person
    head_role: str
    trust: str | None

    @property
    def academy(self) -> bool:
        """Whether GIAS lists it as an academy."""
        return self.type_code in (28, 34)


@dataclass(frozen=True)
class LetterPlan:
    """What one letter will say, chosen before its text is written."""

    index: int
    name: str  # file name without suffix
    fmt: str  # txt | pdf
    school: School
    kind: str
    era: str
    visit_dates: tuple[dt.date, ...]
    letter_date: dt.date
    previous_s5: tuple[int, int] | None  # (year, month)
    visit_number: int | None
    effective: bool | None
    academy_opened: dt.date | None = None


@dataclass(frozen=True)
class CorpusPlan:
    """The schools and the letters of a synthetic corpus."""

    schools: tuple[School, ...]
    letters: tuple[LetterPlan, ...]


_ERA_WINDOWS: dict[str, tuple[str, dt.date, dt.date]] = {
    "ri_old": ("ri_monitoring", dt.date(2012, 10, 1), dt.date(2015, 7, 15)),
    "ri_mid": ("ri_monitoring", dt.date(2015, 9, 14), dt.date(2019, 7, 15)),
    "ri_new": ("ri_monitoring", dt.date(2021, 9, 13), dt.date(2023, 7, 14)),
    "sm_old": ("special_measures_monitoring", dt.date(2012, 9, 17), dt.date(2015, 7, 15)),
    "sm_mid": ("special_measures_monitoring", dt.date(2015, 9, 14), dt.date(2020, 3, 13)),
    "sm_new": ("special_measures_monitoring", dt.date(2021, 9, 13), dt.date(2023, 12, 8)),
    "sw_old": ("serious_weaknesses_monitoring", dt.date(2012, 9, 17), dt.date(2015, 7, 15)),
    "sw_mid": ("serious_weaknesses_monitoring", dt.date(2015, 9, 14), dt.date(2020, 3, 13)),
    "sw_new": ("serious_weaknesses_monitoring", dt.date(2021, 9, 13), dt.date(2023, 12, 8)),
    "short": ("short_inspection", dt.date(2015, 10, 1), dt.date(2019, 7, 15)),
    "s8good": ("short_inspection", dt.date(2019, 9, 16), dt.date(2023, 12, 8)),
    "nfd": ("section8_other", dt.date(2012, 9, 17), dt.date(2019, 7, 15)),
    "academy": ("section8_other", dt.date(2021, 9, 13), dt.date(2023, 12, 8)),
}
"""Each letter template (era): its kind and the dates it was in use."""

_KIND_WEIGHTS = {
    "ri_monitoring": 0.27,
    "special_measures_monitoring": 0.15,
    "serious_weaknesses_monitoring": 0.10,
    "short_inspection": 0.30,
    "section8_other": 0.18,
}


def _era_of(kind: str, day: dt.date) -> str | None:
    for era, (k, start, end) in _ERA_WINDOWS.items():
        if k == kind and start <= day <= end:
            return era
    return None


def _school_day(day: dt.date) -> dt.date:
    """The next day on or after ``day`` when schools are open: a weekday outside August and Christmas."""
    while True:
        if day.month == 8:
            day = dt.date(day.year, 9, 8)
        elif (day.month == 12 and day.day > 18) or (day.month == 1 and day.day < 6):
            day = dt.date(day.year + (day.month == 12), 1, 7)
        elif _COVID[0] <= day < _COVID[1]:
            day = _COVID[1] + dt.timedelta(days=12)
        elif day.weekday() >= 5:
            day += dt.timedelta(days=7 - day.weekday())
        else:
            return day


def _random_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return _school_day(start + dt.timedelta(days=rng.randrange((end - start).days + 1)))


def _kind_window(kind: str) -> tuple[dt.date, dt.date]:
    spans = [(s, e) for k, s, e in _ERA_WINDOWS.values() if k == kind]
    return min(s for s, _ in spans), max(e for _, e in spans)


def _visit_days(rng: random.Random, first: dt.date, n_days: int) -> tuple[dt.date, ...]:
    """The visit: ``first`` alone, or two consecutive school days around it (some across a month's end)."""
    if n_days == 1:
        return (first,)
    if rng.random() < 0.15:  # a visit across the end of a month
        last = dt.date(first.year, first.month, 28)
        while (last + dt.timedelta(days=1)).month == first.month:
            last += dt.timedelta(days=1)
        while last.weekday() >= 4:  # Monday to Thursday, so that the next day is a weekday
            last -= dt.timedelta(days=1)
        if (last + dt.timedelta(days=1)).month != 8 and last.month != 12:
            first = last
    one = dt.timedelta(days=1)
    while first.weekday() >= 4 or _school_day(first) != first or _school_day(first + one) != first + one:
        first -= one  # two consecutive school days, Monday to Friday
    return first, first + one


def _month_back(day: dt.date, months: int) -> tuple[int, int]:
    y, m = day.year, day.month - months
    while m < 1:
        y, m = y - 1, m + 12
    if m == 8:  # no inspections in August
        m = 7
    return y, m


def _person(rng: random.Random, titled: bool = True) -> Person:
    """A person; with a title that fits the first name when ``titled``."""
    female = rng.random() < 0.62
    first = rng.choice(_FIRST_F if female else _FIRST_M)
    last = rng.choice(_SURNAMES)
    if not titled:
        return Person("", first, last)
    title = "Dr" if rng.random() < 0.04 else rng.choice(("Mrs", "Ms", "Miss") if female else ("Mr",))
    return Person(title, first, last)


class _Names:
    """Unique school names and postcodes for one corpus."""

    def __init__(self, rng: random.Random) -> None:
        from pipeline.stages.link import normalise_name

        self.rng = rng
        self.normalise = normalise_name
        self.names: set[str] = set()
        self.postcodes: set[str] = set()

    def place(self) -> str:
        """An invented place name, sometimes of two words."""
        rng = self.rng
        base = rng.choice(_PLACE_HEAD) + rng.choice(_PLACE_TAIL)
        if rng.random() < 0.3:
            second = rng.choice(_PLACE_SECOND)
            if second.lower() not in base.lower():
                base += " " + second
        return base

    def school_name(self, phase: str, academy: bool) -> tuple[str, int, str]:
        """A school name no other school in the corpus has (once names are normalised), with its GIAS type."""
        for _ in range(1000):
            name, code, type_name = self._candidate(phase, academy)
            key = self.normalise(name)
            if key not in self.names:
                self.names.add(key)
                return name, code, type_name
        raise PipelineError("ran out of unique school names; this is a bug in pipeline/synth/generate.py")

    def _candidate(self, phase: str, academy: bool) -> tuple[str, int, str]:
        rng = self.rng
        forms: tuple[tuple[str, int, str], ...]
        weights: tuple[int, ...]
        if academy:
            forms = (
                ("{p} Academy", 28, "Academy sponsor led"),
                ("{p} Primary Academy" if phase == "primary" else "{p} Community Academy", 34, "Academy converter"),
                ("{p} Church of England Academy", 34, "Academy converter"),
                ("St {s}'s Catholic Academy", 34, "Academy converter"),
            )
            weights = (10, 6, 2, 2)
        elif phase == "primary":
            forms = (
                ("{p} Primary School", 1, "Community school"),
                ("{p} Community Primary School", 1, "Community school"),
                ("{p} Infant School", 1, "Community school"),
                ("{p} Junior School", 1, "Community school"),
                ("{p} Primary and Nursery School", 5, "Foundation school"),
                ("{p} Church of England Primary School", 3, "Voluntary controlled school"),
                ("{p} CofE Primary School", 3, "Voluntary controlled school"),
                ("St {s}'s Catholic Primary School", 2, "Voluntary aided school"),
                ("St {s}'s Church of England Primary School", 2, "Voluntary aided school"),
                ("{p} Junior and Infant School", 1, "Community school"),
            )
            weights = (30, 6, 6, 6, 4, 6, 3, 5, 4, 2)
        else:
            forms = (
                ("{p} High School", 1, "Community school"),
                ("{p} School", 5, "Foundation school"),
                ("{p} Community College", 1, "Community school"),
                ("{p} Secondary School", 1, "Community school"),
                ("St {s}'s Catholic High School", 2, "Voluntary aided school"),
            )
            weights = (10, 5, 3, 2, 3)
        form, code, type_name = rng.choices(forms, weights=weights)[0]
        if "{s}" in form:
            return form.format(s=rng.choice(_SAINTS)), code, type_name
        return form.format(p=self.place()), code, type_name

    def postcode(self, la: LocalAuthority) -> str:
        """A postcode in one of the LA's areas that no other school and no letterhead has."""
        from pipeline.readers.letter import LETTERHEAD_POSTCODES

        rng = self.rng
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        while True:
            area = rng.choice(la.areas)
            district = rng.randint(1, 29 if len(area) == 2 else 40)
            code = f"{area}{district} {rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
            if code not in self.postcodes and code not in LETTERHEAD_POSTCODES:
                self.postcodes.add(code)
                return code


def _new_school(
    names: _Names, urn: int, number: int, la: LocalAuthority, first_letter: dt.date, academy: bool | None = None
) -> School:
    rng = names.rng
    phase = "primary" if rng.random() < 0.72 else "secondary"
    if academy is None:
        academy = first_letter >= dt.date(2013, 9, 1) and rng.random() < (0.15 if first_letter.year < 2016 else 0.4)
    name, code, type_name = names.school_name(phase, academy)
    if academy:
        opened = dt.date(rng.randint(max(2010, first_letter.year - 6), first_letter.year - 1), rng.choice((1, 4, 9)), 1)
    else:
        opened = dt.date(rng.randint(1950, 2008), rng.choice((1, 4, 9)), 1)
    head = _person(rng)
    role = rng.choices(
        ("Principal", "Headteacher", "Executive Headteacher", "Head of School")
        if academy
        else ("Headteacher", "Acting Headteacher", "Executive Headteacher", "Head of School", "Interim Headteacher"),
        weights=(6, 3, 1, 1) if academy else (12, 2, 1, 1, 1),
    )[0]
    trust = None
    if academy:
        trust = f"{names.place()} {rng.choice(('Learning Trust', 'Academy Trust', 'Multi-Academy Trust'))}"
    locality = names.place() if rng.random() < 0.45 else ""
    return School(
        urn=urn,
        name=name,
        la=la,
        number=number,
        type_code=code,
        type_name=type_name,
        phase=phase,
        street=f"{rng.choice(_STREET_HEAD)} {rng.choice(_STREET_TAIL)}",
        locality=locality,
        town=rng.choice(la.towns),
        postcode=names.postcode(la),
        opened=opened,
        head=head,
        head_role=role,
        trust=trust,
    )


@dataclass
class _Event:
    kind: str
    era: str
    first_day: dt.date
    n_days: int
    previous_s5: tuple[int, int] | None
    visit_number: int | None
    effective: bool | None
    academy_opened: dt.date | None = None


def _effective(rng: random.Random, kind: str, era: str) -> bool | None:
    if era == "nfd":
        return None
    if era == "s8good":  # a good school with concerns got a full inspection, not this letter
        return True
    p = {
        "ri_monitoring": 0.75,
        "special_measures_monitoring": 0.65,
        "serious_weaknesses_monitoring": 0.65,
        "short_inspection": 0.9,
        "section8_other": 0.85,
    }[kind]
    return rng.random() < p


def _n_days(rng: random.Random, kind: str) -> int:
    p2 = {
        "ri_monitoring": 0.1,
        "special_measures_monitoring": 0.75,
        "serious_weaknesses_monitoring": 0.5,
        "short_inspection": 0.15,
        "section8_other": 0.4,
    }[kind]
    return 2 if rng.random() < p2 else 1


def _single_event(rng: random.Random, kind: str, day: dt.date | None = None) -> _Event:
    """One visit of ``kind``, on ``day`` (moved to the next date a template of that kind was in use) or at random."""
    start, end = _kind_window(kind)
    day = _random_day(rng, start, end) if day is None else day
    era = _era_of(kind, day)
    while era is None:
        day = _school_day(day + dt.timedelta(days=14))
        if day > end:
            day = _random_day(rng, start, end)
        era = _era_of(kind, day)
    prev: tuple[int, int] | None
    number: int | None = None
    opened = None
    if kind == "ri_monitoring":
        prev, number = _month_back(day, rng.randint(1, 3)), 1 if rng.random() < 0.85 else 2
    elif kind in ("special_measures_monitoring", "serious_weaknesses_monitoring"):
        number = rng.randint(1, 6 if kind == "special_measures_monitoring" else 3)
        prev = _month_back(day, 2 + 4 * (number - 1) + rng.randint(0, 2))
    elif kind == "short_inspection":
        prev = _month_back(day, rng.randint(36, 60) if era == "short" else rng.randint(48, 84))
    elif era == "nfd":
        prev = _month_back(day, rng.randint(12, 60))
    else:  # a sponsored academy's monitoring: it has had no section 5 inspection of its own yet
        prev = None
        number = rng.randint(1, 2)
        y, m = _month_back(day, rng.randint(9, 20) + 4 * (number - 1))
        opened = dt.date(y, m, 1)
    return _Event(kind, era, day, _n_days(rng, kind), prev, number, _effective(rng, kind, era), opened)


def _series(rng: random.Random, kind: str, count: int) -> list[_Event]:
    """Monitoring visits to one school every four to five months, all after the same section 5 inspection."""
    start, end = _kind_window(kind)
    day = _random_day(rng, start, end - dt.timedelta(days=160 * count))
    events: list[_Event] = []
    previous = _month_back(day, rng.randint(3, 5))
    for k in range(count):
        ev = _single_event(rng, kind, day)
        ev.previous_s5, ev.visit_number = previous, k + 1
        if k and ev.effective is not None and not ev.effective:
            ev.effective = rng.random() < 0.5  # later visits tend to find improvement
        events.append(ev)
        day = _school_day(ev.first_day + dt.timedelta(days=rng.randint(110, 160)))
    return events


def _ri_then_good(rng: random.Random) -> list[_Event]:
    """A school monitored after a requires-improvement judgement, judged good later, then short-inspected."""
    ri = _single_event(rng, "ri_monitoring", _random_day(rng, dt.date(2012, 10, 1), dt.date(2016, 6, 30)))
    good_y, good_m = _month_back(ri.first_day + dt.timedelta(days=rng.randint(300, 600)), 0)
    later = _school_day(dt.date(good_y, good_m, 1) + dt.timedelta(days=rng.randint(3 * 365, 4 * 365)))
    if later > _kind_window("short_inspection")[1]:
        return [ri]
    short = _single_event(rng, "short_inspection", later)
    short.previous_s5 = (good_y, good_m)
    return [ri, short]


def plan_corpus(n: int, pdf_share: float, seed: int) -> CorpusPlan:
    """Choose the schools and each letter's kind, dates and outcome.

    Most schools get one letter; some get a series of monitoring visits, or a
    requires-improvement visit and, years later, a short inspection. The first
    five schools cover the five letter kinds, so any corpus of five or more
    letters has every kind. Letters are then shuffled, and exactly
    ``round(n * pdf_share)`` of them are PDFs.

    Args:
        n: number of letters.
        pdf_share: share of them to render as PDF (0–1).
        seed: the corpus seed.
    """
    rng = random.Random(f"ofsted-nlp synth plan {seed}")
    names = _Names(rng)
    histories: list[list[_Event]] = []
    total = 0
    while total < n:
        if len(histories) < len(LETTER_KINDS):
            events = [_single_event(rng, LETTER_KINDS[len(histories)])]
        else:
            r = rng.random()
            if r < 0.06:
                events = _series(rng, "special_measures_monitoring", rng.randint(2, 3))
            elif r < 0.09:
                events = _series(rng, "serious_weaknesses_monitoring", 2)
            elif r < 0.14:
                events = _ri_then_good(rng)
            else:
                kind = rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
                events = [_single_event(rng, kind)]
        events = events[: n - total]
        histories.append(events)
        total += len(events)
    schools: list[School] = []
    pending: list[tuple[School, _Event]] = []
    numbers: dict[tuple[int, str], int] = {}
    for k, events in enumerate(histories):
        la = rng.choice(LOCAL_AUTHORITIES)
        academy = True if any(e.academy_opened for e in events) else None
        school = _new_school(names, URN_BASE + k, 0, la, min(e.first_day for e in events), academy)
        base = {"primary": 2000, "secondary": 4000}[school.phase] + (1000 * school.academy)
        numbers[(la.code, school.phase)] = numbers.get((la.code, school.phase), 0) + 1
        number = base + numbers[(la.code, school.phase)] % 1000
        opened = school.opened
        academy_open = next((e.academy_opened for e in events if e.academy_opened), None)
        if academy_open is not None:
            opened = academy_open
        school = replace(school, number=number, opened=opened)
        schools.append(school)
        pending.extend((school, e) for e in events)
    order = list(range(len(pending)))
    rng.shuffle(order)
    n_pdf = round(n * pdf_share)
    pdfs = set(rng.sample(range(n), n_pdf))
    letters = []
    for i, j in enumerate(order):
        school, ev = pending[j]
        visits = _visit_days(rng, ev.first_day, ev.n_days)
        letter_date = visits[-1] + dt.timedelta(days=rng.randint(3, 20))
        if letter_date.weekday() >= 5:
            letter_date += dt.timedelta(days=7 - letter_date.weekday())
        letters.append(
            LetterPlan(
                index=i,
                name=f"synth_{i:06d}",
                fmt="pdf" if i in pdfs else "txt",
                school=school,
                kind=ev.kind,
                era=ev.era,
                visit_dates=visits,
                letter_date=letter_date,
                previous_s5=ev.previous_s5,
                visit_number=ev.visit_number,
                effective=ev.effective,
                academy_opened=ev.academy_opened,
            )
        )
    return CorpusPlan(tuple(schools), tuple(letters))


# -- composing a letter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One generated sentence or bullet, with its labels."""

    text: str
    tags: tuple[str, ...] = ()
    polarity: str = "neutral"
    support_types: tuple[str, ...] = ()
    kind: str = "sentence"  # sentence | bullet | sub_bullet


@dataclass(frozen=True)
class Para:
    """A paragraph of sentences; ``optional`` ones may be dropped to fit a PDF on four pages."""

    units: tuple[Unit, ...]
    optional: bool = False


@dataclass(frozen=True)
class Heading:
    """A section heading."""

    text: str


@dataclass(frozen=True)
class Item:
    """A bullet and its sub-bullets."""

    unit: Unit
    children: tuple[Unit, ...] = ()


@dataclass(frozen=True)
class Bullets:
    """A list; ``counted`` when its items are recommendations to the school (not the LA's or an annex's)."""

    items: tuple[Item, ...]
    counted: bool = True


@dataclass(frozen=True)
class Lines:
    """Lines printed as they are: letterhead, date, address, salutation, subject, sign-off."""

    lines: tuple[str, ...]
    role: str
    bold: bool = False


Block = Para | Heading | Bullets | Lines


@dataclass
class Letter:
    """A composed letter: its blocks and the values its truth record reports."""

    plan: LetterPlan
    header: list[Block]
    body: list[Block]
    values: dict[str, Any] = field(default_factory=dict)
    layout: dict[str, Any] = field(default_factory=dict)


def _ordinal_date(d: dt.date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _dates_text(rng: random.Random, days: Sequence[dt.date]) -> str:
    if len(days) == 1:
        return _ordinal_date(days[0])
    a, b = days[0], days[-1]
    if a.month == b.month:
        form = rng.choice(("{a} and {b} {m} {y}", "{a}\u2013{b} {m} {y}", "{a} to {b} {m} {y}"))
        return form.format(a=a.day, b=b.day, m=_MONTHS[b.month - 1], y=b.year)
    if a.year == b.year:
        return f"{a.day} {_MONTHS[a.month - 1]} and {b.day} {_MONTHS[b.month - 1]} {b.year}"
    return f"{_ordinal_date(a)} and {_ordinal_date(b)}"


class _Composer:
    """Writes one letter's blocks from its plan; all choices come from the letter's own random stream."""

    def __init__(self, plan: LetterPlan, seed: int) -> None:
        self.plan = plan
        self.rng = random.Random(f"ofsted-nlp synth letter {seed} {plan.index}")
        self.school = plan.school
        self.primary = plan.school.phase == "primary"
        self.used: set[str] = set()
        self.weak_tags: list[str] = []
        d = plan.visit_dates[0]
        self.his = d >= _HIS_MAJESTY_FROM
        self.majesty = "His Majesty's" if self.his else "Her Majesty's"
        self.lower_ks = d >= _LOWER_KS_FROM
        self.chief = f"{self.majesty} Chief Inspector of Education, Children's Services and Skills"
        self.trust = self.school.trust or f"{self.school.la.letter_name} Learning Trust"
        self.values: dict[str, Any] = {}
        self.layout: dict[str, Any] = {}
        self.head_value: str | None = None
        self.salutation = ""
        self.we = False

    # -- slots -----------------------------------------------------------------------------------

    def fill(self, text: str) -> str:
        rng = self.rng
        if "{" not in text:
            return text
        if self.primary:
            ks = rng.choice(("key stage 1", "key stage 2"))
            yr = f"Year {rng.randint(1, 6)}"
        else:
            ks = rng.choice(("key stage 3", "key stage 4"))
            yr = f"Year {rng.randint(7, 11)}"
        if not self.lower_ks:
            ks = ks.replace("key stage", "Key Stage")
        groups = (
            "disadvantaged pupils",
            "pupils with special educational needs and/or disabilities",
            "the most able pupils",
            "pupils who speak English as an additional language",
        )
        n = rng.choice(_NUMBER_WORDS)
        values = {
            "ks": ks,
            "yr": yr,
            "subj": rng.choice(_SUBJECTS),
            "grp": rng.choice(groups),
            "n": n,
            "N": n.capitalize(),
            "n2": rng.choice(_NUMBER_WORDS),
            "k": rng.choice(("two", "three")),
            "month": rng.choice(("September", "October", "November", "January", "February", "April", "June")),
            "roles": ", ".join(rng.sample(_ROLES, 2)),
            "senior": rng.choice(_SENIORS),
            "place": self.rng.choice(_PLACE_HEAD) + self.rng.choice(_PLACE_TAIL),
            "trust": self.trust,
        }
        return text.format_map(values)

    def phrase(self, tag: str, pol: str) -> Unit | None:
        options = [
            p
            for p in BANK[tag][pol]
            if p.text not in self.used and p.topic not in self.used and p.phase in ("any", self.school.phase)
        ]
        if not options:
            return None
        p = self.rng.choice(options)
        self.used.add(p.text)
        if p.topic:
            self.used.add(p.topic)  # no later sentence may say the opposite
        if pol == "w":
            self.weak_tags.extend(t for t in p.tags if t not in self.weak_tags)
        return Unit(self.fill(p.text), p.tags, "weakness" if pol == "w" else "strength")

    def length(self) -> int:
        """How many findings paragraphs: most letters are two or three pages, some run to four or more."""
        return self.rng.choice((3, 4, 5, 6, 7, 9, 11, 14))

    def tags_for_phase(self) -> list[str]:
        return [t for t in ISSUE_TAG_ORDER if self.primary or t != "early_years"]

    # -- paragraphs --------------------------------------------------------------------------------

    def findings(self, k: int, p_strength: float, avoid: Sequence[str] = ()) -> list[Para]:
        """``k`` paragraphs, each about one issue: mostly strengths or mostly weaknesses, sometimes with a contrast."""
        rng = self.rng
        tags = [t for t in self.tags_for_phase() if t not in avoid]
        out = []
        for tag in rng.sample(tags, min(k, len(tags))):
            major = "s" if rng.random() < p_strength else "w"
            units = [u for u in (self.phrase(tag, major) for _ in range(rng.randint(1, 3))) if u]
            if rng.random() < 0.45 or not units:
                contrast = self.phrase(tag, "w" if major == "s" else "s")
                if contrast:
                    units.append(replace(contrast, text=_however(contrast.text)) if units else contrast)
            if units:
                out.append(Para(tuple(units), optional=True))
        return out

    def evidence(self, inspectors: str = "I") -> Para:
        texts = self.rng.sample(EVIDENCE, self.rng.randint(2, 4))
        units = []
        for t in texts:
            s = self.fill(t)
            if inspectors == "we":
                s = _we(s)
            units.append(Unit(s))
        return Para(tuple(units))

    def context(self) -> Para:
        picks = self.rng.sample(CONTEXT, self.rng.randint(2, 3))
        return Para(tuple(Unit(self.fill(p.text), p.tags) for p in picks))

    def support(self, k: int) -> Para:
        rng = self.rng
        options = [s for s in SUPPORT if (self.school.academy or "trust" not in s[0])]
        if not self.school.academy and self.school.type_code not in (2, 3):
            options = [s for s in options if s[3] != ("diocese",)]
        picks = rng.sample(options, k)
        return Para(tuple(Unit(self.fill(t), tuple(tags.split()), pol, types) for t, tags, pol, types in picks))

    def recs(self, k: int, capital: bool, nested_p: float = 0.3) -> Bullets:
        """``k`` recommendations drawn from the weaknesses the letter names (then from any issue)."""
        rng = self.rng
        others = [t for t in self.tags_for_phase() if t not in self.weak_tags]
        rng.shuffle(others)
        picks: list[Rec] = []
        nested = [r for r in NESTED if r.phase in ("any", self.school.phase)]
        if rng.random() < nested_p:
            picks.append(rng.choice(nested))
        for tag in [*self.weak_tags, *others]:
            if len(picks) >= k:
                break
            options = [r for r in RECS[tag] if r.phase in ("any", self.school.phase) and r not in picks]
            if options:
                picks.append(rng.choice(options))
        rng.shuffle(picks)
        items = []
        sep = rng.choice(("", ";"))
        for i, r in enumerate(picks):
            last = i == len(picks) - 1
            text = self.fill(r.text)
            if capital:
                text = text[0].upper() + text[1:]
            children: tuple[Unit, ...] = ()
            if r.children:
                chosen = rng.sample(r.children, rng.randint(2, len(r.children)))
                children = tuple(
                    Unit(
                        self.fill(c.text) + ("." if (last or capital) and j == len(chosen) - 1 else sep),
                        c.tags,
                        "weakness",
                        kind="sub_bullet",
                    )
                    for j, c in enumerate(chosen)
                )
            else:
                text += "." if (last or capital) else sep
            items.append(Item(Unit(text, r.tags, "weakness", kind="bullet"), children))
        return Bullets(tuple(items))

    def la_recs(self) -> tuple[Para, Bullets]:
        intro = Unit(
            self.rng.choice(("The local authority should take further action to:", "The local authority should:"))
        )
        items = (
            Item(
                Unit(
                    "secure a permanent headteacher for the school without further delay",
                    ("senior_leadership",),
                    "weakness",
                    kind="bullet",
                )
            ),
            Item(
                Unit(
                    "find the governing body a skilled clerk to guide it on its legal duties.",
                    ("governance",),
                    "weakness",
                    kind="bullet",
                )
            ),
        )
        return Para((intro,)), Bullets(items, counted=False)

    def annex(self) -> list[Block]:
        y, m = self.plan.previous_s5 or (self.plan.visit_dates[0].year - 1, 3)
        saved = set(self.used), list(self.weak_tags)
        bullets = self.recs(self.rng.randint(2, 3), capital=True, nested_p=0.6)
        self.used, self.weak_tags = saved
        bullets = Bullets(bullets.items, counted=False)
        return [
            Heading("Annex"),
            Para(
                (
                    Unit(
                        f"The areas for improvement identified at the section 5 inspection in {_MONTHS[m - 1]} {y} "
                        "are listed below."
                    ),
                )
            ),
            bullets,
        ]

    # -- the letter --------------------------------------------------------------------------------

    def compose(self) -> Letter:
        """The letter: header blocks, then the body its template (era) writes, and the values it states."""
        plan = self.plan
        era = plan.era
        lh = self.letterhead_key()
        header = self.header(lh)
        letter = Letter(plan, header, [])
        letter.values.update(
            contractor=lh,
            school_name=self.school.name,
            headteacher=None,
            previous_section5=(f"{plan.previous_s5[0]}-{plan.previous_s5[1]:02d}" if plan.previous_s5 else None),
            monitoring_visit_number=plan.visit_number,
            judgement=None,
            effective_action=plan.effective,
            action_plan_fit=None,
            nqt_permission=None,
        )
        self.values = letter.values
        body: list[Block] = []
        self.add_subject(body)
        builder = {
            "ri_old": self.ri,
            "ri_mid": self.ri,
            "ri_new": self.ri,
            "sm_old": self.sm_sw,
            "sm_mid": self.sm_sw,
            "sm_new": self.sm_sw,
            "sw_old": self.sm_sw,
            "sw_mid": self.sm_sw,
            "sw_new": self.sm_sw,
            "short": self.short,
            "s8good": self.short,
            "nfd": self.nfd,
            "academy": self.academy,
        }[era]
        builder(body)
        letter.body = body
        letter.values["headteacher"] = self.head_value
        return letter

    def letterhead_key(self) -> str:
        """Contractors wrote for Ofsted by region until August 2015 (most letters); Ofsted's offices after."""
        rng, d, region = self.rng, self.plan.visit_dates[0], self.school.la.region
        if d < _CONTRACTORS_UNTIL and rng.random() < 0.8:
            if region == "north":
                return "cfbt"
            if region == "midlands":
                return "serco_cedar" if d < dt.date(2013, 9, 1) else "serco_colmore"
            return "tribal"
        if region in ("north", "midlands"):
            return "ofsted_piccadilly"
        return "ofsted_aviation" if d < dt.date(2019, 6, 1) else "ofsted_clive"

    def header(self, lh_key: str) -> list[Block]:
        """Letterhead, date line and address block (in some Ofsted letters the letterhead follows the address)."""
        rng, school = self.rng, self.school
        lh = LETTERHEADS[lh_key]
        groups: list[tuple[str, ...]] = [lh.address, lh.phones]
        if lh.direct:
            digits = "".join(str(rng.randint(0, 9)) for _ in range(lh.direct.count("#")))
            it = iter(digits)
            direct = re.sub("#", lambda _: next(it), lh.direct)
            who = _person(rng, titled=False)
            user = (
                f"{who.first}.{who.last}".lower()
                if lh.email_style == "first.last"
                else f"{who.first[0]}{who.last}".lower()
            ).replace("'", "")
            groups.append((f"Direct T {direct}", f"Direct email: {user}@{lh.email_domain}"))
        blocks: list[Block] = [Lines(g, "letterhead") for g in groups]
        date = Lines((_ordinal_date(self.plan.letter_date),), "date")
        head = school.head
        style = rng.random()
        lines: list[str]
        if style < 0.1:
            lines, self.head_value = ["The Headteacher"], None
        elif style < 0.2:
            lines, self.head_value = [f"{head.full}, {school.head_role}"], head.full
        elif style < 0.3:
            lines, self.head_value = [head.plain], head.plain
        elif style < 0.35 and head.title != "Dr":
            initials = f"{head.title} {head.first[0]} {head.last}"
            lines, self.head_value = [initials], initials
        else:
            lines, self.head_value = [head.full, school.head_role], head.full
        lines.append(school.name)
        lines.append(school.street)
        if school.locality:
            lines.append(school.locality)
        postcode = school.postcode
        if rng.random() < 0.05:
            postcode = postcode.replace(" ", "")
        if rng.random() < 0.15:
            lines.append(f"{school.town} {postcode}")
        else:
            lines.extend((school.town, postcode))
        address = Lines(tuple(lines), "address")
        self.salutation = "Dear " + (
            "Headteacher" if lines[0] == "The Headteacher" and rng.random() < 0.3 else f"{head.title} {head.last}"
        )
        after = rng.random() < 0.12 and lh_key.startswith("ofsted")
        self.layout = {"letterhead_after_address": after}
        if after:
            return [date, address, *blocks]
        return [*blocks, date, address]

    def add_subject(self, body: list[Block]) -> None:
        plan, rng, name = self.plan, self.rng, self.school.name
        era = plan.era
        subject = {
            "ri_old": rng.choice(
                (
                    "Requires improvement monitoring inspection visit under section 8 of the Education Act 2005 "
                    f"to {name}",
                    f"Requires improvement: monitoring inspection visit to {name}",
                )
            ),
            "ri_mid": f"Requires improvement: monitoring inspection visit to {name}",
            "ri_new": f"Monitoring inspection of {name}",
            "sm_old": f"Special measures monitoring inspection of {name}",
            "sm_mid": f"Special measures monitoring inspection of {name}",
            "sm_new": f"Monitoring inspection of {name}",
            "sw_old": rng.choice(
                (f"Monitoring inspection of {name}", f"Serious weaknesses monitoring inspection of {name}")
            ),
            "sw_mid": f"Serious weaknesses monitoring inspection of {name}",
            "sw_new": f"Monitoring inspection of {name}",
            "short": f"Short inspection of {name}",
            "s8good": f"Inspection of {name}",
            "nfd": f"No formal designation monitoring inspection of {name}",
            "academy": f"Monitoring inspection of {name}",
        }[era]
        body.append(Lines((self.salutation,), "salutation"))
        body.append(Lines((subject,), "subject", bold=True))

    def opening(self, with_colleague: bool | None = None) -> Para:
        """The visit sentence (the parser reads the visit dates from it) and the thanks."""
        rng, plan = self.rng, self.plan
        dates = _dates_text(rng, plan.visit_dates)
        if rng.random() < 0.1 and len(plan.visit_dates) == 1:
            dates = plan.visit_dates[0].strftime("%A ") + dates
        if with_colleague is None:
            with_colleague = len(plan.visit_dates) > 1 and rng.random() < 0.6
        self.we = bool(with_colleague)
        if with_colleague:
            co = _person(rng, titled=False)
            role = rng.choice((f"{self.majesty} Inspector", "Ofsted Inspector"))
            first = (
                f"Following my visit with {co.plain}, {role}, to your school on {dates}, I write on behalf of "
                f"{self.chief} to set out our findings."
            )
        elif plan.era in ("academy", "ri_new", "sm_new", "sw_new") and rng.random() < 0.6:
            first = (
                f"This letter sets out the findings of the monitoring inspection of your school that took place "
                f"on {dates}, on behalf of {self.chief}."
            )
        else:
            first = rng.choice(
                (
                    f"Following my visit to your school on {dates}, I write on behalf of {self.chief} to confirm what "
                    "I found.",
                    f"Following my visit to the school on {dates}, I write on behalf of {self.chief} with the "
                    "findings of the inspection.",
                    f"Following my visit to your school on {dates}, I am writing on behalf of {self.chief} to set out "
                    "what I found.",
                )
            )
        thanks = rng.choice(
            (
                "Thank you for your help during the visit and for the time you gave to talking about the school.",
                "Everyone I met was welcoming and helpful, and I am grateful to them.",
                "Please thank the pupils, staff and governors on my behalf for making me welcome.",
                "I appreciated your openness in talking about what has and has not yet improved.",
            )
        )
        if self.we:
            thanks = thanks.replace(" me ", " us ").replace(" me.", " us.").replace("my behalf", "our behalf")
        return Para((Unit(first), Unit(thanks)))

    def history(self) -> Para:
        plan, rng = self.plan, self.rng
        prev = f"{_MONTHS[plan.previous_s5[1] - 1]} {plan.previous_s5[0]}" if plan.previous_s5 else ""
        nth = _ORDINAL_WORDS[(plan.visit_number or 1) - 1]
        noun = "visit" if plan.kind == "ri_monitoring" and rng.random() < 0.5 else "inspection"
        kind = plan.kind
        if kind == "ri_monitoring":
            s = rng.choice(
                (
                    f"This {noun} was the {nth} monitoring inspection since the school was judged to require "
                    f"improvement at its section 5 inspection in {prev}.",
                    f"The school was judged to require improvement at its section 5 inspection in {prev}, and this "
                    f"{noun} was its {nth} monitoring inspection since then.",
                )
            )
        elif kind == "special_measures_monitoring":
            s = rng.choice(
                (
                    f"This was the {nth} monitoring inspection since the school became subject to special measures "
                    f"after its section 5 inspection in {prev}.",
                    f"The school was placed in special measures at its section 5 inspection in {prev}; this was "
                    f"the {nth} monitoring inspection since then.",
                )
            )
        elif kind == "serious_weaknesses_monitoring":
            s = (
                f"This was the {nth} monitoring inspection since the school was judged to have serious weaknesses at "
                f"its section 5 inspection in {prev}."
            )
        elif plan.era == "short":
            s = f"This was the first short inspection of the school since it was judged to be good in {prev}."
        elif plan.era == "s8good":
            s = f"The school was judged to be good in {prev}, and this was its first routine inspection since then."
        elif plan.era == "nfd":
            s = f"At its last section 5 inspection, in {prev}, the school was judged to be good."
        else:
            assert plan.academy_opened is not None
            opened = f"{_MONTHS[plan.academy_opened.month - 1]} {plan.academy_opened.year}"
            s = f"This was the {nth} monitoring inspection since the school opened as a sponsored academy in {opened}."
        units = [Unit(s)]
        if kind != "short_inspection" and plan.era != "nfd" and rng.random() < 0.6:
            units.append(Unit("The inspection took place under section 8 of the Education Act 2005."))
        return Para(tuple(units))

    def copy_line(self, extra: Sequence[str] = ()) -> Para:
        rng, la = self.rng, self.school.la
        written, expected = la.letter_name, la.letter_name
        r = rng.random()
        if la.council == "London Borough of" and r < 0.3:
            written, expected = f"the London Borough of {la.letter_name}", f"London Borough of {la.letter_name}"
        elif (
            la.council
            and la.council != "London Borough of"
            and r < 0.15
            and len(f"{la.letter_name} {la.council}".split()) > 2
        ):
            written = f"{la.letter_name} {la.council}"
        self.values["local_authority"] = expected
        director = rng.choice(
            ("Director of Children's Services", "director of children's services", "Director of Children's Services")
        )
        first = rng.choice(("the Chair of the Governing Body", "the chair of the governing body"))
        if self.school.academy:
            first = rng.choice(("the chair of the board of trustees", "the chair of the local governing body"))
            extra = (f"the chief executive officer of the {self.trust}", *extra)
        people = [first, *extra]
        if rng.random() < 0.4:
            people.append(
                rng.choice(("the regional schools commissioner", "the Regional Schools Commissioner"))
                if self.plan.visit_dates[0] < dt.date(2022, 7, 1)
                else "the Department for Education's regional director"
            )
        listed = ", ".join(people)
        s = f"I am copying this letter to {listed} and the {director} for {written}."
        units = [Unit(s)]
        if rng.random() < 0.6 or self.plan.visit_dates[0] >= _CONTRACTORS_UNTIL:
            units.append(Unit("This letter will be published on the Ofsted website."))
        return Para(tuple(units))

    def sign_off(self) -> Lines:
        rng = self.rng
        hmi = _person(rng, titled=False)
        role = f"{self.majesty} Inspector"
        if rng.random() < 0.12:
            role = f"Senior {self.majesty} Inspector"
        elif self.plan.kind == "short_inspection" and self.plan.era == "short" and rng.random() < 0.25:
            role = "Ofsted Inspector"
        elif self.plan.visit_dates[0] < _CONTRACTORS_UNTIL and rng.random() < 0.1:
            role = "Additional Inspector"
        self.values["inspector"] = hmi.plain
        self.values["inspector_role"] = role
        return Lines(("Yours sincerely", "", hmi.plain, role), "signoff")

    def judgement(self, sentence: str) -> Unit:
        self.values["judgement"] = sentence
        return Unit(sentence, (), "strength" if self.plan.effective else "weakness")

    # -- templates ---------------------------------------------------------------------------------

    def ri(self, body: list[Block]) -> None:
        plan, rng = self.plan, self.rng
        body.append(self.opening(False))
        body.append(self.history())
        who = rng.choice(("Senior leaders and governors", "Leaders and governors", "The headteacher and governors"))
        area = "to tackle the areas requiring improvement identified at the recent section 5 inspection"
        if plan.era == "ri_new":
            area = "to tackle the areas requiring improvement identified at the last section 5 inspection"
        verb = "are taking" if plan.effective else "are not taking"
        if plan.effective and plan.era == "ri_old" and rng.random() < 0.25:
            verb = "have begun to take"
        judge = self.judgement(f"{who} {verb} effective action {area}.")
        p_strength = 0.65 if plan.effective else 0.35
        findings = self.findings(self.length(), p_strength)
        recs = self.recs(rng.randint(2, 4), capital=False)
        intro = rng.choice(
            (
                "The school should take further action to:",
                "HMI recommend that further action is taken to:",
                "Senior leaders and governors should take further action to:",
            )
        )
        having = plan.era != "ri_old" or rng.random() < 0.3
        top = rng.random() < 0.5
        if having:
            body.append(Para((Unit("Having considered all the evidence I am of the opinion that at this time:"),)))
            body.append(Para((judge,)))
            if top:
                body += [Para((Unit(intro),)), recs]
        elif top:
            body += [Para((judge, Unit(intro))), recs]
        else:
            body.append(Para((judge,)))
        body += [Heading("Evidence"), self.evidence(), Heading("Context"), self.context()]
        body += [Heading("Main findings"), *findings]
        if not top:
            body += [Para((Unit(intro),)), recs]
        if rng.random() < 0.5:
            body.append(
                Para(
                    (
                        Unit(
                            "The school will remain subject to monitoring by Ofsted until its next section 5 "
                            "inspection."
                        ),
                    )
                )
            )
        body += [
            Heading(rng.choice(("External support", "External support", "Additional support"))),
            self.support(rng.randint(1, 3)),
        ]
        body += [self.copy_line(), self.sign_off()]

    def sm_sw(self, body: list[Block]) -> None:
        plan, rng = self.plan, self.rng
        sm = plan.kind == "special_measures_monitoring"
        era = plan.era
        body.append(self.opening())
        hist = self.history()
        annex_note = sm and era != "sm_new" and rng.random() < 0.6
        if annex_note:
            hist = Para(
                (
                    *hist.units,
                    Unit(
                        "The areas for improvement identified at that inspection are listed in the annex to this "
                        "letter."
                    ),
                )
            )
        body.append(hist)
        target = "special measures" if sm else "the serious weaknesses designation"
        if era in ("sm_new", "sw_new"):
            who = "leaders and those responsible for governance"
            neg = "" if plan.effective else "not "
            sentence = (
                f"Having considered all the evidence, I am of the opinion that {who} are {neg}taking "
                f"effective action towards the removal of {target}."
            )
            judge_blocks: list[Block] = [Para((self.judgement(sentence),))]
        else:
            if era.endswith("old") or rng.random() < 0.3:
                s = (
                    "The school is making reasonable progress towards the removal of " + target + "."
                    if plan.effective
                    else "The school is not making enough progress towards the removal of " + target + "."
                )
            else:
                who = rng.choice(("Leaders and managers", "Senior leaders and governors"))
                neg = "" if plan.effective else "not "
                s = f"{who} are {neg}taking effective action towards the removal of {target}."
            judge_blocks = [
                Para((Unit("Having considered all the evidence I am of the opinion that at this time:"),)),
                Para((self.judgement(s),)),
            ]
            if rng.random() < 0.7:
                fits = []
                if sm and rng.random() < 0.7:
                    fit = rng.random() < 0.85
                    fits.append(
                        (fit, f"The local authority's statement of action is {'' if fit else 'not '}fit for purpose.")
                    )
                fit = rng.random() < 0.75
                plan_word = rng.choice(("action plan", "improvement plan"))
                fits.append((fit, f"The school's {plan_word} is {'' if fit else 'not '}fit for purpose."))
                self.values["action_plan_fit"] = all(f for f, _ in fits)
                judge_blocks += [
                    Para((Unit(t, ("improvement_planning",), "strength" if f else "weakness"),)) for f, t in fits
                ]
        if sm and rng.random() < 0.8:
            may = rng.random() < 0.35
            ects = "early career teachers" if plan.visit_dates[0] >= dt.date(2021, 9, 1) else "newly qualified teachers"
            subject = rng.choice(("The school", "Leaders")) if era == "sm_new" else "The school"
            s = f"{subject} may {'' if may else 'not '}appoint {ects}."
            self.values["nqt_permission"] = may
            judge_blocks.append(Para((Unit(s, ("staffing",)),)))
        body += judge_blocks
        p_strength = 0.6 if plan.effective else 0.3
        findings = self.findings(self.length(), p_strength)
        recs = self.recs(rng.randint(2, 4), capital=False)
        report_after = era in ("sm_old", "sw_old") and rng.random() < 0.6
        annex_blocks = self.annex() if annex_note else []
        if report_after:
            # letter first, then (annex and) the monitoring report after the sign-off
            body += [self.copy_line(("the Secretary of State for Education",) if sm else ()), self.sign_off()]
            if annex_blocks and rng.random() < 0.5:
                body += annex_blocks
                annex_blocks = []
            nth = _ORDINAL_WORDS[(plan.visit_number or 1) - 1]
            label = "Special measures" if sm else "Serious weaknesses"
            body.append(Lines((f"{label}: monitoring of {self.school.name}",), "report_title", bold=True))
            body.append(
                Lines(
                    (f"Report on the {nth} monitoring inspection, {_dates_text(rng, plan.visit_dates)}",),
                    "report_title",
                )
            )
            body += [Heading("Evidence"), self.evidence("we"), Heading("Context"), self.context()]
            headings = [
                "Achievement of pupils at the school",
                "The quality of teaching",
                "Behaviour and safety of pupils",
                "The quality of leadership in and management of the school",
            ]
            body += _headed(headings, findings)
            body += [Heading("External support"), self.support(rng.randint(1, 3))]
            body += [
                Heading("Priorities for further improvement"),
                Bullets(tuple(_capitalise_item(i) for i in recs.items)),
            ]
            body += annex_blocks
            return
        body += [Heading("Evidence"), self.evidence("we" if self.we else "I"), Heading("Context"), self.context()]
        if era.endswith("mid") and rng.random() < 0.5:
            headings = [
                "Effectiveness of leadership and management",
                "Quality of teaching, learning and assessment",
                "Personal development, behaviour and welfare",
                "Outcomes for pupils",
            ]
            body += _headed(headings, findings)
        else:
            body += [Heading("Main findings"), *findings]
        if era.endswith("new") or rng.random() < 0.4:
            body += [
                Heading("Priorities for further improvement"),
                Bullets(tuple(_capitalise_item(i) for i in recs.items)),
            ]
        else:
            intro = rng.choice(
                (
                    "The school should take further action to:",
                    "Leaders and governors should take immediate action to:",
                    "Leaders and managers should take further action to:",
                )
            )
            body += [Para((Unit(intro),)), recs]
            if sm and not plan.effective and rng.random() < 0.4 and not self.school.academy:
                intro_p, la_list = self.la_recs()
                body += [intro_p, la_list]
        body += [Heading("External support"), self.support(rng.randint(1, 3))]
        body += [
            self.copy_line(("the Secretary of State for Education",) if sm and rng.random() < 0.5 else ()),
            self.sign_off(),
        ]
        body += annex_blocks

    def short(self, body: list[Block]) -> None:
        plan, rng = self.plan, self.rng
        body.append(self.opening(False))
        body.append(self.history())
        good = plan.effective
        grade = "outstanding" if plan.era == "s8good" and good and rng.random() < 0.1 else "good"
        if good:
            body.append(Para((self.judgement(f"This school continues to be {grade}."),)))
        else:
            body.append(
                Para(
                    (
                        Unit(
                            "The evidence from this inspection points to some priorities that I advise leaders to "
                            "tackle."
                        ),
                        self.judgement("In addition, the school may no longer be good."),
                    )
                )
            )
        lead = [
            u
            for u in (
                self.phrase("senior_leadership", "s" if good else "w"),
                self.phrase("governance", "s" if good else "w"),
            )
            if u
        ]
        body.append(Para(tuple(lead)))
        if plan.era == "short":
            body.append(Para((Unit("Safeguarding is effective.", ("safeguarding",), "strength"),)))
            body.append(
                Para(tuple(u for u in (self.phrase("safeguarding", "s"), self.phrase("safeguarding", "s")) if u))
            )
            body.append(Heading("Inspection findings"))
            body += self.findings(self.length(), 0.6 if good else 0.35, avoid=("safeguarding",))
        else:
            body.append(Heading("What does the school do well and what does it need to do better?"))
            body += self.findings(self.length(), 0.6 if good else 0.35, avoid=("safeguarding",))
            body.append(Heading("Safeguarding"))
            body.append(
                Para(tuple(u for u in (self.phrase("safeguarding", "s"), self.phrase("safeguarding", "s")) if u))
            )
        body.append(Heading("Next steps for the school"))
        intro = rng.choice(
            (
                "Leaders and those responsible for governance should:",
                "Leaders and governors should now:",
                "In order to improve further, leaders should:",
            )
        )
        body += [Para((Unit(intro),)), self.recs(rng.randint(2, 3), capital=False, nested_p=0.1)]
        body += [self.copy_line(), self.sign_off()]
        if plan.era == "short" and rng.random() < 0.7:
            body += [Heading("Information about the inspection"), self.evidence()]

    def nfd(self, body: list[Block]) -> None:
        rng = self.rng
        body.append(self.opening())
        focus = rng.choice(("safeguarding", "leadership and management", "behaviour"))
        body.append(
            Para(
                (
                    Unit(
                        "This was a monitoring inspection under section 8 of the Education Act 2005, carried out in "
                        "line with Ofsted's procedures for schools with no formal designation."
                    ),
                    Unit(
                        f"It took place because {self.chief} wanted to check the effectiveness of {focus} at the "
                        "school."
                    ),
                )
            )
        )
        body.append(self.history())
        body += [Heading("Evidence"), self.evidence("we" if self.we else "I")]
        if focus == "safeguarding":
            ok = rng.random() < 0.7
            body += [
                Para((Unit("Having considered all the evidence I am of the opinion that at this time:"),)),
                Para(
                    (
                        Unit(
                            f"Safeguarding arrangements at the school are {'' if ok else 'not '}effective.",
                            ("safeguarding",),
                            "strength" if ok else "weakness",
                        ),
                    )
                ),
            ]
        body += [Heading("Context"), self.context(), Heading("Main findings")]
        if focus == "safeguarding":
            pair = (self.phrase("safeguarding", "w"), self.phrase("safeguarding", "s"))
            body.append(Para(tuple(u for u in pair if u)))
            body += self.findings(rng.randint(2, 3), 0.5, avoid=("safeguarding",))
        else:
            body += self.findings(rng.randint(3, 4), 0.5)
        body += [
            Heading("Priorities for further improvement"),
            self.recs(rng.randint(2, 3), capital=True, nested_p=0.1),
        ]
        if rng.random() < 0.5:
            body += [Heading("External support"), self.support(rng.randint(1, 2))]
        body += [self.copy_line(), self.sign_off()]

    def academy(self, body: list[Block]) -> None:
        plan, rng = self.plan, self.rng
        body.append(self.opening())
        body.append(self.history())
        neg = "" if plan.effective else "not "
        body.append(
            Para(
                (
                    self.judgement(
                        "Having considered all the evidence, I am of the opinion that leaders and those responsible "
                        f"for governance are {neg}taking effective action to improve the quality of education at the "
                        "school."
                    ),
                )
            )
        )
        findings = self.findings(self.length(), 0.6 if plan.effective else 0.35)
        if rng.random() < 0.5:
            body += [Heading("Main findings"), *findings, Heading("Evidence"), self.evidence("we" if self.we else "I")]
        else:
            body += [Heading("Evidence"), self.evidence("we" if self.we else "I"), Heading("Main findings"), *findings]
        body += [Heading("Priorities for further improvement"), self.recs(rng.randint(2, 3), capital=True)]
        body += [Heading("External support"), self.support(rng.randint(1, 2))]
        body += [self.copy_line(), self.sign_off()]


_PROPER_START = re.compile(r"^(?:English|Key Stage|Year \d|St )")


def _headed(headings: Sequence[str], paras: Sequence[Para]) -> list[Block]:
    """Paragraphs shared out, in order, under report headings (each heading gets at least one)."""
    out: list[Block] = []
    per = -(-len(paras) // len(headings))
    for k, h in enumerate(headings):
        chunk = paras[k * per : (k + 1) * per]
        if chunk:
            out += [Heading(h), *chunk]
    return out


def _however(text: str) -> str:
    """Open a sentence with "However," (a proper noun keeps its capital)."""
    return "However, " + (text if _PROPER_START.match(text) else text[0].lower() + text[1:])


def _we(text: str) -> str:
    """An evidence sentence as a team writes it."""
    return (
        re.sub(r"\bI\b", "We", text)
        .replace("We met you", "Inspectors met you")
        .replace("Together we", "Together, inspectors")
    )


def _capitalise_item(item: Item) -> Item:
    u = item.unit
    text = u.text[0].upper() + u.text[1:]
    if not text.endswith((":", ".")):
        text = text.rstrip(";") + "."
    children = item.children
    if children:
        last = children[-1]
        children = (*children[:-1], replace(last, text=last.text.rstrip(";.") + "."))
    return Item(replace(u, text=text), children)


# -- rendering ------------------------------------------------------------------------------------

_SPLITTABLE_AFTER = re.compile(r"[^.!?:;\"'\u2019\u201d)]$")


_ENDS_CLAUSE = re.compile(r"[.!?;:]['\u2019\")]*$")
_GLYPH_LIKE = frozenset({"-", "\u2013", "\u2014", "\u2022", "*", "o"})


def _wrap(
    text: str, measure: Callable[[str], float], first_width: float, width: float, *, item: bool = False
) -> list[str]:
    """Greedy word wrap.

    No line starts with a word a reader would take for a bullet glyph ("o",
    "-"), and in a list item (``item``) no line but the last ends a sentence or
    clause: the parser would take the item to end there. Either break moves
    the last word down.

    Args:
        text: one paragraph or item.
        measure: the width of a word (a space is ``measure(" ")``).
        first_width: the width of the first line.
        width: the width of the other lines.
        item: the text is a list item.
    """
    space = measure(" ")
    lines: list[str] = []
    cur: list[str] = []
    used = 0.0
    limit = first_width
    for w in text.split(" "):
        size = measure(w)
        if not cur or used + space + size <= limit:
            used += (space if cur else 0.0) + size
            cur.append(w)
            continue
        carry = [w]
        while len(cur) > 1 and (carry[0] in _GLYPH_LIKE or (item and _ENDS_CLAUSE.search(cur[-1]))):
            carry.insert(0, cur.pop())
        lines.append(" ".join(cur))
        cur, limit = carry, width
        used = sum(measure(c) for c in carry) + space * (len(carry) - 1)
    if cur:
        lines.append(" ".join(cur))
    return lines


def _chars(word: str) -> float:
    return float(len(word))


_CURLY = "\u2019"


def _apostrophes(letter: Letter, curly: bool) -> Letter:
    """Write apostrophes as Word does (’) in the whole letter, truth included."""
    if not curly:
        return letter

    def fix(s: str) -> str:
        return s.replace("'", _CURLY)

    def block(b: Block) -> Block:
        if isinstance(b, Para):
            return Para(tuple(replace(u, text=fix(u.text)) for u in b.units), b.optional)
        if isinstance(b, Heading):
            return Heading(fix(b.text))
        if isinstance(b, Bullets):
            return Bullets(
                tuple(
                    Item(
                        replace(i.unit, text=fix(i.unit.text)), tuple(replace(c, text=fix(c.text)) for c in i.children)
                    )
                    for i in b.items
                ),
                b.counted,
            )
        return Lines(tuple(fix(x) if b.role not in ("letterhead",) else x for x in b.lines), b.role, b.bold)

    letter.header = [block(b) for b in letter.header]
    letter.body = [block(b) for b in letter.body]
    for k in ("school_name", "headteacher", "judgement", "local_authority", "inspector"):
        if isinstance(letter.values.get(k), str):
            letter.values[k] = fix(letter.values[k])
    return letter


@dataclass(frozen=True)
class TextStyle:
    """How a text letter is laid out."""

    one_line_header: bool
    wrap: int | None  # hard-wrap width in characters, or None for one line per paragraph
    glyph: str
    sub_glyph: str
    blank_between_items: bool
    page_breaks: tuple[int, ...]  # body paragraph indexes split by a stray blank line


def _text_style(rng: random.Random, letter: Letter) -> TextStyle:
    glyph, sub = rng.choice(
        (("- ", "  - "), ("\u2022 ", "o "), ("\u2022 ", "\u2013 "), ("\uf0b7 ", "o "), ("\u2013 ", "o "))
    )
    wrap = rng.choice((None, None, 90, 100)) if rng.random() < 0.5 else None
    paras = [i for i, b in enumerate(letter.body) if isinstance(b, Para) and len(b.units) > 1]
    breaks = (
        tuple(sorted(rng.sample(paras, min(len(paras), rng.randint(1, 2)))))
        if (wrap is None and rng.random() < 0.2)
        else ()
    )
    one_line = (
        letter.plan.visit_dates[0] < _CONTRACTORS_UNTIL
        and not letter.layout.get("letterhead_after_address")
        and rng.random() < 0.2
    )
    return TextStyle(one_line, wrap, glyph, sub, rng.random() < 0.3, breaks)


def _para_text(p: Para) -> str:
    return " ".join(u.text for u in p.units)


def render_text(letter: Letter, style: TextStyle) -> str:
    """The letter as UTF-8 text: one line per paragraph (or hard-wrapped), blank lines between blocks."""
    out: list[str] = []

    def wrap(s: str, indent: str = "") -> list[str]:
        if style.wrap is None:
            return [indent + s]
        lines = _wrap(s, _chars, style.wrap - len(indent), style.wrap, item=bool(indent))
        return [indent + lines[0], *lines[1:]]

    header = letter.header
    if style.one_line_header:
        lh = [b for b in header if isinstance(b, Lines) and b.role == "letterhead"]
        rest = [b for b in header if not (isinstance(b, Lines) and b.role == "letterhead")]
        head_lines = [" ".join(lh[0].lines + lh[1].lines), *("\n".join(b.lines) for b in lh[2:])]
        out.append("\n".join(head_lines) + "\n")
        for b in rest:
            assert isinstance(b, Lines)
            out.append(" ".join(b.lines) if b.role == "address" else "\n".join(b.lines))
    else:
        for b in header:
            assert isinstance(b, Lines)
            out.append("\n".join(b.lines))
    for i, b in enumerate(letter.body):
        if isinstance(b, Para):
            text = _para_text(b)
            if i in style.page_breaks:
                text = _stray_break(text)
            out.append("\n".join(wrap(text)))
        elif isinstance(b, Heading):
            out.append(b.text)
        elif isinstance(b, Bullets):
            lines: list[str] = []
            for item in b.items:
                lines += wrap(item.unit.text, style.glyph)
                for c in item.children:
                    lines += wrap(c.text, style.sub_glyph)
                if style.blank_between_items:
                    lines.append("")
            out.append("\n".join(lines).rstrip("\n"))
        else:
            out.append("\n".join(b.lines))
    return "\n\n".join(out) + "\n"


def _stray_break(text: str) -> str:
    """A blank line in the middle of a paragraph, as a page break leaves it in text saved from a PDF."""
    positions = [m.start() for m in re.finditer(r"(?<![.!?:;]) (?=[a-z])", text) if 40 < m.start() < len(text) - 20]
    if not positions:
        return text
    p = positions[len(positions) // 2]
    return text[:p] + "\n\n" + text[p + 1 :]


# -- PDF --------------------------------------------------------------------------------------------

_MM_PER_PT = 25.4 / 72
_PAGE_TOP = 30.0  # body top on later pages: below the 8% margin (23.8 mm) where ingest drops running lines
_PAGE_BOTTOM = 262.0  # last body baseline; the footer sits at 283–289 mm, in the bottom margin
_LEFT = 20.0
_WIDTH = 170.0
_LINE = 5.0
_LH_X = 125.0
_LH_LINE = 4.2
_HANG = 4.5
_SUB = 8.0


@functools.lru_cache(maxsize=2)
def _widths(bold: bool) -> dict[str, float]:
    """Helvetica advance widths in mm per point of font size, by character."""
    import fpdf

    pdf = fpdf.FPDF()
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_font("Helvetica", "B" if bold else "", 10)
    cw: dict[str, int] = pdf.current_font.cw  # type: ignore[union-attr,assignment]
    out = {}
    for b in range(32, 256):
        ch = bytes([b]).decode("cp1252", errors="ignore")
        if ch:
            out[ch] = cw[chr(b)] * 0.001 * _MM_PER_PT
    return out


def _text_width(text: str, size: float, bold: bool = False) -> float:
    w = _widths(bold)
    return sum(w.get(c, 0.6 * _MM_PER_PT) for c in text) * size


def _measure(size: float, bold: bool = False) -> Callable[[str], float]:
    """Width in mm of a word in Helvetica at ``size`` points (cached: the same words come back often)."""
    return functools.partial(_word_width, size, bold)


@functools.lru_cache(maxsize=50_000)
def _word_width(size: float, bold: bool, word: str) -> float:
    return _text_width(word, size, bold)


@dataclass(frozen=True)
class _Row:
    """One line to draw: x offset, text, bold, and the space (mm) to leave before it."""

    x: float
    text: str
    bold: bool = False
    gap: float = 0.0


@dataclass(frozen=True)
class _Chunk:
    """Rows that go on one page together (a paragraph may still be split where it can be)."""

    rows: tuple[_Row, ...]
    splittable: bool = False
    keep_with_next: bool = False


@dataclass(frozen=True)
class PdfStyle:
    """How a PDF letter is laid out."""

    item_gap: float  # space between bullet items (0 or a blank line)
    date_right: bool


def _pdf_chunks(letter: Letter, style: PdfStyle) -> list[_Chunk]:
    size = 11.0
    fits, fits_b = _measure(size), _measure(size, True)
    chunks: list[_Chunk] = []
    for b in letter.body:
        gap = _LINE
        if isinstance(b, Para):
            lines = _wrap(_para_text(b), fits, _WIDTH, _WIDTH)
            rows = tuple(_Row(0, t, gap=gap if j == 0 else 0) for j, t in enumerate(lines))
            chunks.append(_Chunk(rows, splittable=True))
        elif isinstance(b, Heading):
            chunks.append(_Chunk((_Row(0, b.text, bold=True, gap=gap),), keep_with_next=True))
        elif isinstance(b, Bullets):
            first = True
            for item in b.items:
                g = gap if first else style.item_gap
                first = False
                rows_l: list[_Row] = []
                glyph = "\u2022 "
                lines = _wrap(item.unit.text, fits, _WIDTH - _text_width(glyph, size), _WIDTH - _HANG, item=True)
                rows_l.append(_Row(0, glyph + lines[0], gap=g))
                rows_l += [_Row(_HANG, t) for t in lines[1:]]
                chunks.append(_Chunk(tuple(rows_l)))
                for c in item.children:
                    sub = "\u2013 "
                    lines = _wrap(
                        c.text, fits, _WIDTH - _SUB - _text_width(sub, size), _WIDTH - _SUB - _HANG, item=True
                    )
                    rows_c = [_Row(_SUB, sub + lines[0], gap=style.item_gap)]
                    rows_c += [_Row(_SUB + _HANG, t) for t in lines[1:]]
                    chunks.append(_Chunk(tuple(rows_c)))
        else:
            if b.role == "signoff":
                rows = (_Row(0, b.lines[0], gap=gap), _Row(0, b.lines[2], gap=12.0), _Row(0, b.lines[3]))
                chunks.append(_Chunk(rows))
            else:
                wrapped: list[_Row] = []
                for j, line in enumerate(b.lines):
                    parts = _wrap(line, fits_b if b.bold else fits, _WIDTH, _WIDTH)
                    wrapped += [
                        _Row(0, t, bold=b.bold, gap=gap if j == 0 and k == 0 else 0) for k, t in enumerate(parts)
                    ]
                chunks.append(_Chunk(tuple(wrapped), keep_with_next=b.role in ("salutation", "report_title")))
    return chunks


_Op = tuple[float, float, str, bool, float]  # x, y, text, bold, size


def layout_pdf(letter: Letter, style: PdfStyle) -> list[list[_Op]]:
    """Place the letter on A4 pages: letterhead top right, date, address block, body; returns pages of ops."""
    ops: list[_Op] = []
    y = 12.0
    header = letter.header
    lh_blocks = [b for b in header if isinstance(b, Lines) and b.role == "letterhead"]
    for g, b in enumerate(lh_blocks):
        if g:
            y += _LH_LINE
        for line in b.lines:
            ops.append((_LH_X, y, line, g == 0 and line == b.lines[0], 9.0))
            y += _LH_LINE
    y = max(y + 6.0, 62.0)
    date = next(b for b in header if isinstance(b, Lines) and b.role == "date")
    address = next(b for b in header if isinstance(b, Lines) and b.role == "address")
    x_date = _LEFT + _WIDTH - _text_width(date.lines[0], 11.0) if style.date_right else _LEFT
    ops.append((x_date, y, date.lines[0], False, 11.0))
    y += 2 * _LINE
    for line in address.lines:
        ops.append((_LEFT, y, line, False, 11.0))
        y += _LINE
    pages: list[list[_Op]] = [ops]
    chunks = _pdf_chunks(letter, style)
    i = 0
    while i < len(chunks):
        ch = chunks[i]
        need = sum(r.gap for r in ch.rows) + _LINE * (len(ch.rows) - 1)
        if ch.keep_with_next and i + 1 < len(chunks):
            nxt = chunks[i + 1]
            need += nxt.rows[0].gap + _LINE * min(2, len(nxt.rows))
        if y + need <= _PAGE_BOTTOM or y <= _PAGE_TOP + _LINE:  # (a chunk taller than a page runs on)
            for r in ch.rows:
                y += r.gap
                pages[-1].append((_LEFT + r.x, y, r.text, r.bold, 11.0))
                y += _LINE
            i += 1
            continue
        if ch.splittable:
            cut = _split_point(ch, _PAGE_BOTTOM - y)
            if cut:
                head, tail = ch.rows[:cut], ch.rows[cut:]
                for r in head:
                    y += r.gap
                    pages[-1].append((_LEFT + r.x, y, r.text, r.bold, 11.0))
                    y += _LINE
                chunks[i] = _Chunk(tuple(replace(r, gap=0) for r in tail), splittable=True)
        pages.append([])
        y = _PAGE_TOP
        chunks[i] = replace(chunks[i], rows=(replace(chunks[i].rows[0], gap=0), *chunks[i].rows[1:]))
    return pages


def _split_point(ch: _Chunk, room: float) -> int:
    """How many rows of a paragraph to leave on this page, or 0.

    Only where ingest will join the halves again (the last row left behind
    does not end a sentence or clause and is long, and the first row carried
    over starts with a lower-case word), or between two sentences.
    """
    rows = ch.rows
    fit = 0
    used = 0.0
    for r in rows:
        used += r.gap + (_LINE if fit else 0)
        if used > room:
            break
        fit += 1
    for cut in range(min(fit, len(rows) - 1), 1, -1):
        prev, nxt = rows[cut - 1].text, rows[cut].text
        if len(prev) > 30 and _SPLITTABLE_AFTER.search(prev) and nxt[:1].islower():
            return cut  # ingest joins the halves again
        if re.search(r"[.!?]$", prev) and nxt[:1].isupper():
            return cut  # two paragraphs, each of whole sentences
    return 0


def pdf_bytes(letter: Letter, pages: list[list[_Op]], footer: str) -> bytes:
    """Draw laid-out pages with fpdf2, with a running footer and page numbers on every page."""
    import fpdf

    pdf = fpdf.FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(False)
    d = letter.plan.letter_date
    pdf.set_creation_date(dt.datetime(d.year, d.month, d.day, 9, 0, tzinfo=dt.UTC))
    pdf.set_author("Ofsted")
    pdf.set_title(letter.values["school_name"])
    n = len(pages)
    for k, ops in enumerate(pages):
        pdf.add_page()
        font = ("", 0.0)
        for x, y, text, bold, size in ops:
            if font != ("B" if bold else "", size):
                font = ("B" if bold else "", size)
                pdf.set_font("Helvetica", *font)
            pdf.text(x, y + 0.75 * size * _MM_PER_PT, text)  # y is the top of the line; text() takes the baseline
        pdf.set_font("Helvetica", "", 8)
        pdf.text(_LEFT, 286.0, footer)
        pdf.text(_LEFT + _WIDTH - 20, 292.0, f"Page {k + 1} of {n}")
    return bytes(pdf.output())


# -- truth ------------------------------------------------------------------------------------------


def truth_record(letter: Letter, file: str, n_pages: int | None) -> dict[str, Any]:
    """The letter's ground truth: the values the parser should read and every generated unit's labels."""
    plan, v = letter.plan, letter.values
    units: list[dict[str, Any]] = []
    recs: list[dict[str, Any]] = []
    support: list[dict[str, Any]] = []
    headings: list[str] = []
    section = None
    for b in letter.body:
        if isinstance(b, Heading):
            section = b.text
            headings.append(b.text)
        elif isinstance(b, Para):
            for u in b.units:
                units.append(_unit_json(u, section))
                if u.support_types and section is not None and "support" in section.lower():
                    support.append({"text": _fold(u.text), "support_types": list(u.support_types)})
        elif isinstance(b, Bullets):
            for item in b.items:
                units.append(_unit_json(item.unit, section))
                units.extend(_unit_json(c, section) for c in item.children)
                if b.counted:
                    recs.append(
                        {
                            "text": _fold(" ".join([item.unit.text, *(c.text for c in item.children)])),
                            "tags": list(item.unit.tags),
                            "polarity": item.unit.polarity,
                            "sub_items": [{"text": c.text, "tags": list(c.tags)} for c in item.children],
                        }
                    )
        elif b.role == "signoff":
            section = None
    school = plan.school
    return {
        "file": file,
        "doc_kind": plan.fmt,
        "pages": n_pages,
        "letter_kind": plan.kind,
        "template": plan.era,
        "letter_date": plan.letter_date.isoformat(),
        "visit_dates": [d.isoformat() for d in plan.visit_dates],
        "school_name": v["school_name"],
        "urn": school.urn,
        "gias_name": school.name,
        "postcode": school.postcode,
        "headteacher": v["headteacher"],
        "local_authority": v["local_authority"],
        "la_name": school.la.gias_name,
        "la_code": school.la.code,
        "inspector": v["inspector"],
        "inspector_role": v["inspector_role"],
        "contractor": v["contractor"],
        "previous_section5": v["previous_section5"],
        "monitoring_visit_number": v["monitoring_visit_number"],
        "judgement": v["judgement"],
        "effective_action": v["effective_action"],
        "action_plan_fit": v["action_plan_fit"],
        "nqt_permission": v["nqt_permission"],
        "recommendations": recs,
        "external_support": support,
        "sections": headings,
        "units": units,
        "layout": letter.layout,
    }


def _fold(s: str) -> str:
    return " ".join(s.split())


def _unit_json(u: Unit, section: str | None) -> dict[str, Any]:
    return {
        "text": u.text,
        "kind": u.kind,
        "section": section,
        "tags": list(u.tags),
        "polarity": u.polarity,
        "support_types": list(u.support_types),
    }


# -- one letter, the reference file, the shell --------------------------------------------------------


@dataclass(frozen=True)
class BuiltLetter:
    """A rendered letter: file name, bytes and truth record."""

    file: str
    data: bytes
    truth: dict[str, Any]


def compose_letter(plan: LetterPlan, seed: int) -> Letter:
    """Compose a letter's blocks and values from its plan (no rendering)."""
    composer = _Composer(plan, seed)
    letter = composer.compose()
    letter.layout = {**composer.layout}
    return letter


def build_letter(plan: LetterPlan, seed: int) -> BuiltLetter:
    """Compose and render one letter.

    A PDF keeps to two to four pages: optional findings paragraphs are dropped
    (last first) until the letter fits, so the truth always describes what was
    drawn.
    """
    letter = compose_letter(plan, seed)
    rng = random.Random(f"ofsted-nlp synth layout {seed} {plan.index}")
    letter = _apostrophes(letter, rng.random() < (0.5 if plan.fmt == "pdf" else 0.25))
    if plan.fmt == "txt":
        style = _text_style(rng, letter)
        letter.layout.update(
            format="txt",
            one_line_header=style.one_line_header,
            wrap=style.wrap,
            glyph=style.glyph.strip(),
            page_breaks=len(style.page_breaks),
        )
        file = f"{plan.name}.txt"
        return BuiltLetter(file, render_text(letter, style).encode("utf-8"), truth_record(letter, file, None))
    pstyle = PdfStyle(item_gap=rng.choice((0.0, 2.5, _LINE)), date_right=rng.random() < 0.5)
    pages = layout_pdf(letter, pstyle)
    while len(pages) > 4:
        optional = [i for i, b in enumerate(letter.body) if isinstance(b, Para) and b.optional]
        if not optional:
            break
        del letter.body[optional[-1]]
        pages = layout_pdf(letter, pstyle)
    footer = "www.ofsted.gov.uk" if plan.visit_dates[0] < _CONTRACTORS_UNTIL else "www.gov.uk/ofsted"
    letter.layout.update(
        format="pdf", letterhead_after_address=False, item_gap=pstyle.item_gap, date_right=pstyle.date_right
    )
    file = f"{plan.name}.pdf"
    return BuiltLetter(file, pdf_bytes(letter, pages, footer), truth_record(letter, file, len(pages)))


def gias_csv(schools: Sequence[School]) -> bytes:
    """A GIAS extract with one row per school (the columns of the sample file), Windows-1252 like GIAS."""
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(GIAS_HEADER)
    for s in schools:
        w.writerow(
            (
                s.urn,
                s.la.code,
                s.la.gias_name,
                s.number,
                s.name,
                s.type_code,
                s.type_name,
                1,
                "Open",
                s.opened.strftime("%d-%m-%Y"),
                "",
                2 if s.phase == "primary" else 4,
                "Primary" if s.phase == "primary" else "Secondary",
                s.street,
                s.locality,
                s.town,
                s.postcode,
            )
        )
    return out.getvalue().encode("cp1252")


def generate(n: int, pdf_share: float, seed: int) -> tuple[CorpusPlan, Iterator[BuiltLetter]]:
    """The corpus plan and, lazily, its letters in file order."""
    _check(n, pdf_share)
    plan = plan_corpus(n, pdf_share, seed)
    return plan, (build_letter(p, seed) for p in plan.letters)


def _check(n: int, pdf_share: float) -> None:
    if n < 1:
        raise PipelineError(f"--n must be at least 1 (got {n})")
    if not 0.0 <= pdf_share <= 1.0:
        raise PipelineError(f"--pdf-share must be between 0 and 1 (got {pdf_share})")


def run(n: int, pdf_share: float, seed: int, out: Path) -> dict[str, int]:
    """Write OUT/raw/<name>.txt|.pdf, OUT/truth.jsonl (one line per letter: file name, doc kind and every field and
    tag used), and OUT/reference/edubasealldata_synth.csv (one GIAS row per school used, same columns as
    corpus/reference/edubasealldata_sample.csv) so the link stage can link every letter. Returns counts.

    Raises:
        PipelineError: ``n`` or ``pdf_share`` out of range, or OUT/raw already holds files.
    """  # noqa: D205 (the lead's interface text, kept word for word)
    _check(n, pdf_share)
    raw, reference = out / "raw", out / "reference"
    if raw.is_dir() and any(raw.iterdir()):
        raise PipelineError(f"{raw} already holds files; synth writes a new corpus: remove it or choose another OUT")
    raw.mkdir(parents=True, exist_ok=True)
    reference.mkdir(parents=True, exist_ok=True)
    plan, letters = generate(n, pdf_share, seed)
    counts = {
        "letters": 0,
        "txt": 0,
        "pdf": 0,
        "pdf_pages": 0,
        "schools": len(plan.schools),
        "recommendations": 0,
        "units": 0,
    }
    with (out / "truth.jsonl").open("w", encoding="utf-8", newline="\n") as truth:
        for built in letters:
            (raw / built.file).write_bytes(built.data)
            truth.write(json.dumps(built.truth, ensure_ascii=False) + "\n")
            counts["letters"] += 1
            counts[built.truth["doc_kind"]] += 1
            counts["pdf_pages"] += built.truth["pages"] or 0
            counts["recommendations"] += len(built.truth["recommendations"])
            counts["units"] += len(built.truth["units"])
    (reference / "edubasealldata_synth.csv").write_bytes(gias_csv(plan.schools))
    return counts
