"""Train a sentiment classifier on generated reviews; writes model/sentiment.joblib.

Reviews are built from templates and word lists with a fixed seed, so the model
is the same on every run and needs no download.
"""
import random
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

OUT = Path(__file__).resolve().parent / "model" / "sentiment.joblib"
WORDS = {
    "positive": ["great", "wonderful", "loved", "brilliant", "excellent", "delightful", "superb", "enjoyed"],
    "negative": ["terrible", "awful", "hated", "boring", "dreadful", "disappointing", "poor", "waste"],
}
TEMPLATES = ["the film was {}", "{} acting and a {} story", "i {} every minute", "what a {} ending",
             "honestly {} from start to finish", "the soundtrack was {} and the cast {}"]
THINGS = ["movie", "plot", "service", "meal", "book", "show"]


def reviews(rng: random.Random, n: int) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(sorted(WORDS))
        template = rng.choice(TEMPLATES)
        words = [rng.choice(WORDS[label]) for _ in range(template.count("{}"))]
        texts.append(f"{template.format(*words)} {rng.choice(THINGS)}")
        labels.append(label)
    return texts, labels


if __name__ == "__main__":
    texts, labels = reviews(random.Random(0), 600)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    model.fit(texts, labels)
    OUT.parent.mkdir(exist_ok=True)
    joblib.dump(model, OUT)
    print(f"wrote {OUT} (training accuracy {model.score(texts, labels):.3f})")
