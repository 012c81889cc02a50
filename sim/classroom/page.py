"""The classroom page: Mesa's visualisation controls around `Classroom`, with levers in CX
words, live charts with a 95% band, the word-of-mouth network, one customer's journey, a
comparison with the scenario as written, and scenario loading and export.

Built from Mesa's SolaraViz parts: `ModelController` (Reset, ▶/❚❚ and Step; the speed is
its play interval) and `UserInputs` (the sliders and selectors of each group of levers);
the charts re-draw on Mesa's `update_counter`. SolaraViz's own frame shows
every parameter in one flat card, so the page lays these parts out itself: the levers in
labelled groups (`sim.classroom.levers.GROUPS`), and tabs for the market, the network, one
customer, the numbers and the scenario. Moving a lever resets the run with the new
settings (a class sees the effect at once); Reset starts it again as it is.

`cxm app` serves `Page` (module `sim.classroom.page`); the scenario it opens with comes
from `SCENARIO_ENV`.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import pandas as pd
import solara
from mesa.visualization.solara_viz import ModelController, UserInputs
from mesa.visualization.utils import update_counter

from sim import PROJECT_ROOT
from sim.classroom.levers import AUTO_AGENTS, GROUPS, Lever, levers_for, settings_of
from sim.classroom.model import (
    DEFAULT_REPLICATIONS,
    DEFAULT_SCENARIO,
    MAX_REPLICATIONS,
    Classroom,
    classroom_defaults,
    resolve,
)
from sim.errors import CXMError
from sim.plots.classroom import journey_path, live_chart, network_layout, network_view
from sim.scenario import with_overrides
from sim.scenario.loading import load_scenario

SCENARIO_ENV = "CXM_APP_SCENARIO"
"""Environment variable naming the scenario file the page opens with (set by `cxm app`)."""
SCENARIOS_DIR = PROJECT_ROOT / "scenarios"
"""Where the page's scenario list comes from."""
PLAY_INTERVAL_MS = 100
"""Default pause between months while playing, milliseconds."""
CHARTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Customers": (
        ("Active customers", ("active",)),
        ("Churn: share of customers lost per month", ("churn_rate",)),
        ("Revenue and profit per month", ("revenue", "profit")),
    ),
    "Experience": (
        ("NPS: true and measured", ("nps_true", "nps_measured")),
        ("CSAT (1–5): true and measured", ("csat_true", "csat_measured")),
        ("Customer effort (CES, 1–7): true and measured", ("ces_true", "ces_measured")),
    ),
    "Contact centre": (
        ("Service level and abandonment", ("service_level", "abandon_rate")),
        ("Mean wait of support contacts", ("mean_wait_minutes",)),
        ("First-contact resolution", ("first_contact_resolution",)),
    ),
}
"""The live charts by tab: title and the time-series metrics each draws (a tab draws only
its own, so a step costs three figures)."""
NUMBERS: tuple[str, ...] = (
    "active",
    "revenue",
    "profit",
    "churn_rate",
    "nps_true",
    "nps_measured",
    "csat_true",
    "csat_measured",
    "ces_true",
    "ces_measured",
    "service_level",
    "abandon_rate",
)
"""The columns of the Numbers tab (means across replications, month by month)."""
TABS: tuple[str, ...] = (*CHARTS, "Network", "Journey", "Numbers", "Scenario")
"""The page's tabs, in order."""


def opening_scenario() -> Path:
    """The scenario the page opens with: `SCENARIO_ENV`, else the baseline."""
    return resolve(os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO)


def ready_scenarios() -> dict[str, str]:
    """The scenario files of ``scenarios/`` by file name → path."""
    return {p.name: str(p) for p in sorted(SCENARIOS_DIR.glob("*.yaml"))}


def _control(lever: Lever, value: Any) -> dict[str, Any]:
    """Mesa's `UserInputs` description of a lever's control, showing `value`."""
    if lever.is_slider:
        kind = "SliderInt" if lever.is_integer else "SliderFloat"
        cast = int if lever.is_integer else float
        return {
            "type": kind,
            "label": f"{lever.label}: {_shown(lever, value)}",
            "value": cast(value),
            "min": cast(lever.low),
            "max": cast(lever.high),
            "step": cast(lever.step),
        }
    return {
        "type": "Select",
        "label": lever.label,
        "value": lever.choices[value],
        "values": list(lever.choices.values()),
    }


def _shown(lever: Lever, value: Any) -> str:
    """A slider's value as its label shows it."""
    if lever.key.startswith("invest_"):
        return f"{value:,.0f} cu"
    if lever.key == "agents" and int(value) == AUTO_AGENTS:
        return "staffed to target"
    return f"{value:g}"


def _from_control(lever: Lever, shown: Any) -> Any:
    """The lever's value for what its control shows (a selector shows words)."""
    if lever.is_slider:
        if isinstance(shown, int | float) and not isinstance(shown, bool):
            return int(shown) if lever.is_integer and float(shown).is_integer() else float(shown)
        return shown
    # anything else is passed on as it came, for `apply_settings` to refuse in one line
    return next((key for key, words in lever.choices.items() if words == shown), shown)


def numbers_table(model: Classroom) -> pd.DataFrame:
    """Month by month, the mean across replications of `NUMBERS` (and, comparing, the mean
    paired difference against the reference, columns ``<metric> change``)."""
    frame = model.timeseries()
    if frame.empty:
        return pd.DataFrame(columns=["month", *NUMBERS])
    table = frame.groupby("month")[list(NUMBERS)].mean()
    if model.compare:
        change = model.difference(list(NUMBERS)).groupby("month")[list(NUMBERS)].mean()
        table = table.join(change.add_suffix(" change"))
    return table.reset_index()


def export_yaml(model: Classroom) -> str:
    """The class's scenario as a self-contained scenario file `cxm run` accepts (every
    default filled), named after the file it came from."""
    name = f"{model.file_scenario.name}_classroom"
    written = settings_of(model.file_scenario)
    moved = {k: v for k, v in model.settings.items() if v != written.get(k)}
    described = ", ".join(f"{k}={v}" for k, v in sorted(moved.items())) or "no lever moved"
    scenario = with_overrides(
        model.spec,
        {"name": name, "description": f"{model.file_scenario.name} with {described}"},
    )
    return scenario.to_yaml()


@solara.component
def LeverGroups(model: solara.Reactive[Classroom], on_settings: Any) -> None:
    """Every group of levers in a card, each lever a Mesa `UserInputs` control."""
    scenario = model.value.file_scenario
    sized = model.value.spec
    levers = levers_for(sized)
    values = {**settings_of(scenario), **model.value.settings}
    for group in GROUPS:
        members = [lever for lever in levers if lever.group == group]
        if not members:
            continue
        with solara.Details(group, expand=group == GROUPS[0]):
            controls = {lever.key: _control(lever, values[lever.key]) for lever in members}
            by_key = {lever.key: lever for lever in members}

            def changed(key: str, shown: Any, by_key: dict[str, Lever] = by_key) -> None:
                on_settings({**model.value.settings, key: _from_control(by_key[key], shown)})

            UserInputs(controls, on_change=changed)


@solara.component
def MonthShown(model: Classroom) -> None:
    """Which month the run has reached."""
    update_counter.get()
    solara.Text(f"Month {model.month} of {model.months}", classes=["cxm-month"])


@solara.component
def Charts(model: Classroom, tab: str) -> None:
    """One tab's live charts (or, comparing, the paired differences against the reference)."""
    update_counter.get()
    charts = CHARTS[tab]
    metrics = sorted({m for _, ms in charts for m in ms})
    frame = model.difference(metrics) if model.compare else model.timeseries()
    with solara.GridFixed(columns=2):
        for index, (title, chart) in enumerate(charts):
            shown = f"{title}: change against the scenario as written" if model.compare else title
            with solara.Column(classes=[f"cxm-chart cxm-chart-{index}"]):
                solara.FigureMatplotlib(
                    live_chart(frame, list(chart), model.months, shown, difference=model.compare),
                    format="png",
                    dependencies=[model, model.month, model.compare, tab],
                )


@solara.component
def NetworkView(model: Classroom) -> None:
    """The first replication's word-of-mouth network, coloured by group."""
    update_counter.get()
    graph = model.runs[0].graph
    positions = solara.use_memo(
        lambda: None if graph is None else network_layout(graph), dependencies=[model]
    )
    people = model.people()
    solara.FigureMatplotlib(
        network_view(graph, people["group"], positions),
        format="png",
        dependencies=[model, model.month],
    )
    solara.Text(
        "Green: promoters (would recommend, 9–10); yellow: passives; red: detractors (0–6); "
        "light grey: prospects; dark grey: former customers. Detractors' word of mouth puts "
        "prospects off; promoters' brings them in. First replication."
    )


@solara.component
def JourneyView(model: Classroom) -> None:
    """One customer's interactions and satisfaction path (first replication)."""
    update_counter.get()
    chosen, set_chosen = solara.use_state(None, key="customer")
    followed = model.followed()
    if not followed:
        solara.Info("Step the model to see customers' journeys.")
        return
    customer = chosen if chosen in followed else followed[0]
    solara.Select(
        "Customer (those with the most interactions so far)",
        value=str(customer),
        values=[str(c) for c in followed],
        on_value=lambda text: set_chosen(int(text)),
        classes=["cxm-customer"],
    )
    journey = model.journey(customer)
    solara.FigureMatplotlib(
        journey_path(journey, customer), format="png", dependencies=[model, model.month, customer]
    )
    columns = ["month", "touchpoint", "delivered", "perceived", "satisfaction", "effort",
               "problem", "waited", "resolved", "satisfaction_after"]  # fmt: skip
    solara.HTML(
        tag="div",
        unsafe_innerHTML=journey[columns].to_html(
            index=False, float_format="{:.3f}".format, classes="cxm-journey"
        ),
    )


@solara.component
def NumbersView(model: Classroom) -> None:
    """The charts' numbers: means across replications, month by month."""
    update_counter.get()
    table = numbers_table(model)
    solara.Text(
        f"Means of {model.replications} replication(s), seed {model.seed_value}: the same "
        "numbers as sim.run with these settings."
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=table.to_html(
            index=False, float_format="{:.10g}".format, classes="cxm-numbers", na_rep="—"
        ),
    )


@solara.component
def ScenarioView(model: solara.Reactive[Classroom], on_load: Any) -> None:
    """Load a ready scenario; export the current settings as a scenario file."""
    files = ready_scenarios()
    current = model.value.scenario_path.name
    solara.Select(
        "Load a scenario from scenarios/",
        value=current if current in files else None,
        values=list(files),
        on_value=lambda name: on_load(files[name]),
    )
    text = export_yaml(model.value)
    filename = f"{model.value.file_scenario.name}_classroom.yaml"
    solara.FileDownload(text, filename=filename, label="Export settings as scenario YAML")
    solara.Text(f"Run it with: cxm run {filename}")
    solara.HTML(tag="pre", unsafe_innerHTML=html.escape(text), classes=["cxm-export"])


@solara.component
def Page() -> None:
    """The classroom page."""
    opening = solara.use_memo(opening_scenario, dependencies=[])
    error = solara.use_reactive(None)
    params = solara.use_reactive(
        {
            "scenario_path": str(opening),
            "settings": classroom_defaults(),
            "replications": DEFAULT_REPLICATIONS,
            "compare": False,
        }
    )
    model = solara.use_reactive(solara.use_memo(lambda: _first_model(params.value, error), []))
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    tab = solara.use_reactive(0)

    def rebuild(changes: dict[str, Any]) -> None:
        wanted = {**params.value, **changes}
        try:
            built = Classroom(**wanted)
        except CXMError as exc:
            error.set(f"error: {exc}")
            return
        error.set(None)
        params.set(wanted)
        model.set(built)

    def load(path: str) -> None:
        try:
            load_scenario(path)
        except CXMError as exc:
            error.set(f"error: {exc}")
            return
        rebuild({"scenario_path": path, "settings": classroom_defaults()})

    solara.Title("CXM Lab classroom")
    with solara.AppBar():
        solara.AppBarTitle(f"CXM Lab classroom: {model.value.file_scenario.name}")
    with solara.Sidebar():
        with solara.Card("Run"):
            controls = "controller-" + str(id(model.value))
            # keyed by the model: a new run (a lever moved) gets fresh controls, playable
            # again even when the previous run had reached its horizon
            ModelController(
                model,
                model_parameters=params,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            ).key(controls)
            solara.SliderInt(
                f"Pause: {play_interval.value} ms",
                value=play_interval,
                min=0,
                max=1000,
                step=50,
            )
            solara.SliderInt(
                f"Draw every: {render_interval.value} mo",
                value=render_interval,
                min=1,
                max=12,
            )
            solara.SliderInt(
                f"Replications: {model.value.replications}",
                value=model.value.replications,
                min=1,
                max=MAX_REPLICATIONS,
                on_value=lambda n: rebuild({"replications": int(n)}),
            )
            solara.Checkbox(
                label="Compare with the scenario as written (same seed)",
                value=model.value.compare,
                on_value=lambda on: rebuild({"compare": bool(on)}),
            )
            MonthShown(model.value)
        if error.value:
            solara.Error(error.value, classes=["cxm-error"])
        LeverGroups(model, on_settings=lambda settings: rebuild({"settings": settings}))
    # Only the tab in view is drawn, so stepping costs one tab's figures (as Mesa's
    # ComponentsView does it).
    with solara.v.Tabs(v_model=tab.value, on_v_model=tab.set):
        for name in TABS:
            solara.v.Tab(children=[name])
    shown = TABS[tab.value]
    if shown in CHARTS:
        Charts(model.value, shown)
    elif shown == "Network":
        NetworkView(model.value)
    elif shown == "Journey":
        JourneyView(model.value)
    elif shown == "Numbers":
        NumbersView(model.value)
    else:
        ScenarioView(model, on_load=load)


def _first_model(params: dict[str, Any], error: solara.Reactive) -> Classroom:
    """The page's first model; a scenario that cannot load falls back to the baseline with
    its error shown."""
    try:
        return Classroom(**params)
    except CXMError as exc:
        error.set(f"error: {exc}")
        return Classroom(**{**params, "scenario_path": str(DEFAULT_SCENARIO)})
