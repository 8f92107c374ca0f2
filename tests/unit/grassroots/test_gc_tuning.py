"""A service process moves its start-up heap out of the collector's sight and collects the youngest generation
less often; GC_TUNING=0 leaves Python's defaults."""
import gc

import pytest

from grassroots import serve


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_the_start_up_heap_is_frozen_and_young_objects_are_collected_less_often(restore_gc, monkeypatch):
    monkeypatch.delenv("GC_TUNING", raising=False)
    gc.unfreeze()
    serve.tune_gc()
    assert gc.get_threshold() == serve.GC_THRESHOLDS and serve.GC_THRESHOLDS[0] > 700
    assert gc.get_freeze_count() > 10_000


def test_gc_tuning_can_be_turned_off(restore_gc, monkeypatch):
    monkeypatch.setenv("GC_TUNING", "0")
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    serve.tune_gc()
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
