"""Sampled verdicts for stochastic tests ("pass if >= 8 of 10 samples pass") and the statistics behind them."""
