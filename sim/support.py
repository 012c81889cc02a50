"""The support desk seen from the customer's side: a contact waits, then is resolved or not.

The model hands the desk the month's contacts (one per customer who reports a problem) and
their random numbers; the desk returns each contact's wait and whether the first contact
resolved the problem. This is the seam where a full contact-centre model plugs in: any
object with the same `serve` method can replace `ServiceLevelDesk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sim.scenario import Support


@dataclass(frozen=True)
class ContactOutcomes:
    """Outcome of each contact, aligned with the contacts passed to `serve`."""

    wait_minutes: np.ndarray
    resolved: np.ndarray
    """True where the first contact resolved the problem (otherwise a repeat contact)."""


class SupportDesk(Protocol):
    """Anything that serves a month's contacts."""

    def serve(
        self,
        month: int,
        u_wait: np.ndarray,
        u_resolve: np.ndarray,
        resolution_shift: float = 0.0,
        wait_factor: float = 1.0,
    ) -> ContactOutcomes:
        """Serve one contact per entry of the uniform draws (one per contacting customer).

        `resolution_shift` changes first-contact resolution (sourcing, engagement) and
        `wait_factor` multiplies waits (sourcing flexibility).
        """
        ...


class ServiceLevelDesk:
    """A desk described by its service level: exponential waits of a given mean and a
    first-contact resolution probability."""

    def __init__(self, settings: Support) -> None:
        self.settings = settings

    def serve(
        self,
        month: int,
        u_wait: np.ndarray,
        u_resolve: np.ndarray,
        resolution_shift: float = 0.0,
        wait_factor: float = 1.0,
    ) -> ContactOutcomes:
        """Waits by inversion of the exponential distribution; resolution by comparison."""
        mean = self.settings.mean_wait_minutes * wait_factor
        wait = -mean * np.log1p(-u_wait.astype(np.float64))
        fcr = float(np.clip(self.settings.first_contact_resolution + resolution_shift, 0.0, 1.0))
        return ContactOutcomes(wait_minutes=wait, resolved=u_resolve < fcr)
