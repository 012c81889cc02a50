"""The customers' side: behavioural rules, the mechanisms of a journey and their
compositions, surveys, the market's people and their social network."""
