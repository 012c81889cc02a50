"""The customer engines behind `sim.model.CXModel`: their contract, the vector engine (numpy
and compiled kernels) and the agents engine (one Mesa agent per person)."""
