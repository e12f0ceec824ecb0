"""Train two models on sklearn's bundled data: models/iris (classifier), models/diabetes (regressor)."""
from pathlib import Path

import joblib
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge

ROOT = Path(__file__).resolve().parent / "models"

if __name__ == "__main__":
    for name, load, model in (("iris", load_iris, LogisticRegression(max_iter=1000, random_state=0)),
                              ("diabetes", load_diabetes, Ridge(alpha=0.1))):
        x, y = load(return_X_y=True)
        model.fit(x, y)
        (ROOT / name).mkdir(parents=True, exist_ok=True)
        joblib.dump(model, ROOT / name / "model.joblib")
        print(f"wrote {ROOT / name / 'model.joblib'} (training score {model.score(x, y):.3f})")
