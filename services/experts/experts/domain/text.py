"""Similarity of Chinese specialty texts: jieba segmentation and BM25 over sparse matrices.

Segmentation uses a private ``jieba.Tokenizer`` (so other code's jieba settings are untouched), loaded
once and quietly on first use, with a domain dictionary (every taxonomy tag and synonym plus the
words below) so that 畜牧兽医, 草原生态, 稀土 stay whole. Stop words, punctuation and single-character
function words are dropped. A word that is a taxonomy tag or synonym also adds the term ``#<tag>``,
so 兽医 in a demand meets 畜牧兽医 in a profile.

Similarity of a query (a demand) to a document (an expert's specialty text and tags) is BM25
(k1=1.2, b=0.75, Lucene's idf) divided by the sum of the idf of the query's distinct terms, clipped
to 1: the share of the query's term weight that the document covers, comparable across queries.
A term no document has still counts in that sum (a partly coverable demand scores lower).

Usage:
    index = SpecialtyIndex([tokenize(e.specialty) + tag_terms(e.tags) for e in experts])
    sim = index.similarity([tokenize(d.text) for d in demands])   # scipy.sparse.csr_matrix, D x E, in [0, 1]
    index.matched_terms(tokenize(d.text), expert_tokens)           # ["畜牧兽医", "疫病防控"], rarest first
"""
from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from .taxonomy import all_terms, canonical_tag

#: Domain words kept whole besides the taxonomy's tags and synonyms.
DOMAIN_WORDS: tuple[str, ...] = (
    "乡村振兴", "马铃薯", "肉羊", "肉牛", "奶牛", "绒山羊", "沙棘", "苜蓿", "饲草", "青贮", "玉米", "向日葵",
    "杂粮", "燕麦", "荞麦", "病虫害", "土壤改良", "盐碱地", "测土配方", "高标准农田", "种子", "育种",
    "繁育", "疫苗", "布病", "口蹄疫", "疫病", "防疫", "兽药", "草种", "退化草原", "沙漠", "防沙治沙",
    "滴灌", "地下水", "污水处理", "全科医生", "慢性病", "妇幼保健", "远程医疗", "乡村医生", "蒙医药",
    "中蒙医", "蒙药", "电商", "直播带货", "品牌建设", "冷链物流", "光伏发电", "风力发电", "储能系统",
    "电解铝", "稀土永磁", "稀土功能材料", "煤炭", "安全生产", "尾矿", "数控机床", "乳业", "奶酪",
    "牛羊肉", "冷鲜肉", "全域旅游", "研学", "民宿", "非物质文化遗产", "合作社", "产业链", "成果转化",
    "专利", "职业技能", "技能培训", "数字乡村", "智慧农业", "无人机", "遥感", "地理信息",
)

#: Words too general in this domain to say anything about a specialty.
STOP_WORDS: frozenset[str] = frozenset("""
的 了 和 与 及 或 等 在 对 为 是 有 把 被 从 向 于 以 之 其 也 并 而 就 都 又 个 各 该 此 这 那 将 由 给 让
着 过 吗 呢 吧 啊 中 上 下 内 外 里 能 会 可 要 需 用 做 进行 开展 提供 相关 方面 领域 工作 问题 需求 需要
专家 服务 技术 研究 方向 主要 从事 负责 擅长 希望 解决 帮助 指导 包括 以及 及其 有关 方法 情况 能力
一 二 三 多 新 高 大 小 人 项 名 年 月 日 地区 当地 基层 推进 提升 提高 加强 推动 促进 实现 建设 发展
""".split())

_LATIN = re.compile(r"^[0-9a-z][0-9a-z.+\-]*$")
_init_lock = threading.Lock()
_tokenizer = None


def _get_tokenizer():
    """The shared private tokenizer, built once (about a second with jieba's cached dictionary)."""
    global _tokenizer
    if _tokenizer is None:
        with _init_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                for word in (*all_terms(), *DOMAIN_WORDS):
                    tk.add_word(word, freq=max(tk.suggest_freq(word, False), 1000))
                _tokenizer = tk
    return _tokenizer


def _keep(word: str) -> bool:
    if not word or word in STOP_WORDS:
        return False
    if len(word) == 1:
        # Single Han characters that survive the stop list are content (羊, 牛, 煤); anything else
        # of length one is punctuation or noise.
        return "\u4e00" <= word <= "\u9fff"
    if _LATIN.match(word):
        return True
    return any("\u4e00" <= ch <= "\u9fff" for ch in word)


@lru_cache(maxsize=65536)
def _tokenize_cached(text: str) -> tuple[str, ...]:
    words = _get_tokenizer().lcut(text, HMM=False)
    out: list[str] = []
    for raw in words:
        word = raw.strip().lower()
        if not _keep(word):
            continue
        out.append(word)
        tag = canonical_tag(word)
        if tag is not None:
            out.append("#" + tag)
    return tuple(out)


def tokenize(text: str | None) -> list[str]:
    """Terms of a text: content words (with repeats, for term frequency) and ``#tag`` terms."""
    if not text:
        return []
    return list(_tokenize_cached(unicodedata.normalize("NFKC", text)))


def tag_terms(tags: Iterable[str]) -> list[str]:
    """The ``#tag`` terms of declared tags (unknown tags are ignored here; validate them on input)."""
    terms = []
    for tag in tags:
        canonical = canonical_tag(tag)
        if canonical is not None:
            terms.append("#" + canonical)
    return terms


def display_term(term: str) -> str:
    return term[1:] if term.startswith("#") else term


class SpecialtyIndex:
    """BM25 over a fixed set of documents (the experts), scoring many queries at once."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.n_docs = len(documents)
        vocabulary: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(self.n_docs, dtype=np.float64)
        for i, doc in enumerate(documents):
            counts = Counter(doc)
            lengths[i] = len(doc)
            for term, tf in counts.items():
                j = vocabulary.setdefault(term, len(vocabulary))
                rows.append(i)
                cols.append(j)
                tfs.append(tf)
        self.vocabulary = vocabulary
        n_terms = len(vocabulary)
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        tf_a = np.asarray(tfs, dtype=np.float64)
        df = np.bincount(cols_a, minlength=n_terms).astype(np.float64)
        self.idf = np.log1p((self.n_docs - df + 0.5) / (df + 0.5))
        # The idf of a term no document has: it still weighs in a query's normaliser.
        self.unseen_idf = math.log1p((self.n_docs + 0.5) / 0.5)
        avg = lengths.mean() if self.n_docs and lengths.mean() > 0 else 1.0
        norm = k1 * (1.0 - b + b * lengths[rows_a] / avg) if len(rows_a) else np.zeros(0)
        weights = self.idf[cols_a] * tf_a * (k1 + 1.0) / (tf_a + norm)
        # Stored transposed (terms x docs) so a query matrix multiplies it directly.
        self._weights_t = sp.csr_matrix((weights, (cols_a, rows_a)), shape=(n_terms, self.n_docs))

    def term_idf(self, term: str) -> float:
        j = self.vocabulary.get(term)
        return self.unseen_idf if j is None else float(self.idf[j])

    def similarity(self, queries: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Queries x documents similarity in [0, 1], sparse (zero where no term is shared)."""
        rows, cols, norms = [], [], np.zeros(len(queries), dtype=np.float64)
        for i, query in enumerate(queries):
            total = 0.0
            for term in set(query):
                j = self.vocabulary.get(term)
                if j is None:
                    total += self.unseen_idf
                else:
                    total += self.idf[j]
                    rows.append(i)
                    cols.append(j)
            norms[i] = total
        q = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(queries), len(self.vocabulary)))
        scores = (q @ self._weights_t).tocsr()
        scores.sort_indices()
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(norms > 0, 1.0 / norms, 0.0)
        scores = sp.diags(inv) @ scores
        scores = scores.tocsr()
        np.minimum(scores.data, 1.0, out=scores.data)
        scores.eliminate_zeros()
        return scores

    def matched_terms(self, query: Iterable[str], document: Iterable[str]) -> list[str]:
        """Shared terms for an explanation, rarest (most telling) first, ``#tag`` shown as the tag."""
        shared = set(query) & set(document)
        ordered = sorted(shared, key=lambda t: (-self.term_idf(t), t.startswith("#"), t))
        out: list[str] = []
        for term in ordered:
            shown = display_term(term)
            if shown not in out:
                out.append(shown)
        return out
