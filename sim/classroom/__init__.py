"""The classroom: the interactive page a class uses to move CX levers and watch customers
react (`cxm app`).

- `sim.classroom.levers`: the levers in CX words, their ranges and the scenario fields they
  set (every position of every control is a valid scenario);
- `sim.classroom.model`: `Classroom`, a `mesa.Model` that runs the class's scenario as
  several replications (and the scenario as written, to compare) one month per step, with
  the library's own random numbers, so the page shows `sim.run`'s numbers;
- `sim.classroom.page`: the Solara page, built from Mesa's visualisation controls.

The lessons of the course are notebooks (``notebooks/lessons/``); docs/teaching.md is the
teacher's guide to both.
"""
