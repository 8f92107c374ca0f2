import numpy as np
import scipy.sparse as sp

from experts.domain import text
from experts.domain.text import SpecialtyIndex, tag_terms, tokenize


def test_domain_terms_are_segmented_whole():
    terms = tokenize("畜牧兽医与草原生态，稀土")
    for word in ("畜牧兽医", "草原生态", "稀土"):
        assert word in terms


def test_stop_words_and_single_character_function_words_are_dropped_but_content_characters_kept():
    terms = tokenize("从事羊的养殖技术服务工作")
    assert "的" not in terms and "从事" not in terms and "服务" not in terms and "技术" not in terms
    assert "羊" in terms


def test_a_synonym_in_text_carries_its_tag():
    assert "#畜牧兽医" in tokenize("兽医")
    assert tag_terms(["兽医", "炼丹"]) == ["#畜牧兽医"]


def test_the_tokenizer_is_loaded_once():
    tokenize("稀土")
    first = text._get_tokenizer()
    assert text._get_tokenizer() is first


def test_similarity_is_sparse_in_unit_range_and_ranks_the_closer_specialty_first():
    experts = [tokenize("畜牧兽医 牛羊疫病防控"), tokenize("稀土永磁材料"), tokenize("草原生态修复 牛羊")]
    index = SpecialtyIndex(experts)
    sim = index.similarity([tokenize("牛羊疫病防控")])
    assert sp.issparse(sim)
    row = sim.toarray()[0]
    assert row[0] > row[2] > row[1] == 0
    assert np.all((row >= 0) & (row <= 1))


def test_a_rarer_shared_term_weighs_more_than_a_common_one():
    experts = [tokenize("马铃薯"), tokenize("玉米"), tokenize("玉米"), tokenize("玉米")]
    index = SpecialtyIndex(experts)
    row = index.similarity([tokenize("马铃薯 玉米")]).toarray()[0]
    assert row[0] > row[1]


def test_matched_terms_name_the_shared_words_rarest_first_and_show_tags_by_name():
    query = tokenize("兽医 玉米")
    docs = [tokenize("畜牧兽医 玉米"), tokenize("玉米"), tokenize("玉米")]
    index = SpecialtyIndex(docs)
    assert index.matched_terms(query, docs[0]) == ["畜牧兽医", "玉米"]


def test_a_demand_partly_beyond_every_experts_specialty_scores_lower_than_a_fully_covered_one():
    index = SpecialtyIndex([tokenize("马铃薯"), tokenize("光伏")])
    covered, partial = index.similarity([tokenize("马铃薯"), tokenize("马铃薯 奶酪")]).toarray()[:, 0]
    assert covered > partial > 0


def test_livestock_disease_words_meet_an_animal_husbandry_profile_through_the_tag():
    index = SpecialtyIndex([tokenize("肉羊养殖与疫病防控"), tokenize("光伏发电")])
    query = tokenize("布病防控技术指导")
    assert index.matched_terms(query, tokenize("肉羊养殖与疫病防控")) == ["畜牧兽医"]
