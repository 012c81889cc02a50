"""CXM Lab: simulate customer experience management — customers, journeys and the firm."""

from sim.model import CXModel
from sim.scenario import Scenario, load_scenario

__all__ = ["CXModel", "Scenario", "load_scenario"]
