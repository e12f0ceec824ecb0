"""Train the iris classifier on sklearn's bundled data set; writes model/iris.joblib and reference.csv
(the training rows and their species: the reference that kserve.monitoring.drift compares traffic to)."""
import csv
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
OUT = HERE / "model" / "iris.joblib"
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")

if __name__ == "__main__":
    iris = load_iris()
    x, y = iris.data, iris.target
    model = LogisticRegression(max_iter=1000, random_state=0).fit(x, y)
    OUT.parent.mkdir(exist_ok=True)
    joblib.dump(model, OUT)
    with (HERE / "reference.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*FEATURES, "prediction"])
        for row, label in zip(x, y, strict=True):
            writer.writerow([*(round(float(v), 1) for v in row), iris.target_names[label]])
    print(f"wrote {OUT} (training accuracy {model.score(x, y):.3f}) and reference.csv ({len(x)} rows)")
