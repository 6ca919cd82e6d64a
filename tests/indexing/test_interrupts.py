"""Ctrl-C / SIGTERM during a database write wait for it (indexing/interrupts.py), with real signals."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from indexing.interrupts import interrupts_deferred


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_block_is_raised_after_it(sig: int) -> None:
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # as `leian ingest` maps it
    # Python's own SIGINT handler, as a foreground process has it (a shell's background job inherits SIG_IGN)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                os.kill(os.getpid(), sig)
                steps.append("the write went on after the signal")
            steps.append("not reached: the interrupt is raised as the block ends")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    assert steps == ["the write went on after the signal"]


def test_no_signal_no_interrupt_and_errors_pass_through() -> None:
    with interrupts_deferred():
        pass
    with pytest.raises(ValueError, match="own error"):
        with interrupts_deferred():
            raise ValueError("the write's own error")


def test_outside_the_main_thread_the_block_just_runs() -> None:
    ran = []
    worker = threading.Thread(target=lambda: ran.append(_run_deferred()))
    worker.start()
    worker.join()
    assert ran == [True]


def _run_deferred() -> bool:
    with interrupts_deferred():
        return True
