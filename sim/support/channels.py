"""Support channels: the channel a contact starts in, self-service that deflects contacts from
the agents, and what each channel's contacts cost and feel like (docs/model.md §6.4).

With `support.channels` a month's first contacts are routed by each customer's own uniform
(`sim.purposes.SUPPORT_CHANNEL`) to the phone, chat or self-service in proportion to the
channels' shares. A self-service session resolves the problem with the channel's resolution
(its own uniform, `SUPPORT_SELF_SERVICE`); a session that fails comes back as a contact in
the fallback channel, which serves it with its own waits and resolution and adds the failure's
effort and quality drop. The phone is the contact centre of `support.mode`; chat is a
service-level desk whose cost per contact includes the agents' time. Each channel has a level
that investment raises (`sim.firm.delivery.ChannelLevels`): above the firm's reference level,
each level adds `resolution_per_level` to its resolution and `firm.quality_per_level` to the
quality of its contacts.
"""

from __future__ import annotations

import numpy as np

from sim.engines.contract import ChannelTally
from sim.firm.delivery import ChannelLevels
from sim.firm.economics import capability_holding_cost
from sim.scenario import Channels, Scenario, Support
from sim.scenario.schema import Channel, SelfService
from sim.support.desk import ServiceLevelDesk


def chat_desk(support: Support) -> ServiceLevelDesk | None:
    """The chat channel's desk: exponential waits of its mean and its resolution, at the
    contact centre's service-level target time (None when chat is not open)."""
    chat = support.channels.chat if support.channels is not None else None
    if chat is None:
        return None
    return ServiceLevelDesk(
        support.model_copy(
            update={
                "mode": "service_level",
                "mean_wait_minutes": chat.mean_wait_minutes,
                "first_contact_resolution": chat.first_contact_resolution,
            }
        )
    )


def starting_channel(u: np.ndarray, channels: Channels) -> np.ndarray:
    """Index (into `Channels.open()`) of the channel each contact starts in, by inversion of
    the channels' shares at the customers' uniforms `u`."""
    shares = np.array([c.share for c in channels.open().values()])
    bounds = np.cumsum(shares)[:-1]
    return np.searchsorted(bounds, u.astype(np.float64), side="right")


def self_service_resolution(settings: SelfService, above_reference: float) -> float:
    """Chance that a session resolves the problem: the channel's resolution plus
    `resolution_per_level` per level above the reference, within 0–1."""
    return float(
        np.clip(settings.resolution + settings.resolution_per_level * above_reference, 0.0, 1.0)
    )


def level_resolution_shift(settings: Channel, above_reference: float) -> float:
    """Change of an agent channel's resolution from its level."""
    return settings.resolution_per_level * above_reference


def quality_shift(settings: Channel, above_reference: float, quality_per_level: float) -> float:
    """Change of the perceived quality of a contact in a channel: the channel's own shift
    and `quality_per_level` per level above the reference."""
    return settings.quality_shift + quality_per_level * above_reference


def channel_cost(
    scenario: Scenario, levels: ChannelLevels, tally: ChannelTally, customers: float
) -> float:
    """The month's cost of the chat and self-service channels and of holding the channels
    above their initial levels, cu: chats and sessions at their cost per contact, and the
    capabilities' holding cost (`firm.dynamics`, for the active `customers`) of the channels'
    levels less that of their initial levels (a channel's running cost where it starts is
    its cost per contact; the phone's contacts and agents are the support and staffing cost
    lines)."""
    channels = scenario.support.channels
    assert channels is not None
    d = scenario.firm.dynamics
    per_customer, exponent = d.holding_cost_per_customer, d.holding_cost_exponent
    cost = capability_holding_cost(
        levels.levels, customers, per_customer, exponent
    ) - capability_holding_cost(levels.initial, customers, per_customer, exponent)
    if channels.chat is not None:
        cost += channels.chat.cost_per_contact * tally.chat_contacts
    if channels.self_service is not None:
        cost += channels.self_service.cost_per_contact * tally.self_service_sessions
    return float(cost)
