"""The classroom game: student teams run competing firms in one market, round by round
(`sim.game.engine.Game`; the rules of a round's decision in `sim.game.decisions`)."""
