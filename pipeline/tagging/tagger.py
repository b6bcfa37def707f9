"""Issue taggers: a transparent keyword baseline and embedding classifiers.

Every tagger maps units to a score per issue tag (``n × len(ISSUE_TAGS)``), a
tag set (score at or over the tag's threshold) and a polarity. The embedding
taggers take precomputed embeddings, so each unit is embedded once and the
classifier and search share the vectors; the encoder itself is never held here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.warehouse.contracts import ISSUE_TAGS, POLARITIES

# ---------------------------------------------------------------- keyword baseline

KEYWORDS: dict[str, str] = {
    "governance": r"\bgovern(?:or|ors|ors'|ing\s+bod(?:y|ies)|ance)\b|\btrustees?\b|"
    r"interim\s+executive\s+board|\bIEB\b",
    "senior_leadership": r"\bhead\s?teachers?\b|\bprincipal\b|\bsenior\s+(?:leaders?|leadership|team)\b|"
    r"\bleadership\s+team\b|\bSLT\b|\bdeputy\s+head|\bleaders\s+(?:and\s+managers|have|are|do|should|must)\b",
    "middle_leadership": r"\b(?:middle|subject|phase|key\s+stage|curriculum)\s+leaders?\b|"
    r"\b(?:numeracy|literacy|mathematics|maths|English|science|assessment|inclusion)\s+(?:leaders?|co-?ordinators?)\b|"
    r"\bheads?\s+of\s+(?:department|mathematics|English|year)\b",
    "teaching_quality": r"\bteaching\b(?!\s+(?:school|assistants?\s+have\s+been\s+trained))|\blessons?\b|"
    r"\bteachers'?\s+expectations\b|\bteaching\s+assistants?\b|\bclassrooms?\b|\bmatch(?:es|ed)?\s+(?:the\s+)?"
    r"(?:work|tasks)\b|\bchallenge\s+for\s+pupils\b",
    "assessment_tracking": r"\bassess(?:ment|ments|ing|ed)?\b|\btrack(?:ing|er)?\b|\bdata\b|\bmoderat\w*|\bAPP\b",
    "marking_feedback": r"\bmark(?:ing|ed)\b|\bfeedback\s+(?:to|for)\s+pupils\b|\bwritten\s+feedback\b|"
    r"\bcomments\s+in\s+(?:pupils'\s+)?books\b",
    "monitoring_evaluation": r"\bmonitor(?:ing|s|ed)?\b|\bself[- ]evaluation\b|\bevaluat\w+|"
    r"\bobservations?\b|"
    r"\blearning\s+walks?\b|\bchecks?\s+on\b|\bscrutin\w+|\bfeedback\s+to\s+teachers\b|\bimpact\s+of\b",
    "improvement_planning": r"\b(?:action|improvement|development|raising\s+attainment)\s+plans?\b|"
    r"\bsuccess\s+criteria\b|\bmilestones?\b|\bpriorit(?:y|ies|ise)\b|\bstatement\s+of\s+action\b|\btargets?\b",
    "professional_development": r"\btrain(?:ing|ed)\b|\bprofessional\s+development\b|\bCPD\b|\bcoach(?:ing|ed)?\b|"
    r"\bcourses?\b|\bgood\s+practice\b|\bvisit(?:ed|s)?\s+other\s+schools\b",
    "maths_numeracy": r"\bmath(?:s|ematics|ematical)?\b|\bnumeracy\b|\bcalculation\w*|\barithmetic\b",
    "english_literacy": r"\bread(?:ing|ers)?\b|\bwrit(?:ing|ers|e)\b|\bphonics\b|\bspelling\b|\bhandwriting\b|"
    r"\bliteracy\b|\bEnglish\b(?!\s+as\s+an\s+additional)|\bgrammar\b",
    "pupil_outcomes": r"\battain(?:ment|ed)?\b|\bprogress\s+(?:of|made\s+by|that)\s+pupils\b|\bpupils'?\s+progress\b|"
    r"\bachievement\b|\bstandards\b|\bresults\b|\bunderachiev\w*|\boutcomes\b|\bnational\s+averages?\b",
    "curriculum": r"\bcurricul(?:um|a)\b|\bscience\b|\bhistory\b|\bgeography\b|\bsubjects?\b|\bschemes?\s+of\s+work\b",
    "behaviour_attendance": r"\bbehav(?:iour|e|ing)\b|\battendance\b|\babsence\b|\bpunctual\w*|"
    r"\bexclu(?:sion|sions|ded)\b|"
    r"\bbully\w*|\battitudes\b",
    "safeguarding": r"\bsafeguard\w*|\bchild\s+protection\b|\bsingle\s+central\s+record\b|\bsafe(?:ty)?\b",
    "inclusion_send": r"\bSEND?\b|\bspecial\s+educational\s+needs\b|\bdisadvantaged\b|\bpupil\s+premium\b|"
    r"\bvulnerable\b|\bEAL\b|\bEnglish\s+as\s+an\s+additional\s+language\b|\bmost\s+able\b|\binclusion\b",
    "early_years": r"\bearly\s+years\b|\bfoundation\s+stage\b|\bEYFS\b|\breception\b|\bnursery\b",
    "staffing": r"\bappoint(?:ed|ment|ments)?\b|\brecruit\w*|\bleft\s+the\s+school\b|\bturnover\b|\bstaffing\b|"
    r"\bvacanc\w+|\bmaternity\b|\bjoined\s+the\s+school\b|\btaken\s+up\s+(?:post|their\s+posts)\b|\bleaving\b",
}
"""One pattern per tag: the whole keyword baseline, readable in one place."""

_KEYWORD_RES = {t: re.compile(p, re.I) for t, p in KEYWORDS.items()}

_WEAK = re.compile(
    r"^(?:to\s+)?(?:ensure|improve|make\s+sure|develop|raise|increase|check|arrange|establish|provide|reduce|"
    r"strengthen|invite|use|secure|eradicate|accelerate|urgently|as\s+a\s+matter)\b|\bshould\b|\bmust\b|"
    r"\bneeds?\s+to\b|\bnot\b|\bweak\w*|\binadequate\b|\btoo\s+(?:few|slow|low|little|much|many|variable)\b|"
    r"\black\w*|\binconsisten\w+|\bpoor\w*|\blimited\b|\bconcern\b|\binsufficient\w*|\bfail\w*|\bbelow\b|"
    r"\brequires?\s+improvement\b|\bunderachiev\w*|\bdecline\w*",
    re.I,
)
_STRONG = re.compile(
    r"\bimprov(?:ed|ing|ement\s+in)\b|\bgood\b|\beffective\w*|\bstrong\w*|\bsecured?\b|\bwell\b|\bbetter\b|"
    r"\brapid\w*|\boutstanding\b|\bsuccess\w*|\bhigh\s+quality\b|\braised\b|\bclear\b|\bconfident\w*",
    re.I,
)


_IMPERATIVE = re.compile(
    r"^(?:to\s+)?[a-z]+(?:\s+and\s+[a-z]+)?\s+(?:the|that|all|pupils|teachers|leaders|governors)\b"
)


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """Polarity cues as 0/1 columns: weakness words, strength words, a lower-case imperative start."""
    return np.array(
        [[bool(_WEAK.search(t)), bool(_STRONG.search(t)), bool(_IMPERATIVE.match(t))] for t in texts], dtype=float
    ).reshape(len(texts), 3)


class KeywordTagger:
    """The transparent baseline: a pattern per tag and cue words for polarity."""

    name = "keyword"
    thresholds = np.full(len(ISSUE_TAGS), 0.5)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """1.0 where a tag's pattern matches the unit, else 0.0."""
        out = np.zeros((len(texts), len(ISSUE_TAGS)))
        for i, text in enumerate(texts):
            for j, tag in enumerate(ISSUE_TAGS):
                if _KEYWORD_RES[tag].search(text):
                    out[i, j] = 1.0
        return out

    def polarity(self, texts: Sequence[str]) -> list[str]:
        """Weakness cues first (every recommendation is a weakness), then strength cues."""
        return ["weakness" if _WEAK.search(t) else "strength" if _STRONG.search(t) else "neutral" for t in texts]


# ---------------------------------------------------------------- embedding classifiers


@dataclass
class EmbeddingTagger:
    """One-vs-rest logistic regression on sentence embeddings, per-tag thresholds.

    With ``keywords=True`` the keyword baseline's 18 indicators and the polarity
    cues are appended to the embedding (a hybrid that lets a rare tag lean on its
    words); with ``ngrams=True`` also TF-IDF word uni- and bigrams fitted on the
    training units, so exact terms ("APP", "phonics") count. The polarity model
    weighs classes as they occur unless ``polarity_balanced``.
    """

    C: float = 4.0
    keywords: bool = False
    ngrams: bool = False
    polarity_balanced: bool = True
    seed: int = 0
    max_iter: int = 3000
    thresholds: np.ndarray = field(default_factory=lambda: np.full(len(ISSUE_TAGS), 0.5))
    tag_models: list[Any] = field(default_factory=list)
    polarity_model: Any = None
    vectorizer: Any = None

    @property
    def name(self) -> str:
        """The model's id in metrics."""
        return "embedding" + ("+keywords" if self.keywords else "") + ("+ngrams" if self.ngrams else "")

    def features(self, texts: Sequence[str], emb: np.ndarray) -> Any:
        """The feature matrix: embeddings, keyword indicators, n-grams (sparse when n-grams are on)."""
        dense = np.hstack([emb, KeywordTagger().scores(texts), cue_features(texts)]) if self.keywords else emb
        if not self.ngrams:
            return dense
        import scipy.sparse as sp

        if self.vectorizer is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(texts)
        return sp.hstack([sp.csr_matrix(dense), self.vectorizer.transform(texts)]).tocsr()

    def fit(
        self,
        texts: Sequence[str],
        emb: np.ndarray,
        y: np.ndarray,
        polarity: Sequence[str],
        weights: np.ndarray | None = None,
    ) -> EmbeddingTagger:
        """Fit a classifier per tag (a constant for a tag with no positive example) and one for polarity.

        ``weights`` weighs each unit in the loss (all 1 when ``None``).
        """
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = None
        x = self.features(texts, emb)
        self.tag_models = []
        for j in range(y.shape[1]):
            col = y[:, j]
            if col.min() == col.max():
                self.tag_models.append(float(col[0]) if len(col) else 0.0)
                continue
            m = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter, random_state=self.seed)
            self.tag_models.append(m.fit(x, col, sample_weight=weights))
        self.polarity_model = LogisticRegression(
            C=self.C,
            class_weight="balanced" if self.polarity_balanced else None,
            max_iter=self.max_iter,
            random_state=self.seed,
        ).fit(x, list(polarity), sample_weight=weights)
        return self

    def scores(self, texts: Sequence[str], emb: np.ndarray) -> np.ndarray:
        """Probability of each tag for each unit."""
        return self._scores(self.features(texts, emb), len(texts))

    def polarity(self, texts: Sequence[str], emb: np.ndarray) -> list[str]:
        """The most probable polarity of each unit."""
        if not len(texts):
            return []
        return self._polarity(self.features(texts, emb))

    def predict(self, texts: Sequence[str], emb: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """`scores` and `polarity` from one feature matrix (the keyword searches run once per unit)."""
        if not len(texts):
            return np.zeros((0, len(self.tag_models))), []
        return self.predict_features(self.features(texts, emb))

    def predict_features(self, x: Any) -> tuple[np.ndarray, list[str]]:
        """`scores` and `polarity` of a feature matrix made by `features`."""
        return self._scores(x, x.shape[0]), self._polarity(x)

    def _scores(self, x: Any, n: int) -> np.ndarray:
        out = np.zeros((n, len(self.tag_models)))
        for j, m in enumerate(self.tag_models):
            out[:, j] = m if isinstance(m, float) else m.predict_proba(x)[:, 1]
        return out

    def _polarity(self, x: Any) -> list[str]:
        return [str(p) for p in self.polarity_model.predict(x)]


@dataclass
class SupportModel:
    """Support types of units: the rules of `pipeline.readers.support`, except for the types in ``models``.

    For those, chosen by `pipeline.stages.train` where cross-validation found it better
    than the rules, a logistic regression on the tagger's features decides
    (probability ≥ 0.5) and the rule for that type is not used.
    """

    models: dict[str, Any] = field(default_factory=dict)

    def predict(self, texts: Sequence[str], x: Any) -> list[list[str]]:
        """The support types of each text: rule types first (in rule order), then learned ones."""
        from pipeline.readers.support import find_support

        learned = {t: m.predict_proba(x)[:, 1] >= 0.5 for t, m in self.models.items()} if len(texts) else {}
        return [
            [t for t, _ in find_support(text) if t not in self.models] + [t for t in self.models if learned[t][i]]
            for i, text in enumerate(texts)
        ]


def fit_support(
    x: Any, y: np.ndarray, types: Sequence[str], weights: np.ndarray | None, C: float, seed: int
) -> dict[str, Any]:
    """One balanced logistic regression per support type (columns of ``y`` in ``types`` order)."""
    from sklearn.linear_model import LogisticRegression

    return {
        t: LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=seed).fit(
            x, y[:, j], sample_weight=weights
        )
        for j, t in enumerate(types)
        if 0 < y[:, j].sum() < len(y)
    }


def best_thresholds(y: np.ndarray, scores: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    """Per tag, the threshold on ``grid`` with the best F1 (0.5 for a tag with no positive)."""
    out = np.full(y.shape[1], 0.5)
    for j in range(y.shape[1]):
        if y[:, j].sum() == 0:
            continue
        f1s = [_f1(y[:, j], scores[:, j] >= t) for t in grid]
        out[j] = grid[int(np.argmax(f1s))]
    return out


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float((y.astype(bool) & pred).sum())
    fp = float((~y.astype(bool) & pred).sum())
    fn = float((y.astype(bool) & ~pred).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def label_matrix(tag_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """``n × len(ISSUE_TAGS)`` 0/1 matrix of the tags of each unit."""
    y = np.zeros((len(tag_lists), len(ISSUE_TAGS)))
    index = {t: j for j, t in enumerate(ISSUE_TAGS)}
    for i, tags in enumerate(tag_lists):
        for t in tags:
            y[i, index[t]] = 1
    return y


def tag_metrics(y: np.ndarray, pred: np.ndarray, min_n: int) -> dict[str, Any]:
    """Per-tag precision/recall/F1 with support n; micro over all, macro over tags with n ≥ ``min_n``.

    A tag with fewer than ``min_n`` positive units is listed under
    ``too_few_examples`` and left out of the macro average, never hidden.
    """
    per = {tag: prf(y[:, j], pred[:, j]) for j, tag in enumerate(ISSUE_TAGS)}
    scored = [t for t in ISSUE_TAGS if per[t]["n"] >= min_n]
    micro = prf(y, pred)
    return {
        "per_tag": per,
        "macro_f1": round(float(np.mean([per[t]["f1"] for t in scored])), 4) if scored else 0.0,
        "n_tags_in_macro": len(scored),
        "too_few_examples": {t: per[t]["n"] for t in ISSUE_TAGS if t not in scored},
        "micro_f1": micro["f1"],
        "micro_precision": micro["precision"],
        "micro_recall": micro["recall"],
    }


def prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float | int]:
    """Support n, precision, recall and F1 of 0/1 decisions ``pred`` against ``y`` (any shape, pooled)."""
    yt, pt = np.asarray(y).astype(bool), np.asarray(pred).astype(bool)
    tp, fp, fn = float((yt & pt).sum()), float((~yt & pt).sum()), float((yt & ~pt).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": int(yt.sum()),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
    }


def polarity_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy and the confusion matrix (gold row → predicted column counts)."""
    confusion = {g: {p: 0 for p in POLARITIES} for g in POLARITIES}
    for g, p in zip(gold, pred, strict=True):
        confusion[g][p] += 1
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0
    return {"accuracy": round(acc, 4), "n": len(gold), "confusion": confusion}
