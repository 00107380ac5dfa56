"""The collector pause that list decoding holds, from several threads at once."""

from __future__ import annotations

import gc
import threading

from llmkube_tui.backend.gcpause import collector_paused


def test_pause_lasts_until_the_last_holder_leaves():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_threads_restore_the_collector_and_errors_do_too():
    inside, leave = threading.Barrier(4), threading.Event()

    def hold() -> None:
        with collector_paused():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled()
    leave.set()
    for t in threads:
        t.join()
    assert gc.isenabled()

    try:
        with collector_paused():
            raise ValueError("a failed list")
    except ValueError:
        pass
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
