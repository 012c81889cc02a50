"""The firm's side: what it delivers and how it changes, the practices its maturity unlocks,
and its cost lines."""
