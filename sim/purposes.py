"""Random-stream purposes: the names under which every random number of a run is drawn.

A run draws each random number from the stream of a purpose and a month (`sim.streams`).
Two scenarios give person i the same number only when they name the purpose the same way,
and the two engines agree exactly only because they read the same streams; a misspelt
purpose would silently break both. So every purpose is declared here, once, and the engines,
the model and the population draw by these names, never by a literal (a test checks that no
other module spells one).

A purpose's name is also its identity on disk: the stream's key is the CRC-32 of the name
(`sim.streams.purpose_key`), so renaming a purpose changes every number drawn for it.
"""

from __future__ import annotations

# ---------------------------------------------------------------- the market at month 0
INIT_SEGMENT = "init:segment"
"""Which segment a person belongs to (uniform)."""
INIT_EXPECTATION = "init:expectation"
"""A person's initial expectation (normal)."""
INIT_CUSTOMER = "init:customer"
"""Whether a person starts as a customer (uniform)."""
INIT_TENURE = "init:tenure"
"""An initial customer's tenure (uniform)."""
INIT_FRAILTY = "init:frailty"
"""A person's persistent churn frailty (normal)."""
INIT_FIRM = "init:firm"
"""Which firm an initial customer is with, with several firms (uniform)."""
WARM_UP_EXPECTATION = "warm_up:expectation"
"""The expectation of a new customer who takes a leaver's place in a warm-up month
(normal)."""
WARM_UP_FRAILTY = "warm_up:frailty"
"""The churn frailty of a new customer who takes a leaver's place in a warm-up month
(normal)."""

NETWORK = "network"
"""The social network's graph (a generator at month 0: one integer seed)."""

# ---------------------------------------------------------------- journeys and support
SUPPORT_CONTACT = "support:contact"
"""Whether a customer with a problem contacts support (uniform)."""
SUPPORT_WAIT = "support:wait"
"""A contact's wait, by inversion of the desk's wait law (uniform)."""
SUPPORT_RESOLVE = "support:resolve"
"""Whether a contact resolves the problem (uniform)."""
SUPPORT_CENTRE = "support:centre"
"""The contact centre's simulated period at a load: a generator of the seed keyed by the
period's inputs, shared by every replication and month (`Streams.shared_generator`)."""
SUPPORT_RECOVERY = "support:recovery"
"""Whether an unresolved complaint is recovered (uniform)."""
SUPPORT_CHANNEL = "support:channel"
"""The channel a contact starts in, with `support.channels` (uniform)."""
SUPPORT_SELF_SERVICE = "support:self_service"
"""Whether a self-service session resolves the problem (uniform)."""

# ---------------------------------------------------------------- surveys
SURVEY_RESPOND = "survey:respond"
"""Whether a customer answers the month's survey (uniform)."""
SURVEY_CLOSE_LOOP = "survey:close_loop"
"""Whether a detractor is called back (uniform)."""

# ---------------------------------------------------------------- decisions
CHURN_HAZARD = "churn:hazard"
"""Whether a customer leaves on the monthly hazard (uniform)."""
CHURN_RENEWAL = "churn:renewal"
"""Whether a customer leaves at contract renewal (uniform)."""
PREDICT_SCORE = "predict:score"
"""Noise of the firm's churn-risk score (normal)."""
PREDICT_SUCCESS = "predict:success"
"""Whether a retention intervention keeps a flagged customer (uniform)."""
PURCHASE_REPEAT = "purchase:repeat"
"""Whether a customer makes a repeat purchase (uniform)."""
PURCHASE_UPSELL = "purchase:upsell"
"""Whether a customer takes one more product (uniform)."""

# ---------------------------------------------------------------- acquisition
ACQUIRE_ADOPT = "acquire:adopt"
"""Whether a prospect or lapsed customer adopts, complete network (uniform)."""
ACQUIRE_SOURCE = "acquire:source"
"""Whether an adoption came from advertising or word of mouth (uniform)."""

MARKET_SWITCH = "market:switch"
"""Whether a customer who leaves a firm switches at once to another, with several firms
(uniform)."""
MARKET_CHOICE = "market:choice"
"""Which firm an adopter or a switcher chooses, with several firms (uniform)."""

# ---------------------------------------------------------------- the firm
FIRM_PRIVACY = "firm:privacy"
"""Whether a privacy incident happens this month (a generator)."""
FIRM_ATTRITION = "firm:attrition"
"""Staff leavers of the month (a generator)."""

# ---------------------------------------------------------------- experiments
SWEEP_DESIGN = "sweep:design"
"""The sampling of a sweep's design (a seed sequence, not a monthly stream)."""
CALIBRATE_SEARCH = "calibrate"
"""The Latin-hypercube start of a calibration (a seed sequence, not a monthly stream)."""
OPTIMISE_SEARCH = "optimise"
"""The random start splits of a budget optimisation (a seed sequence, not a monthly stream)."""
UNCERTAIN_DESIGN = "uncertain:design"
"""The Latin hypercube of a comparison's uncertain assumptions (a seed sequence, not a
monthly stream)."""


def touchpoint_occurs(touchpoint: str) -> str:
    """Whether a monthly touchpoint happens to a customer this month (uniform)."""
    return f"touchpoint:{touchpoint}:occurs"


def touchpoint_noise(touchpoint: str) -> str:
    """Noise of the perceived quality at a touchpoint (normal)."""
    return f"touchpoint:{touchpoint}:noise"


def touchpoint_problem(touchpoint: str) -> str:
    """Whether an interaction at a touchpoint creates a problem (uniform)."""
    return f"touchpoint:{touchpoint}:problem"


def survey_answer(metric: str) -> str:
    """Answer noise of one survey question, ``nps``, ``csat`` or ``ces`` (normal)."""
    return f"survey:{metric}"


def survey_rating(touchpoint: str) -> str:
    """Noise of a respondent's rating of a touchpoint they met (normal)."""
    return f"survey:touchpoint:{touchpoint}"


def adopt_substep(substep: int) -> str:
    """Whether a prospect adopts in one sub-step of a month on a network (uniform)."""
    return f"acquire:adopt:{substep}"
