"""Pure rules of the experts service: identity, the key-contact pool, specialties, fit and matching.

No nameko, no sqlalchemy: the service layer loads rows, turns them into these dataclasses, calls a
function here and stores what comes back.

Usage:
    from experts.domain import identity, pool, taxonomy
    from experts.domain.fit import Demand, Expert, FitWeights, build_fit
    from experts.domain.matching import match, match_experts
    from experts.domain.reviewers import Application, propose_reviewers
    from grassroots.regions import region_relation

    number = identity.validate_id_number(raw)           # then store identity.id_number_hash(number, key)
    status, why = pool.admit("recommended", role="programme_officer", title_level="副高级")
    tags = taxonomy.validate_tags(["兽医", "稀土"])      # ["畜牧兽医", "稀土"]

    experts = [Expert(id="e1", unit_id="u9", region_code="150200", specialty="肉羊养殖与疫病防控",
                      tags=("畜牧兽医",), title_level="正高级", capacity=3, load=1,
                      unavailable=((date(2025, 6, 1), date(2025, 6, 10)),))]
    demands = [Demand(id="d1", unit_id="u1", region_code="150200", text="肉羊布病防控技术指导",
                      wanted=2, start=date(2025, 7, 1), end=date(2025, 7, 3))]
    result = match_experts(demands, experts, region_relation=region_relation,
                           unit_conflicts=[("e1", "u5")], pair_conflicts=[("e1", "d9")])
    result.to_dict()   # {"matches": [{demand_id, expert_id, fit, explanation}], "unmet": [...], ...}

    proposal = propose_reviewers([Application(id="a1", unit_id="u1", region_code="150100",
                                              text="草原生态修复", wanted=3)], experts,
                                 region_relation=region_relation)
"""
