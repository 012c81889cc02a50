"""CXModel: one run of a scenario — a market of customers travelling journeys, month by month.

`CXModel` is a `mesa.Model`. One `step()` is one month, in named phases:

    firm.plan → journeys.experience → support.serve → customers.evaluate
    → customers.answer → customers.decide → market.acquire → firm.learn → record

The population is a structure of arrays and every phase is a vectorised numpy operation over
all customers at once (the vector engine). Phase order is safe because each phase reads only
what earlier phases of the same month wrote: experiences are formed against last month's
expectations, evaluation folds them into memory, surveys and decisions use the updated
memory, people acquired this month start their journey next month, and what the firm learns
this month changes what it delivers from next month on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import mesa
import numpy as np

from sim import network, rules, surveys
from sim.firm import Firm, TouchpointPlan
from sim.firm_config import CAPABILITIES
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
from sim.practices import Change, VoiceOfCustomer, apply_change, review, review_interval
from sim.recorder import Recorder
from sim.scenario import STAGES, Scenario
from sim.streams import Streams
from sim.support import DESK_METRICS, SupportDesk, desk_for

ENGINES = ("vector",)
NETWORK_SUBSTEPS = 4
"""Sub-steps of a month in which word of mouth spreads over a network."""


@dataclass
class _Month:
    """Working arrays of the month being simulated (customers active at its start)."""

    who: np.ndarray  # indices of the active customers
    satisfaction: np.ndarray  # (n, K) transaction satisfaction, NaN where nothing happened
    perceived: np.ndarray  # (n, K) perceived quality, NaN where nothing happened
    problem_at: np.ndarray  # (n, K) bool, a problem arose at the touchpoint
    effort: np.ndarray  # (n,) summed effort of this month's interactions
    interactions: np.ndarray  # (n,) number of interactions
    staffed_interactions: float = 0.0
    contacts: int = 0
    first_contacts: int = 0
    repeat_contacts: int = 0
    abandoned: int = 0
    wait_minutes: float = 0.0
    resolved: int = 0
    desk_metrics: dict[str, float] | None = None  # the desk's operational metrics
    recovered: int = 0
    privacy_incident: bool = False
    episode: np.ndarray | None = None
    month_effort: np.ndarray | None = None
    left: np.ndarray | None = None  # people who left this month (market indices)

    @property
    def problem(self) -> np.ndarray:
        """Customers with at least one problem this month."""
        return self.problem_at.any(axis=1)


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
        self.support = support or desk_for(scenario.support)
        self.population = Population.initial(scenario, self.streams)
        graph_seed = int(self.streams.generator("network", 0).integers(2**31 - 1))
        self.graph = network.build_graph(scenario.market.network, scenario.market.size, graph_seed)
        self.ties = network.adjacency(self.graph, scenario.market.size)
        self.discount_per_month = rules.monthly_rate(scenario.economics.discount_rate_per_year)
        self.recorder = Recorder(scenario, self.touchpoints, self.discount_per_month)
        self.voc = VoiceOfCustomer(len(self.touchpoints))
        self.pending: list[Change] = []
        self.last_review = 0
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
        self.seg_has_support = self.in_journey[:, self.firm.is_support].any(axis=1)

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """Advance one month."""
        self.month += 1
        self.firm_plan()
        month = self.experience_journeys()
        self.serve_contacts(month)
        self.evaluate(month)
        answers = self.answer_surveys(month)
        decisions = self.decide(month)
        acquired = self.acquire(month)
        learned = self.firm_learn(month)
        values = self._snapshot(month) | answers | decisions | acquired | learned
        self.recorder.record_month(self.month, values)
        if self.month >= self.spec.months:
            self.running = False

    def run_to_horizon(self) -> None:
        """Step until the scenario's horizon (`scenario.months`)."""
        while self.running:
            self.step()

    # ------------------------------------------------------------------ phases

    def firm_plan(self) -> None:
        """firm.plan: what every touchpoint delivers this month."""
        self._plan = self.firm.plan()

    def _privacy_incident(self) -> bool:
        p = self.spec.firm.personalisation
        if self.month in p.forced_incident_months:
            return True
        chance = self.firm.privacy_incident_probability()
        return chance > 0 and self.streams.generator("firm:privacy", self.month).random() < chance

    def _experience(
        self, perceived: np.ndarray, expectation: np.ndarray, tolerance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Perceived quality (clipped) and transaction satisfaction of interactions."""
        sat = self.spec.behaviour.satisfaction
        perceived = np.clip(perceived, 0.0, 1.0)
        gap = rules.disconfirmation(perceived, expectation, tolerance)
        satisfaction = rules.transaction_satisfaction(
            perceived, gap, sat.disconfirmation_weight, sat.loss_aversion
        )
        return perceived, satisfaction

    def experience_journeys(self) -> _Month:
        """journeys.experience: each active customer meets the touchpoints due this month.

        Touchpoints are visited in stage order; each one due gives a perceived quality
        (delivered + personal fit + noise, less a problem's drop) and a transaction
        satisfaction. Problem-triggered touchpoints wait for the support phase.
        """
        pop, plan, m = self.population, self._plan, self.month
        who = np.flatnonzero(pop.status == ACTIVE)
        n, k_count = len(who), len(self.touchpoints)
        seg = pop.segment[who]
        tenure = pop.tenure[who]
        renewing = self._renewing(seg, tenure)
        expectation = pop.expectation[who]
        tolerance = self.seg_tolerance[seg]
        month = _Month(
            who=who,
            # Column-major: phases fill and read one touchpoint (column) at a time.
            satisfaction=np.full((n, k_count), np.nan, dtype=np.float32, order="F"),
            perceived=np.full((n, k_count), np.nan, dtype=np.float32, order="F"),
            problem_at=np.zeros((n, k_count), dtype=bool, order="F"),
            effort=np.zeros(n),
            interactions=np.zeros(n),
        )
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
                occurs = self.streams.uniform(f"touchpoint:{name}:occurs", m, who)
                due = due & (occurs < tp.probability_per_month)
            rows = np.flatnonzero(due)
            if len(rows) == 0:
                continue
            people = who[rows]
            noise = self.streams.normal(f"touchpoint:{name}:noise", m, people)
            problem = self.streams.uniform(f"touchpoint:{name}:problem", m, people)
            problem = problem < plan.problem_probability[k]
            raw = plan.quality[k] + plan.fit_gain[k] + plan.spread[k] * noise - drop * problem
            perceived, satisfaction = self._experience(raw, expectation[rows], tolerance[rows])
            month.perceived[rows, k] = perceived
            month.satisfaction[rows, k] = satisfaction
            month.problem_at[rows, k] = problem
            month.effort[rows] += tp.effort
            month.interactions[rows] += 1
            if tp.staffed:
                month.staffed_interactions += float(len(rows))
            self.recorder.touchpoint(name, perceived, satisfaction, problem, plan.quality[k])
        return month

    def _renewing(self, seg: np.ndarray, tenure: np.ndarray) -> np.ndarray:
        contract = self.seg_contract[seg]
        return (contract > 0) & (tenure > 0) & (tenure % np.maximum(contract, 1) == 0)

    def serve_contacts(self, month: _Month) -> None:
        """support.serve: customers with a problem may contact support; the desk answers.

        The desk of the scenario's `support.mode` gives each first contact its wait, whether
        the caller hung up and whether the problem was resolved; engagement moves handle time
        and resolution, sourcing resolution and waits. A contact's perceived quality falls
        with its felt wait (Maister 1985: unannounced waits feel longer), if the caller hung
        up, and if the problem was not resolved (a repeat contact and extra effort follow);
        a complaint may be recovered, which lifts it (service recovery; Smith, Bolton &
        Wagner 1999).
        """
        pop, plan, m, desk = self.population, self._plan, self.month, self.spec.support
        seg = pop.segment[month.who]
        u_contact = self.streams.uniform("support:contact", m, month.who)
        contacting = month.problem & self.seg_has_support[seg] & (u_contact < self.seg_support[seg])
        if not contacting.any():
            return
        idx = np.flatnonzero(contacting)
        people = month.who[idx]
        engaged = desk.contact_centre.aht_engagement_effect * (self.firm.engagement - 0.5)
        outcome = self.support.serve(
            m,
            self.streams.uniform("support:wait", m, people),
            self.streams.uniform("support:resolve", m, people),
            resolution_shift=plan.resolution_shift,
            wait_factor=plan.wait_factor,
            aht_factor=max(1.0 + engaged, 0.1),
            rng=self.streams.generator("support:centre", m),
        )
        abandoned = outcome.abandoned
        unresolved = ~outcome.resolved  # hung up, or answered without a resolution
        recovered = self.streams.uniform("support:recovery", m, people) < self._recovery_chance()
        month.first_contacts = len(idx)
        month.repeat_contacts = int(unresolved.sum())
        month.contacts = len(idx) + month.repeat_contacts
        month.abandoned = int(abandoned.sum())
        month.wait_minutes = float(outcome.wait_minutes.sum())
        month.resolved = int(outcome.resolved.sum())
        month.recovered = int(recovered.sum())
        month.desk_metrics = outcome.metrics
        felt_wait = desk.felt_wait_factor * outcome.wait_minutes
        self.voc.report_problems(month.problem_at[idx].sum(axis=0))
        mature = self.spec.firm.maturity
        expectation = pop.expectation[people]
        tolerance = self.seg_tolerance[seg[idx]]
        for k, name in enumerate(self.touchpoints):
            tp = self.spec.touchpoints[name]
            if tp.when != "problem":
                continue
            due = self.in_journey[seg[idx], k]
            noise = self.streams.normal(f"touchpoint:{name}:noise", m, people)
            raw = (
                plan.quality[k]
                + plan.spread[k] * noise
                - desk.wait_quality_per_minute * felt_wait
                - desk.unresolved_quality_drop * unresolved
                - desk.abandon_quality_drop * abandoned
                + mature.recovery_effect * recovered
            )
            perceived, satisfaction = self._experience(raw, expectation, tolerance)
            effort = (
                tp.effort
                + desk.wait_effort_per_minute * felt_wait
                + desk.unresolved_effort * unresolved
                + desk.abandon_effort * abandoned
            )
            rows = idx[due]
            month.perceived[rows, k] = perceived[due]
            month.satisfaction[rows, k] = satisfaction[due]
            month.effort[rows] += np.minimum(effort[due], 1.0)
            month.interactions[rows] += 1
            if tp.staffed:
                answered = due & ~abandoned
                month.staffed_interactions += float(answered.sum() + (unresolved & due).sum())
            no_problem = np.zeros(int(due.sum()), dtype=bool)
            self.recorder.touchpoint(
                name, perceived[due], satisfaction[due], no_problem, plan.quality[k]
            )

    def _recovery_chance(self) -> float:
        """Chance that a complaint is recovered: rises with culture (empowered staff)."""
        m = self.spec.firm.maturity
        culture = self.firm.level("culture") - self.spec.firm.reference_level
        return float(np.clip(m.recovery_probability + m.recovery_per_culture_level * culture, 0, 1))

    def evaluate(self, month: _Month) -> None:
        """customers.evaluate: episode memory, cumulative satisfaction, effort, expectation.

        The month's episode is remembered by the peak-end rule; cumulative satisfaction is
        anchored on the prior with a weight that grows with tenure; remembered effort and
        expectations adapt to what was experienced; expectations drift with the market.
        A privacy incident this month shocks every customer's satisfaction.
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
        satisfaction = rules.anchor_and_adjust(pop.satisfaction[who], episode, weight)
        month.privacy_incident = self._privacy_incident()
        if month.privacy_incident:
            personalisation = self.spec.firm.personalisation
            satisfaction = np.clip(satisfaction - personalisation.trust_shock, 0.0, 1.0)
            self.firm.trust_shock += personalisation.churn_shock
        pop.satisfaction[who] = satisfaction
        interactions = np.maximum(month.interactions, 1)
        month_effort = np.where(
            month.interactions > 0, np.minimum(month.effort / interactions, 1.0), np.nan
        )
        pop.effort[who] = rules.anchor_and_adjust(
            pop.effort[who], month_effort, rules_.effort_memory
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows with no interaction
            mean_perceived = np.nanmean(month.perceived, axis=1)
        drift = self.firm.expectation_drift(rules_.market_drift_per_month)
        pop.expectation[who] = rules.adapted_expectation(
            pop.expectation[who], mean_perceived, rules_.expectation_adaptation, 0.0
        )
        pop.expectation[:] = np.clip(pop.expectation + drift, 0.0, 1.0)
        month.episode = episode
        month.month_effort = month_effort

    def answer_surveys(self, month: _Month) -> dict[str, float]:
        """customers.answer: a self-selected sample answers NPS, CSAT and CES surveys and
        rates the touchpoints it met; the firm's voice-of-the-customer data grows."""
        pop, who, m = self.population, month.who, self.month
        rules_ = self.spec.behaviour.surveys
        draws = {"respond": self.streams.uniform("survey:respond", m, who)}
        draws |= {
            key: self.streams.normal(f"survey:{key}", m, who) for key in ("nps", "csat", "ces")
        }
        wave = surveys.survey(
            rules_,
            pop.satisfaction[who],
            month.episode,
            month.month_effort,
            self.seg_response[pop.segment[who]],
            self.firm.level("measurement"),
            self.spec.firm.reference_level,
            draws,
        )
        if len(wave.respondents):
            rated = month.satisfaction[wave.respondents].astype(np.float64)
            people = who[wave.respondents]
            noise = np.column_stack(
                [self.streams.normal(f"survey:touchpoint:{t}", m, people) for t in self.touchpoints]
            )
            answers = np.clip(rated + rules_.csat_answer_sd / 4.0 * noise, 0.0, 1.0)
            self.voc.observe(answers, wave.recommend)
        return wave.measures | self._close_the_loop(month, who[wave.respondents], wave.recommend)

    def _close_the_loop(
        self, month: _Month, respondents: np.ndarray, recommend: np.ndarray
    ) -> dict[str, float]:
        """Managed and above: call back detractors who answered (Reichheld & Markey 2011);
        a successful call-back recovers some of their satisfaction."""
        if not self.firm.at_least("managed"):
            return {"loop_calls": 0.0, "loop_cost": 0.0}
        settings = self.spec.firm.maturity
        detractors = respondents[recommend <= 6]
        u = self.streams.uniform("survey:close_loop", self.month, detractors)
        recovered = detractors[u < self._recovery_chance()]
        pop = self.population
        pop.satisfaction[recovered] = np.minimum(
            pop.satisfaction[recovered] + settings.close_loop_effect, 1.0
        )
        return {
            "loop_calls": float(len(detractors)),
            "loop_cost": len(detractors) * settings.close_loop_cost,
        }

    def decide(self, month: _Month) -> dict[str, float]:
        """customers.decide: churn (hazard and renewal), retention interventions, then
        purchases and revenue.

        At predictive maturity the firm scores churn risk, flags the riskiest customers and
        intervenes; an intervention that succeeds keeps a customer who would have left.
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
            self.firm.trust_shock,
            pop.frailty[who],
        )
        renewing = self._renewing(seg, pop.tenure[who])
        p_leave = rules.renewal_leave_probability(
            satisfaction, b.churn.renewal_max_leave, b.churn.renewal_threshold,
            b.churn.renewal_steepness,
        )  # fmt: skip
        would_leave = self.streams.uniform("churn:hazard", m, who) < p_churn
        would_leave |= renewing & (self.streams.uniform("churn:renewal", m, who) < p_leave)
        kept, interventions = self._intervene(month, p_churn + renewing * p_leave, would_leave)
        leaves = would_leave & ~kept
        stay = who[~leaves]
        month.left = who[leaves]
        pop.status[month.left] = LAPSED
        pop.products[month.left] = 0

        s_stay = pop.satisfaction[stay]
        ref = b.churn.reference_satisfaction
        p_repeat = rules.purchase_probability(
            b.purchase.repeat_per_month, s_stay, b.purchase.satisfaction_effect, ref
        )
        repeat = self.streams.uniform("purchase:repeat", m, stay) < p_repeat
        p_upsell = rules.purchase_probability(
            b.purchase.upsell_per_month, s_stay, b.purchase.satisfaction_effect, ref
        )
        upsell = (self.streams.uniform("purchase:upsell", m, stay) < p_upsell) & (
            pop.products[stay] < b.purchase.max_products
        )
        pop.products[stay] += upsell.astype(np.int8)
        seg_stay = pop.segment[stay]
        extra = b.purchase.extra_product_revenue_share * (pop.products[stay] - 1)
        revenue = self.seg_revenue[seg_stay] * (1.0 + extra)
        revenue = revenue + repeat * self.seg_repeat_value[seg_stay]
        pop.revenue_to_date[stay] += revenue.astype(np.float32)
        pop.tenure[stay] += 1
        self.recorder.segments(seg, leaves, pop.segment[stay], revenue, s_stay)
        return {
            "active_start": float(len(who)),
            "churned": float(leaves.sum()),
            "renewal_due": float(renewing.sum()),
            "repeat_purchases": float(repeat.sum()),
            "upsells": float(upsell.sum()),
            "revenue": float(revenue.sum()),
        } | interventions

    def _intervene(
        self, month: _Month, p_leave: np.ndarray, would_leave: np.ndarray
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Predictive retention: flag the highest churn scores, intervene, keep some."""
        m, firm, settings = self.month, self.firm, self.spec.firm.maturity
        kept = np.zeros(len(month.who), dtype=bool)
        none = {"interventions": 0.0, "saved_customers": 0.0, "retention_cost": 0.0}
        none |= {"flag_precision": np.nan, "flag_recall": np.nan}
        if not firm.at_least("predictive") or len(month.who) == 0:
            return kept, none
        accuracy = (firm.level("measurement") + firm.level("technology")) / 10.0
        noise_sd = settings.score_noise_at_zero * max(1.0 - accuracy, 0.0)
        noise = self.streams.normal("predict:score", m, month.who)
        score = rules.churn_score(np.clip(p_leave, 0.0, 1.0), noise, noise_sd)
        flagged_count = round(settings.flag_share * len(month.who))
        flagged = np.zeros(len(month.who), dtype=bool)
        if flagged_count:
            flagged[np.argpartition(-score, flagged_count - 1)[:flagged_count]] = True
        success = self.streams.uniform("predict:success", m, month.who)
        succeeded = flagged & (success < settings.intervention_success)
        kept = succeeded & would_leave
        # A successful intervention (a call, an offer) also leaves the customer happier.
        people = month.who[succeeded]
        self.population.satisfaction[people] = np.minimum(
            self.population.satisfaction[people] + settings.intervention_satisfaction_gain, 1.0
        )
        true_flags = float((flagged & would_leave).sum())
        return kept, {
            "interventions": float(flagged.sum()),
            "saved_customers": float(kept.sum()),
            "retention_cost": float(flagged.sum()) * settings.intervention_cost,
            "flag_precision": true_flags / flagged.sum() if flagged.any() else np.nan,
            "flag_recall": true_flags / would_leave.sum() if would_leave.any() else np.nan,
        }

    def acquire(self, month: _Month) -> dict[str, float]:
        """market.acquire: prospects and lapsed customers adopt by the Bass hazard.

        Imitation is carried by the promoters among active customers, less detractors
        (``word_of_mouth: net_promoters``), or by all customers (``customers``, the classic
        Bass model). With complete mixing the informed share is taken over the whole market
        and the month is solved exactly; on a network each person hears their own ties.
        Customers who left this month are not won back in the same month.
        """
        pop, a = self.population, self.spec.acquisition
        active = pop.status == ACTIVE
        prospect = pop.status == PROSPECT
        lapsed = pop.status == LAPSED
        if month.left is not None:
            lapsed[month.left] = False
        if a.word_of_mouth == "customers":
            voice = np.ones(int(active.sum()))
        else:
            promoter, detractor = rules.nps_shares(
                10.0 * pop.satisfaction[active], self.spec.behaviour.surveys.nps_answer_sd
            )
            voice = promoter - a.detractor_weight * detractor
        informed = max(float(voice.sum()), 0.0)
        voice_per_customer = informed / len(voice) if len(voice) else 1.0
        # How much more a lapsed customer needs persuading than a prospect.
        reluctance = np.where(lapsed, a.winback_factor, 1.0)
        if self.ties is None:
            joins, ads_share = self._adopt_mixing(prospect, lapsed, informed, voice_per_customer)
        else:
            speaking = np.zeros(pop.size, dtype=np.float32)
            speaking[active] = voice
            joins, ads_share = self._adopt_network(prospect | lapsed, speaking, voice_per_customer)
        u_source = self.streams.uniform("acquire:source", self.month)
        new = np.flatnonzero(joins & (reluctance > 0))
        # Attribute each adoption to advertising or word of mouth in proportion to the hazards.
        by_ads = u_source[new] < ads_share[new] if np.ndim(ads_share) else u_source[new] < ads_share
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
            "acquired_by_word_of_mouth": float((pop.source[new] == WORD_OF_MOUTH).sum()),
            "informed_share": informed / pop.size,
        }

    def _adopt_mixing(
        self, prospect: np.ndarray, lapsed: np.ndarray, informed: float, per_customer: float
    ) -> tuple[np.ndarray, float]:
        """Complete mixing: everyone hears the market's informed share; the month's Bass
        dynamics are solved exactly (see `rules.bass_month_adoption`)."""
        a, size = self.spec.acquisition, self.population.size
        p_adopt = rules.bass_month_adoption(
            a.advertising_per_month,
            a.imitation_per_month,
            informed / size,
            per_customer,
            float(prospect.sum()) / size,
        )
        u = self.streams.uniform("acquire:adopt", self.month)
        joins = (prospect & (u < p_adopt)) | (lapsed & (u < p_adopt * a.winback_factor))
        hazard = a.advertising_per_month + a.imitation_per_month * informed / size
        return joins, a.advertising_per_month / max(hazard, 1e-12)

    def _adopt_network(
        self, pool: np.ndarray, speaking: np.ndarray, per_customer: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Network: each person's hazard is p + q × their ties' net voice (Goldenberg, Libai
        & Muller 2001). The month is split into sub-steps so that people adopting early in
        the month already speak later in it; a new adopter speaks with the mean voice of a
        customer."""
        a, pop, m = self.spec.acquisition, self.population, self.month
        reluctance = np.where(pop.status == LAPSED, a.winback_factor, 1.0)
        joined = np.zeros(pop.size, dtype=bool)
        hazard = np.full(pop.size, a.advertising_per_month)
        for sub in range(NETWORK_SUBSTEPS):
            heard = network.informed_share(self.ties, speaking)
            hazard = a.advertising_per_month + a.imitation_per_month * heard
            p_sub = -np.expm1(-hazard * reluctance / NETWORK_SUBSTEPS)
            u = self.streams.uniform(f"acquire:adopt:{sub}", m)
            new = pool & ~joined & (u < p_sub)
            joined |= new
            speaking[new] = per_customer
        return joined, a.advertising_per_month / np.maximum(hazard, 1e-12)

    def firm_learn(self, month: _Month) -> dict[str, float]:
        """firm.learn: invest, move engagement and staff, update maturity, review and
        improve touchpoints from the measured data; the month's firm-side costs."""
        firm, m, settings = self.firm, self.month, self.spec.firm
        spend = firm.invest(m)
        u_attrition = self.streams.generator("firm:attrition", m).random()
        firm.update_workforce(month.staffed_interactions, u_attrition)
        firm.update_maturity()
        firm.trust_shock *= 0.5
        reviews = 0.0
        if firm.at_least("managed") and m - self.last_review >= review_interval(firm):
            eligible = self._plan.quality < 1.0
            self.pending += review(firm, self.voc, m, eligible)
            self.voc.reset()
            self.last_review = m
            reviews = 1.0
        due = [c for c in self.pending if c.due_month <= m]
        self.pending = [c for c in self.pending if c.due_month > m]
        improvement_cost = sum(apply_change(firm, c, self._plan.quality) for c in due)
        employees = settings.employees
        return {
            "investment_cost": float(spend.sum()),
            "overhead_cost": firm.organisation["overhead_per_month"],
            "staff_cost": employees.staff * employees.salary_per_month,
            "attrition_cost": firm.staff_leavers * employees.replacement_cost,
            "recovery_cost": month.recovered * settings.maturity.recovery_cost,
            "improvement_cost": float(improvement_cost),
            "reviews": reviews,
            "improvements": float(sum(c.kind != "prevention" for c in due)),
            "preventions": float(sum(c.kind == "prevention" for c in due)),
        }

    def _snapshot(self, month: _Month) -> dict[str, float]:
        """State measures of the month: satisfaction, effort, support, the firm."""
        pop, who, firm = self.population, month.who, self.firm
        active = pop.status == ACTIVE
        values = {
            "satisfaction_mean": _mean(pop.satisfaction[who]),
            "effort_mean": _mean(pop.effort[who]),
            "expectation_mean": _mean(pop.expectation[who]),
            "experiencing": float((~np.isnan(month.episode)).sum()),
            "problems": float(month.problem.sum()),
            "contacts": float(month.contacts),
            "repeat_contacts": float(month.repeat_contacts),
            "abandoned_contacts": float(month.abandoned),
            "mean_wait_minutes": (
                month.wait_minutes / month.first_contacts if month.first_contacts else np.nan
            ),
            "first_contact_resolution": (
                month.resolved / month.first_contacts if month.first_contacts else np.nan
            ),
            "recovered_complaints": float(month.recovered),
            "products_per_customer": float(pop.products[active].mean()) if active.any() else 0.0,
            "initial_customers_active": float((active & (pop.source == INITIAL)).sum()),
            "capability_index": firm.capability_index,
            "maturity": float(firm.maturity),
            "engagement": float(firm.engagement),
            "staff_leavers": firm.staff_leavers,
            "privacy_incident": float(month.privacy_incident),
            "personalisation": firm.personalisation_level(),
            "support_cost_factor": firm.sourcing["cost_factor"],
        }
        desk_metrics = month.desk_metrics or {}
        values |= {name: float(desk_metrics.get(name, np.nan)) for name in DESK_METRICS}
        support = self.spec.support
        agents = support.contact_centre.agents if support.mode != "service_level" else 0
        values["agents"] = float(agents)
        values["staffing_cost"] = (
            agents * support.contact_centre.agent_cost_per_month * firm.sourcing["cost_factor"]
        )
        values |= {
            f"cap_{c}": float(level) for c, level in zip(CAPABILITIES, firm.levels, strict=True)
        }
        return values


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")
