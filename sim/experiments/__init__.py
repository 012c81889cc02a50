"""Experiments: replications and paired comparisons, parameter sweeps and their store,
designs, sensitivity, calibration, scenario discovery, and where runs execute."""
