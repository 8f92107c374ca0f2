import importlib.util
import json
from pathlib import Path

from experts.domain.matching import match_experts
from experts.domain.fit import Demand, Expert

BENCH = Path(__file__).resolve().parents[3] / "bench" / "bench_matching.py"


def test_the_benchmark_runs_small_and_writes_its_figures_with_the_greedy_baseline(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_matching", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "matching.json"
    figures = bench.main(["--demands", "30", "--experts", "120", "--seed", "3", "--out", str(out)])
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved == figures
    assert saved["optimal"]["slots_filled"] >= saved["greedy"]["slots_filled"]
    assert saved["optimal"]["total_fit"] >= saved["greedy"]["total_fit"] - 1e-6 \
        or saved["optimal"]["slots_filled"] > saved["greedy"]["slots_filled"]
    assert "greedy" in capsys.readouterr().out


def test_matching_with_no_experts_or_no_demands_is_an_empty_plan():
    none = match_experts([Demand("d1", "u", "150100", "兽医", wanted=2)], [])
    assert none.matches == [] and none.unmet[0].reason == "no_specialty_match"
    empty = match_experts([], [Expert("e1", "u", "150100", "兽医")])
    assert empty.matches == [] and empty.unmet == [] and empty.slots_wanted == 0
