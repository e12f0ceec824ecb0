"""Train on sklearn's bundled wine data, export to ONNX with skl2onnx; writes model/wine.onnx."""
from pathlib import Path

from skl2onnx import to_onnx
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = Path(__file__).resolve().parent / "model" / "wine.onnx"

if __name__ == "__main__":
    x, y = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0)).fit(x, y)
    onnx_model = to_onnx(model, x[:1].astype("float32"), options={"zipmap": False}, target_opset=17)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(onnx_model.SerializeToString())
    print(f"wrote {OUT} (training accuracy {model.score(x, y):.3f})")
