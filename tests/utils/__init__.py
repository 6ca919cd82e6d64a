"""Factories that take real judgments from data_samples/ for tests."""
