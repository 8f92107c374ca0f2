"""Benchmark: optimal expert-demand matching against the greedy baseline, in the same run.

Generates synthetic demands and experts (Chinese specialty texts from the taxonomy and a vocabulary,
league/city codes among the 14, 1% declared conflicts, load caps 1-3, 1-5 experts wanted per
demand), builds the fit, solves optimally (LP with certified pruning) and greedily, prints the
figures and writes them to bench/results/matching.json.

Usage:
    PYTHONPATH=services/experts:libs/grassroots .venv/bin/python bench/bench_matching.py \
        [--demands 1000] [--experts 10000] [--seed 7]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "services" / "experts", ROOT / "libs" / "grassroots"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from experts.domain.fit import Demand, Expert, build_fit, same_code_relation  # noqa: E402
from experts.domain.identity import TitleLevel  # noqa: E402
from experts.domain.matching import explain, solve_greedy, solve_optimal  # noqa: E402
from experts.domain.taxonomy import SPECIALTY_TAGS  # noqa: E402
from experts.domain.text import DOMAIN_WORDS  # noqa: E402

# The 12 leagues/cities plus 满洲里市 and 二连浩特市 (administrative division codes).
REGION_CODES = ["150100", "150200", "150300", "150400", "150500", "150600", "150700", "150800",
                "150900", "152200", "152500", "152900", "150781", "152501"]

EXPERT_TEMPLATES = ["长期从事{a}和{b}研究，擅长{c}", "{a}、{b}，兼顾{c}", "主要研究方向为{a}与{b}，熟悉{c}及{d}",
                    "{a}专业，从事{b}推广{c}工作多年"]
DEMAND_TEMPLATES = ["急需{a}方面专家指导{b}", "希望解决{a}和{b}问题，开展{c}培训", "{a}、{b}技术服务需求"]


def region_relation():
    try:
        from grassroots.regions import region_relation as rel  # written by another session
        rel(REGION_CODES[0], REGION_CODES[1])
        return rel, "grassroots.regions"
    except Exception:
        return same_code_relation, "same_code_relation"


def generate(n_demands: int, n_experts: int, seed: int):
    rng = random.Random(seed)
    tags = list(SPECIALTY_TAGS)
    vocab = {t: [t, *SPECIALTY_TAGS[t]] for t in tags}
    general = list(DOMAIN_WORDS)
    experts = []
    for i in range(n_experts):
        own = rng.sample(tags, rng.choice((1, 1, 2)))
        words = [rng.choice(vocab[rng.choice(own)]) for _ in range(3)] + [rng.choice(general)]
        text = rng.choice(EXPERT_TEMPLATES).format(a=words[0], b=words[1], c=words[2], d=words[3])
        unavailable = ()
        if rng.random() < 0.1:
            start = date(2025, 5, 1) + timedelta(days=rng.randrange(150))
            unavailable = ((start, start + timedelta(days=rng.randrange(3, 30))),)
        experts.append(Expert(id=f"e{i}", unit_id=f"u{rng.randrange(n_experts // 5 + 1)}",
                              region_code=rng.choice(REGION_CODES), specialty=text,
                              tags=tuple(own[:1]), title_level=TitleLevel(rng.choice((2, 3, 3, 4, 4))),
                              capacity=rng.randint(1, 3), unavailable=unavailable))
    demands = []
    for i in range(n_demands):
        tag = rng.choice(tags)
        words = [rng.choice(vocab[tag]) for _ in range(2)] + [rng.choice(general)]
        text = rng.choice(DEMAND_TEMPLATES).format(a=words[0], b=words[1], c=words[2])
        start = date(2025, 5, 1) + timedelta(days=rng.randrange(150))
        demands.append(Demand(id=f"d{i}", unit_id=f"u{rng.randrange(n_experts // 5 + 1)}",
                              region_code=rng.choice(REGION_CODES), text=text, wanted=rng.randint(1, 5),
                              start=start, end=start + timedelta(days=rng.randint(1, 4))))
    return demands, experts, rng


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demands", type=int, default=1000)
    parser.add_argument("--experts", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--candidates", type=int, default=40, help="pairs per demand in the first LP")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "matching.json"))
    args = parser.parse_args(argv)

    from experts.domain.text import _get_tokenizer
    t = time.perf_counter()
    _get_tokenizer()
    jieba_load = time.perf_counter() - t

    demands, experts, rng = generate(args.demands, args.experts, args.seed)
    # "1% conflicts": 1% of all expert-demand pairs are declared conflicts, and 1% of the experts
    # declare a conflict with one applicant unit.
    n_pairs = args.demands * args.experts // 100
    pair_conflicts = list({(f"e{rng.randrange(args.experts)}", f"d{rng.randrange(args.demands)}")
                           for _ in range(n_pairs)})
    unit_conflicts = [(f"e{i}", rng.choice(demands).unit_id)
                      for i in rng.sample(range(args.experts), max(1, args.experts // 100))]
    relation, relation_source = region_relation()

    t = time.perf_counter()
    problem = build_fit(demands, experts, region_relation=relation,
                        unit_conflicts=unit_conflicts, pair_conflicts=pair_conflicts)
    build_s = time.perf_counter() - t

    t = time.perf_counter()
    optimal = solve_optimal(problem, candidates_per_demand=args.candidates)
    solve_s = time.perf_counter() - t
    t = time.perf_counter()
    result = explain(problem, optimal)
    explain_s = time.perf_counter() - t

    t = time.perf_counter()
    greedy = solve_greedy(problem)
    greedy_s = time.perf_counter() - t
    greedy_result = explain(problem, greedy)

    figures = {
        "demands": args.demands, "experts": args.experts, "seed": args.seed,
        "region_relation": relation_source,
        "candidate_pairs": int(len(problem.rows)),
        "declared_conflicts": {"pairs": len(pair_conflicts), "expert_units": len(unit_conflicts)},
        "slots_wanted": result.slots_wanted,
        "jieba_load_s": round(jieba_load, 3),
        "build_s": round(build_s, 3),
        "optimal": {"solve_s": round(solve_s, 3), "explain_s": round(explain_s, 3),
                    "total_fit": round(result.total_fit, 4), "slots_filled": result.slots_filled,
                    "lp_rounds": optimal.lp_rounds, "lp_pairs": optimal.lp_pairs,
                    "unmet_demands": len(result.unmet)},
        "greedy": {"solve_s": round(greedy_s, 3), "total_fit": round(greedy_result.total_fit, 4),
                   "slots_filled": greedy_result.slots_filled, "unmet_demands": len(greedy_result.unmet)},
    }
    figures["fit_ratio_optimal_over_greedy"] = round(result.total_fit / greedy_result.total_fit, 4) \
        if greedy_result.total_fit else None
    figures["slots_ratio_optimal_over_greedy"] = round(result.slots_filled / greedy_result.slots_filled, 4) \
        if greedy_result.slots_filled else None

    print(f"{args.demands} demands x {args.experts} experts, {figures['candidate_pairs']} candidate pairs, "
          f"{result.slots_wanted} slots wanted (region relation: {relation_source})")
    print(f"jieba load {jieba_load:.2f} s; build fit {build_s:.2f} s")
    print(f"optimal: solve {solve_s:.2f} s ({optimal.lp_rounds} LP rounds, {optimal.lp_pairs} pairs), "
          f"total fit {result.total_fit:.3f}, slots filled {result.slots_filled}")
    print(f"greedy:  solve {greedy_s:.2f} s, total fit {greedy_result.total_fit:.3f}, "
          f"slots filled {greedy_result.slots_filled}")
    print(f"ratio optimal/greedy: fit {figures['fit_ratio_optimal_over_greedy']}, "
          f"slots {figures['slots_ratio_optimal_over_greedy']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
