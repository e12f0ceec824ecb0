"""Train the two A/B variants on sklearn's bundled iris data: model/logreg.joblib and model/tree.joblib."""
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

ROOT = Path(__file__).resolve().parent / "model"

if __name__ == "__main__":
    x, y = load_iris(return_X_y=True)
    ROOT.mkdir(exist_ok=True)
    for name, model in (("logreg", LogisticRegression(max_iter=1000, random_state=0)),
                        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0))):
        joblib.dump(model.fit(x, y), ROOT / f"{name}.joblib")
        print(f"wrote {ROOT / name}.joblib (training accuracy {model.score(x, y):.3f})")
