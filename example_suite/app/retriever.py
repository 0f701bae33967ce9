"""Knowledge-base loading and lexical BM25 retrieval over the Lumen help-center articles.

Articles live in ``example_suite/kb/*.md`` as markdown with a YAML front matter block (``id``, ``title``,
``category``).  Retrieval is deterministic: equal scores are broken by article id.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

KB_DIR = Path(__file__).resolve().parent.parent / "kb"

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a about after all also am an and any are as at be been before but by can could do does doing for from "
    "get got had has have hey hi how i if in into is it its just me my myself no not of on one or our out "
    "please so some than that the their them then there these they this to too up us was we were what when "
    "where which who why will with would you your".split()
)
# Words customers use that the help center spells differently.
_SYNONYMS = {
    "2fa": "two factor authentication",
    "mfa": "two factor authentication",
    "pw": "password",
    "pwd": "password",
    "login": "sign in",
    "log": "sign",
    "cancel": "cancel cancelling",
    "delete": "delete deleting",
    "bill": "invoice billing",
    "receipt": "invoice receipts",
    "price": "prices plans",
    "cost": "prices plans",
    "much": "prices",
    "token": "token tokens api",
    "saml": "saml sso single sign",
    "offline": "offline working",
}


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    category: str = ""
    score: float = 0.0

    def for_prompt(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "body": self.body}


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str, *, expand: bool = False) -> list[str]:
    words = _WORD.findall(text.lower())
    if expand:
        words = [w for word in words for w in _SYNONYMS.get(word, word).split()]
    return [_stem(w) for w in words if w not in _STOPWORDS]


def load_articles(kb_dir: Path = KB_DIR) -> list[Article]:
    """Read every ``*.md`` article under ``kb_dir`` (sorted by file name)."""
    import yaml

    articles = []
    for path in sorted(Path(kb_dir).glob("*.md")):
        _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.safe_load(front)
        articles.append(Article(id=meta["id"], title=meta["title"], body=body.strip(), category=meta["category"]))
    return articles


class BM25Index:
    """Okapi BM25 over title (counted twice) + body."""

    def __init__(self, articles: list[Article], k1: float = 1.2, b: float = 0.75) -> None:
        self.articles = articles
        self.k1, self.b = k1, b
        self.tfs = [Counter(tokenize(f"{a.title} {a.title} {a.body}")) for a in articles]
        self.lengths = [sum(tf.values()) for tf in self.tfs]
        self.avg_length = sum(self.lengths) / max(len(self.lengths), 1)
        df = Counter(term for tf in self.tfs for term in tf)
        n = len(articles)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def score(self, query_terms: list[str], i: int) -> float:
        tf, norm = self.tfs[i], self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg_length)
        return sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in query_terms if t in tf)

    def search(self, query: str, k: int = 4) -> list[Article]:
        terms = sorted(set(tokenize(query, expand=True)))
        scored = [(self.score(terms, i), a.id, a) for i, a in enumerate(self.articles)]
        scored = [item for item in scored if item[0] > 0]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [replace(a, score=round(s, 4)) for s, _, a in scored[:k]]


@lru_cache(maxsize=1)
def default_index() -> BM25Index:
    return BM25Index(load_articles())


def retrieve(query: str, k: int = 4) -> list[Article]:
    """Top-``k`` articles for ``query``, best first; articles sharing no term with the query are left out."""
    return default_index().search(query, k)
