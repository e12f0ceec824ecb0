"""Generate a ratings matrix with genre taste, factorise it; writes model/factors.npz.

300 users x 80 movies in 4 genres, about 15% of cells rated 1-5. Each user loves
one genre; the factorisation has to discover that from the ratings alone.
"""
from pathlib import Path

import numpy as np
from sklearn.decomposition import TruncatedSVD

OUT = Path(__file__).resolve().parent / "model" / "factors.npz"
GENRES = ("comedy", "drama", "horror", "sci-fi")
WORDS = ("Midnight", "Lost", "Silver", "Last", "Hidden", "Broken", "Golden", "Distant", "Quiet", "Wild")
NOUNS = ("Harbor", "Signal", "Garden", "Machine", "Summer", "Circus", "Planet", "Witness")
USERS, MOVIES, RANK = 300, 80, 6


def ratings_matrix(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    genres = np.arange(MOVIES) % len(GENRES)
    favourite = rng.integers(len(GENRES), size=USERS)
    taste = np.where(genres[None, :] == favourite[:, None], 4.5, 2.0) + rng.normal(0, 0.6, (USERS, MOVIES))
    seen = rng.random((USERS, MOVIES)) < 0.15
    return np.where(seen, np.clip(np.rint(taste), 1, 5), 0.0), genres


if __name__ == "__main__":
    rng = np.random.default_rng(7)
    ratings, genres = ratings_matrix(rng)
    rated = ratings > 0
    means = np.array([row[mask].mean() if mask.any() else 3.0 for row, mask in zip(ratings, rated, strict=False)])
    centred = np.where(rated, ratings - means[:, None], 0.0)
    svd = TruncatedSVD(n_components=RANK, random_state=0).fit(centred)
    titles = [f"{WORDS[i % len(WORDS)]} {NOUNS[(i // len(WORDS)) % len(NOUNS)]}" for i in range(MOVIES)]
    OUT.parent.mkdir(exist_ok=True)
    np.savez(OUT, user_factors=svd.transform(centred), item_factors=svd.components_.T, user_means=means,
             ratings=ratings, titles=np.array(titles), genres=np.array([GENRES[g] for g in genres]))
    print(f"wrote {OUT} ({USERS} users, {MOVIES} movies, {int(rated.sum())} ratings, rank {RANK})")
