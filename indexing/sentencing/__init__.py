"""A sentencing model learned from the corpus, with conformal ranges and calibrated deviation levels.

Why it is built this way:

- **Outcome types are classes, not numbers.** Death, death with reprieve and life imprisonment are
  predicted by a classifier over :class:`~indexing.schema.OutcomeType`; only terms (有期徒刑, 拘役,
  管制) get months, predicted by gradient boosting on ``log1p(months)`` (sentences are multiplicative:
  an extra year means much more on top of one year than on top of ten). Non-custodial outcomes
  (单处罚金, 免予刑事处罚) are types too: on a log scale "0 months" would sit absurdly far from every
  term and swamp the calibration tails (they are 6 % of CAIL), so "no custody where similar cases got
  three years" is judged by how probable the model finds no custody.
- **Features are what the 量刑指导意见 says drives a sentence**: the charge (native categorical split,
  rare charges pooled as "other"), number of charges, amount, drug weight by drug type, blood alcohol,
  deaths and injuries, the circumstances (自首, 坦白, 累犯 ...), number of defendants, legally relevant
  card attributes (逃逸, 责任划分), plus statistics of the sentences of the case's nearest similar cases
  (computed by the caller with the search index) and an out-of-fold text regression on the facts.
  Demographic card columns (sex, birth year, education, region) are deliberately *not* features: a
  deviation warning must not treat "the defendant is a woman" as a reason a sentence may differ.
- **Thresholds are learned, never hand-set.** The training records are split (by case, so co-defendants
  stay together) into a part the models are fitted on and a calibration part they never see. On the
  calibration part each real judgment gets a nonconformity score; the deviation thresholds are
  split-conformal quantiles of those scores, Mondrian per outcome kind (terms / other types, see
  :func:`outcome_kind`) and per charge group (groups with at least :data:`MIN_GROUP_CALIBRATION`
  calibration cases of that kind), falling back to all charges of the kind, then to everything, for
  small groups and for levels a group is too small to resolve. At nominal coverage ``c`` a real, lawful
  judgment is flagged with probability about ``1 - c``; the rate each threshold actually produces is
  measured by cross-fitting on the calibration part and stored beside it.
- **Nested tiers** (:data:`DEVIATION_TIERS`): notice = outside the 80 % range, warning = outside 95 %,
  severe = outside 99 %. One score, several quantiles, so the tiers are nested by construction.

The nonconformity score of an outcome ``y`` for a case ``x`` is minus the log of its tail probability
under the model's predictive distribution, so terms and death/life are judged on one scale:

- a term (有期徒刑, 拘役, 管制): ``|log1p(months) - mu(x)| / sigma(x) - log P(term)``,
  where ``mu`` is the regression, ``sigma`` a learned difficulty (the expected absolute log residual,
  fitted out of fold; a Laplace scale, so ``exp(-|r| / sigma)`` is the tail probability of the
  residual) and ``P(term)`` the classifier's probability that the sentence is a term at all;
- any other type (death, death with reprieve, life, fine only, exemption): ``-log P(that type)``.

So "8× the expected term" and "death where the model gives death 1.5 %" score alike (about 4.2), and
a term proposed where death is most likely scores high through ``-log P(term)``. The Laplace form only
orders outcomes; the conformal quantiles turn the order into calibrated levels whatever its fit.

The package: ``outcomes`` (levels, regimes, legal vocabulary), ``results`` (what the model returns),
``features``, ``calibration``, ``estimators`` (the scikit-learn parts and how they are fitted) and
``model`` (:class:`SentencingModel`). The names below are its public interface.
"""

from indexing.sentencing.estimators import _limit_threads, library_versions
from indexing.sentencing.features import SentencingConfig
from indexing.sentencing.model import FORMAT_VERSION, SentencingModel
from indexing.sentencing.outcomes import (
    AGGRAVATING,
    CALIBRATION_LEVELS,
    DEVIATION_TIERS,
    MITIGATING,
    NON_CUSTODIAL_TYPES,
    RANGE_LEVELS,
    TERM_REGIME,
    TERM_TYPES,
    DeviationLevel,
    main_charge,
    months_zh,
    outcome_kind,
    outcome_months,
    regime,
)
from indexing.sentencing.results import Deviation, Expected, Threshold

__all__ = [
    "AGGRAVATING", "CALIBRATION_LEVELS", "DEVIATION_TIERS", "FORMAT_VERSION", "MITIGATING", "NON_CUSTODIAL_TYPES",
    "RANGE_LEVELS", "TERM_REGIME", "TERM_TYPES", "Deviation", "DeviationLevel", "Expected", "SentencingConfig",
    "SentencingModel", "Threshold", "_limit_threads", "library_versions", "main_charge", "months_zh", "outcome_kind",
    "outcome_months", "regime",
]
