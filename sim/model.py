"""CXModel: one run of a scenario — a market of customers travelling journeys, month by month.

`CXModel` is a `mesa.Model`. One `step()` is one month, in named phases:

    firm.plan → journeys.experience → support.serve → customers.evaluate
    → customers.answer (surveys) → customers.decide → market.acquire → record

The population is a structure of arrays and every phase is a vectorised numpy operation over
all customers at once (the vector engine). Phase order matters and is safe because each phase
reads only what earlier phases of the same month wrote: experiences are formed against last
month's expectations, evaluation folds them into memory, decisions use the updated memory,
and people acquired this month start their journey next month.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim import rules
from sim.firm import Firm, TouchpointPlan
from sim.population import (
    ACTIVE,
    ADVERTISING,
    INITIAL,
    LAPSED,
    PROSPECT,
    WINBACK,
    WORD_OF_MOUTH,
    Population,
)
from sim.recorder import Recorder
from sim.scenario import STAGES, Scenario
from sim.streams import Streams
from sim.support import ServiceLevelDesk, SupportDesk

ENGINES = ("vector",)


@dataclass
class _Month:
    """Working arrays of the month being simulated (customers active at its start)."""

    who: np.ndarray  # indices of the active customers
    satisfaction: np.ndarray  # (n, K) transaction satisfaction, NaN where nothing happened
    perceived: np.ndarray  # (n, K) perceived quality, NaN where nothing happened
    effort: np.ndarray  # (n,) summed effort of this month's interactions
    interactions: np.ndarray  # (n,) number of interactions
    problem: np.ndarray  # (n,) bool, a problem occurred this month
    contacts: int = 0
    first_contacts: int = 0
    wait_minutes: float = 0.0
    resolved: int = 0
    episode: np.ndarray | None = None
    month_effort: np.ndarray | None = None


class CXModel(mesa.Model):
    """A market of customers experiencing a firm's touchpoints, one month per step.

    Args:
        scenario: the validated scenario (see `sim.load_scenario`).
        seed: the scenario seed; defaults to `scenario.seed`.
        replication: which replication stream of that seed to use (0, 1, …).
        engine: ``"vector"`` (numpy over all customers at once).
        support: a support desk; defaults to the scenario's service-level desk.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        replication: int = 0,
        engine: str = "vector",
        support: SupportDesk | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine: got {engine!r}; allowed: {', '.join(ENGINES)}")
        self.seed_value = scenario.seed if seed is None else int(seed)
        seed_sequence = np.random.SeedSequence(self.seed_value, spawn_key=(replication,))
        super().__init__(rng=np.random.default_rng(seed_sequence.spawn(1)[0]))
        self.spec = scenario
        self.engine = engine
        self.replication = replication
        self.month = 0
        self.streams = Streams(seed_sequence, scenario.market.size)
        self.touchpoints = sorted(
            scenario.touchpoints, key=lambda t: STAGES.index(scenario.touchpoints[t].stage)
        )
        self.firm = Firm(scenario, self.touchpoints)
        self.support = support or ServiceLevelDesk(scenario.support)
        self.population = Population.initial(scenario, self.streams)
        self.discount_per_month = rules.monthly_rate(scenario.economics.discount_rate_per_year)
        self.recorder = Recorder(scenario, self.touchpoints, self.discount_per_month)
        self._segment_arrays(scenario)
        self._plan: TouchpointPlan = self.firm.plan()

    def _segment_arrays(self, scenario: Scenario) -> None:
        segments = scenario.market.segments

        def column(field: str) -> np.ndarray:
            return np.array([getattr(s, field) for s in segments], dtype=np.float64)

        self.seg_churn = column("churn_per_month")
        self.seg_revenue = column("revenue_per_month")
        self.seg_repeat_value = column("repeat_purchase_value")
        self.seg_tolerance = column("tolerance")
        self.seg_contract = np.array([s.contract_months for s in segments], dtype=np.int32)
        self.seg_support = column("support_propensity")
        self.seg_response = column("survey_response")
        self.in_journey = np.array(
            [[t in scenario.journeys[s.journey] for t in self.touchpoints] for s in segments]
        )
        is_support = np.array([scenario.touchpoints[t].when == "problem" for t in self.touchpoints])
        self.seg_has_support = self.in_journey[:, is_support].any(axis=1)

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """Advance one month."""
        self.month += 1
        self.firm_plan()
        month = self.experience_journeys()
        self.serve_contacts(month)
        self.evaluate(month)
        answers = self.survey(month)
        decisions = self.decide(month)
        acquired = self.acquire()
        self.recorder.record_month(
            self.month, self._snapshot(month) | answers | decisions | acquired
        )
        if self.month >= self.spec.months:
            self.running = False

    def run_to_horizon(self) -> None:
        """Step until the scenario's horizon (`scenario.months`)."""
        while self.running:
            self.step()

    # ------------------------------------------------------------------ phases

    def firm_plan(self) -> None:
        """firm.plan: delivered quality, spread and problem rates of every touchpoint."""
        self._plan = self.firm.plan()

    def experience_journeys(self) -> _Month:
        """journeys.experience: each active customer meets the touchpoints due this month.

        Touchpoints are visited in stage order; each one due gives a perceived quality
        (delivered + noise, less a problem's drop) and a transaction satisfaction.
        """
        pop, plan, m = self.population, self._plan, self.month
        who = np.flatnonzero(pop.status == ACTIVE)
        n, k_count = len(who), len(self.touchpoints)
        seg = pop.segment[who]
        tenure = pop.tenure[who]
        contract = self.seg_contract[seg]
        renewing = (contract > 0) & (tenure > 0) & (tenure % np.maximum(contract, 1) == 0)
        expectation = pop.expectation[who]
        tolerance = self.seg_tolerance[seg]
        month = _Month(
            who=who,
            satisfaction=np.full((n, k_count), np.nan, dtype=np.float32),
            perceived=np.full((n, k_count), np.nan, dtype=np.float32),
            effort=np.zeros(n),
            interactions=np.zeros(n),
            problem=np.zeros(n, dtype=bool),
        )
        sat = self.spec.behaviour.satisfaction
        drop = self.spec.support.problem_quality_drop
        for k, name in enumerate(self.touchpoints):
            tp = self.spec.touchpoints[name]
            if tp.when == "problem":
                continue
            due = self.in_journey[seg, k]
            if tp.when == "on_join":
                due = due & (tenure == 0)
            elif tp.when == "renewal":
                due = due & renewing
            elif tp.probability_per_month < 1.0:
                occurs = self.streams.uniform(f"touchpoint:{name}:occurs", m)[who]
                due = due & (occurs < tp.probability_per_month)
            if not due.any():
                continue
            noise = self.streams.normal(f"touchpoint:{name}:noise", m)[who]
            problem = self.streams.uniform(f"touchpoint:{name}:problem", m)[who]
            problem = due & (problem < plan.problem_probability[k])
            perceived = plan.quality[k] + plan.spread[k] * noise - drop * problem
            perceived = np.clip(perceived, 0.0, 1.0)
            gap = rules.disconfirmation(perceived, expectation, tolerance)
            satisfaction = rules.transaction_satisfaction(
                perceived, gap, sat.disconfirmation_weight, sat.loss_aversion
            )
            month.perceived[due, k] = perceived[due]
            month.satisfaction[due, k] = satisfaction[due]
            month.effort += np.where(due, tp.effort, 0.0)
            month.interactions += due
            month.problem |= problem
            self.recorder.touchpoint(name, due, perceived, satisfaction, problem, plan.quality[k])
        return month

    def serve_contacts(self, month: _Month) -> None:
        """support.serve: customers with a problem may contact support; the desk answers.

        A contact's perceived quality falls with its wait (Maister 1985) and if the first
        contact fails; a failed contact means a repeat contact and extra effort.
        """
        pop, plan, m, desk = self.population, self._plan, self.month, self.spec.support
        seg = pop.segment[month.who]
        u_contact = self.streams.uniform("support:contact", m)[month.who]
        contacting = month.problem & self.seg_has_support[seg] & (u_contact < self.seg_support[seg])
        if not contacting.any():
            return
        idx = np.flatnonzero(contacting)
        people = month.who[idx]
        outcome = self.support.serve(
            m,
            self.streams.uniform("support:wait", m)[people],
            self.streams.uniform("support:resolve", m)[people],
        )
        unresolved = ~outcome.resolved
        month.first_contacts = len(idx)
        month.contacts = len(idx) + int(unresolved.sum())
        month.wait_minutes = float(outcome.wait_minutes.sum())
        month.resolved = int(outcome.resolved.sum())
        sat = self.spec.behaviour.satisfaction
        expectation = pop.expectation[people]
        tolerance = self.seg_tolerance[seg[idx]]
        for k, name in enumerate(self.touchpoints):
            tp = self.spec.touchpoints[name]
            if tp.when != "problem":
                continue
            due = self.in_journey[seg[idx], k]
            noise = self.streams.normal(f"touchpoint:{name}:noise", m)[people]
            perceived = (
                plan.quality[k]
                + plan.spread[k] * noise
                - desk.wait_quality_per_minute * outcome.wait_minutes
                - desk.unresolved_quality_drop * unresolved
            )
            perceived = np.clip(perceived, 0.0, 1.0)
            gap = rules.disconfirmation(perceived, expectation, tolerance)
            satisfaction = rules.transaction_satisfaction(
                perceived, gap, sat.disconfirmation_weight, sat.loss_aversion
            )
            effort = (
                tp.effort
                + desk.wait_effort_per_minute * outcome.wait_minutes
                + desk.unresolved_effort * unresolved
            )
            rows = idx[due]
            month.perceived[rows, k] = perceived[due]
            month.satisfaction[rows, k] = satisfaction[due]
            month.effort[rows] += np.minimum(effort[due], 1.0)
            month.interactions[rows] += 1
            no_problem = np.zeros(len(idx), dtype=bool)
            self.recorder.touchpoint(
                name, due, perceived, satisfaction, no_problem, plan.quality[k]
            )

    def evaluate(self, month: _Month) -> None:
        """customers.evaluate: episode memory, cumulative satisfaction, effort, expectation.

        The month's episode is remembered by the peak-end rule; cumulative satisfaction is
        anchored on the prior with a weight that grows with tenure; remembered effort and
        expectations adapt to what was experienced; expectations drift with the market.
        """
        pop, who = self.population, month.who
        rules_ = self.spec.behaviour.satisfaction
        episode = rules.peak_end(month.satisfaction, rules_.peak_end_weight)
        weight = rules.prior_weight(
            pop.tenure[who],
            rules_.prior_weight_new,
            rules_.prior_weight_loyal,
            rules_.tenure_scale_months,
        )
        pop.satisfaction[who] = rules.anchor_and_adjust(pop.satisfaction[who], episode, weight)
        interactions = np.maximum(month.interactions, 1)
        month_effort = np.where(
            month.interactions > 0, np.minimum(month.effort / interactions, 1.0), np.nan
        )
        pop.effort[who] = rules.anchor_and_adjust(
            pop.effort[who], month_effort, rules_.effort_memory
        )
        with np.errstate(invalid="ignore"):
            mean_perceived = np.nanmean(month.perceived, axis=1) if len(who) else episode
        pop.expectation[who] = rules.adapted_expectation(
            pop.expectation[who], mean_perceived, rules_.expectation_adaptation, 0.0
        )
        others = pop.status != ACTIVE
        pop.expectation[others] = np.clip(
            pop.expectation[others] + rules_.market_drift_per_month, 0.0, 1.0
        )
        pop.expectation[who] = np.clip(
            pop.expectation[who] + rules_.market_drift_per_month, 0.0, 1.0
        )
        month.episode = episode
        month.month_effort = month_effort

    def decide(self, month: _Month) -> dict[str, float]:
        """customers.decide: churn (hazard and renewal), then purchases and revenue.

        Revenue is booked for those still active after the churn decision, so a customer
        pays for each month survived (the convention of the CLV formula m·r/(1+d−r)).
        """
        pop, who, m = self.population, month.who, self.month
        b = self.spec.behaviour
        seg = pop.segment[who]
        satisfaction = pop.satisfaction[who]
        p_churn = rules.churn_probability(
            self.seg_churn[seg],
            satisfaction,
            pop.effort[who],
            b.churn.satisfaction_effect,
            b.churn.effort_effect,
            b.churn.reference_satisfaction,
            b.churn.reference_effort,
        )
        leaves = self.streams.uniform("churn:hazard", m)[who] < p_churn
        contract = self.seg_contract[seg]
        tenure = pop.tenure[who]
        renewing = (contract > 0) & (tenure > 0) & (tenure % np.maximum(contract, 1) == 0)
        p_leave = rules.renewal_leave_probability(
            satisfaction, b.churn.renewal_max_leave, b.churn.renewal_threshold,
            b.churn.renewal_steepness,
        )  # fmt: skip
        leaves |= renewing & (self.streams.uniform("churn:renewal", m)[who] < p_leave)
        stay = who[~leaves]
        pop.status[who[leaves]] = LAPSED
        pop.products[who[leaves]] = 0

        s_stay = pop.satisfaction[stay]
        ref = b.churn.reference_satisfaction
        p_repeat = rules.purchase_probability(
            b.purchase.repeat_per_month, s_stay, b.purchase.satisfaction_effect, ref
        )
        repeat = self.streams.uniform("purchase:repeat", m)[stay] < p_repeat
        p_upsell = rules.purchase_probability(
            b.purchase.upsell_per_month, s_stay, b.purchase.satisfaction_effect, ref
        )
        upsell = (self.streams.uniform("purchase:upsell", m)[stay] < p_upsell) & (
            pop.products[stay] < b.purchase.max_products
        )
        pop.products[stay] += upsell.astype(np.int8)
        seg_stay = pop.segment[stay]
        extra = b.purchase.extra_product_revenue_share * (pop.products[stay] - 1)
        revenue = self.seg_revenue[seg_stay] * (1.0 + extra)
        revenue = revenue + repeat * self.seg_repeat_value[seg_stay]
        pop.revenue_to_date[stay] += revenue.astype(np.float32)
        pop.tenure[stay] += 1
        return {
            "active_start": float(len(who)),
            "churned": float(leaves.sum()),
            "renewal_due": float(renewing.sum()),
            "repeat_purchases": float(repeat.sum()),
            "upsells": float(upsell.sum()),
            "revenue": float(revenue.sum()),
        }

    def acquire(self) -> dict[str, float]:
        """market.acquire: prospects and lapsed customers adopt by the Bass hazard.

        Imitation is carried by the promoters among active customers, less detractors
        (``word_of_mouth: net_promoters``), or by all customers (``customers``, the classic
        Bass model); the informed share is taken over the whole market.
        """
        pop, m, a = self.population, self.month, self.spec.acquisition
        active = pop.status == ACTIVE
        prospect = pop.status == PROSPECT
        lapsed = pop.status == LAPSED
        customers = int(active.sum())
        if a.word_of_mouth == "customers":
            informed = float(customers)
        else:
            promoter, detractor = rules.nps_shares(
                10.0 * pop.satisfaction[active], self.spec.behaviour.surveys.nps_answer_sd
            )
            informed = max(float(promoter.sum() - a.detractor_weight * detractor.sum()), 0.0)
        informed_share = informed / pop.size
        p_adopt = rules.bass_month_adoption(
            a.advertising_per_month,
            a.imitation_per_month,
            informed_share,
            informed / customers if customers else 1.0,
            float(prospect.sum()) / pop.size,
        )
        u = self.streams.uniform("acquire:adopt", m)
        joins = (prospect & (u < p_adopt)) | (lapsed & (u < p_adopt * a.winback_factor))
        new = np.flatnonzero(joins)
        # Attribute each adoption to advertising or word of mouth in proportion to the hazards.
        ads_share = a.advertising_per_month / max(
            a.advertising_per_month + a.imitation_per_month * informed_share, 1e-12
        )
        by_ads = u[new] < p_adopt * ads_share * np.where(lapsed[new], a.winback_factor, 1.0)
        pop.source[new] = np.where(
            lapsed[new], WINBACK, np.where(by_ads, ADVERTISING, WORD_OF_MOUTH)
        )
        pop.status[new] = ACTIVE
        pop.tenure[new] = 0
        pop.products[new] = 1
        pop.satisfaction[new] = pop.expectation[new]
        pop.effort[new] = self.spec.behaviour.churn.reference_effort
        return {
            "acquired": float(len(new)),
            "acquired_prospects": float(prospect[new].sum()),
            "informed_share": float(informed_share),
            "adoption_probability": float(p_adopt),
        }

    def survey(self, month: _Month) -> dict[str, float]:
        """customers.answer: a self-selected sample answers NPS, CSAT and CES surveys.

        Answers are drawn from the latent state (NPS from cumulative satisfaction, CSAT from
        the month's episode, CES from the month's effort); the true values are recorded too.
        Stronger measurement enlarges the sample and weakens self-selection by satisfaction.
        """
        pop, who, m = self.population, month.who, self.month
        rules_ = self.spec.behaviour.surveys
        if len(who) == 0:
            return dict.fromkeys(SURVEY_METRICS, np.nan) | {"respondents": 0.0}
        satisfaction = pop.satisfaction[who].astype(np.float64)
        measurement = self.firm.level("measurement")
        reference = self.spec.firm.reference_level
        scale = max(1.0 + rules_.response_per_level * (measurement - reference), 0.0)
        bias = rules_.selection_bias * max(1.0 - measurement / 5.0, 0.0)
        p_answer = rules.response_probability(
            np.clip(self.seg_response[pop.segment[who]] * scale, 0.0, 1.0),
            satisfaction,
            float(satisfaction.mean()),
            bias,
        )
        answers = self.streams.uniform("survey:respond", m)[who] < p_answer
        promoter, detractor = rules.nps_shares(10.0 * satisfaction, rules_.nps_answer_sd)
        nps_answer = rules.survey_answer(
            10.0 * satisfaction, self.streams.normal("survey:nps", m)[who],
            rules_.nps_answer_sd, 0, 10,
        )[answers]  # fmt: skip
        experienced = ~np.isnan(month.episode)
        csat_latent = np.clip(1.0 + 4.0 * month.episode, 1.0, 5.0)
        ces_latent = np.clip(1.0 + 6.0 * month.month_effort, 1.0, 7.0)
        asked = answers & experienced
        csat = rules.survey_answer(
            csat_latent, self.streams.normal("survey:csat", m)[who], rules_.csat_answer_sd, 1, 5
        )[asked]
        ces = rules.survey_answer(
            ces_latent, self.streams.normal("survey:ces", m)[who], rules_.ces_answer_sd, 1, 7
        )[asked]
        return {
            "nps_true": 100.0 * float(promoter.mean() - detractor.mean()),
            "nps_measured": _nps(nps_answer),
            "csat_true": _mean(csat_latent[experienced]),
            "csat_measured": _mean(csat),
            "ces_true": _mean(ces_latent[experienced]),
            "ces_measured": _mean(ces),
            "respondents": float(answers.sum()),
        }

    def _snapshot(self, month: _Month) -> dict[str, float]:
        """State measures of the month: satisfaction, effort, expectation, support."""
        pop, who = self.population, month.who
        active = pop.status == ACTIVE
        return {
            "satisfaction_mean": _mean(pop.satisfaction[who]),
            "effort_mean": _mean(pop.effort[who]),
            "expectation_mean": _mean(pop.expectation[who]),
            "experiencing": float((~np.isnan(month.episode)).sum()),
            "problems": float(month.problem.sum()),
            "contacts": float(month.contacts),
            "mean_wait_minutes": (
                month.wait_minutes / month.first_contacts if month.first_contacts else 0.0
            ),
            "first_contact_resolution": (
                month.resolved / month.first_contacts if month.first_contacts else float("nan")
            ),
            "products_per_customer": float(pop.products[active].mean()) if active.any() else 0.0,
            "initial_customers_active": float((active & (pop.source == INITIAL)).sum()),
        }


SURVEY_METRICS = (
    "nps_true", "nps_measured", "csat_true", "csat_measured", "ces_true", "ces_measured",
)  # fmt: skip


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _nps(answers: np.ndarray) -> float:
    """Net Promoter Score of 0–10 answers: % promoters (9–10) less % detractors (0–6)."""
    if len(answers) == 0:
        return float("nan")
    return 100.0 * float(np.mean(answers >= 9) - np.mean(answers <= 6))
