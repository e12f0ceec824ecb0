"""Train the iris classifier on sklearn's bundled data set; writes model/iris.joblib."""
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

OUT = Path(__file__).resolve().parent / "model" / "iris.joblib"

if __name__ == "__main__":
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000, random_state=0).fit(x, y)
    OUT.parent.mkdir(exist_ok=True)
    joblib.dump(model, OUT)
    print(f"wrote {OUT} (training accuracy {model.score(x, y):.3f})")
