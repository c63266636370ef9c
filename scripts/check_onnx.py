#!/usr/bin/env python3
"""Runs the ONNX models `cargo run --release --example onnx_fixtures -- DIR` wrote through
onnx.checker (full check, shape inference included) and onnxruntime, and compares every
output with burn's: relative L2 error below 1e-5, or the script exits 1.

    python3 -m venv /tmp/ortvenv && /tmp/ortvenv/bin/pip install onnx onnxruntime numpy
    /tmp/ortvenv/bin/python scripts/check_onnx.py DIR
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

LIMIT = 1e-5


def read(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def main(folder):
    folder = Path(folder)
    cases = json.loads((folder / "manifest.json").read_text())
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    print(f"{'model':<22} {'input':<20} {'output':<8} {'rel L2':>10}")
    worst = 0.0
    for case in cases:
        name = case["model"]
        path = folder / f"{name}.onnx"
        onnx.checker.check_model(onnx.load(path), full_check=True)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        x = read(folder / f"{name}.input.bin", case["input"])
        names = [o["name"] for o in case["outputs"]]
        got = session.run(names, {"input": x})
        for output, value in zip(case["outputs"], got):
            want = read(folder / f"{name}.{output['name']}.bin", output["shape"])
            assert value.shape == want.shape, (name, value.shape, want.shape)
            err = float(np.linalg.norm(value - want) / max(np.linalg.norm(want), 1e-30))
            worst = max(worst, err)
            shape = "x".join(map(str, case["input"]))
            print(f"{name:<22} {shape:<20} {output['name']:<8} {err:>10.2e}")
    print(f"{len(cases)} models, worst rel L2 {worst:.2e} (limit {LIMIT:.0e})")
    return 0 if worst < LIMIT else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "onnx-check"))
