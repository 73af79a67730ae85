"""Turns the int8 ONNX export of a BERT cross-encoder into a Hugging Face folder emb reads.

    python scripts/onnx-cross-encoder.py SOURCE_FOLDER DESTINATION_FOLDER

SOURCE_FOLDER holds model.onnx (dynamically quantised: MatMulInteger over int8 weights,
DequantizeLinear over int8 embedding tables) and its tokenizer files. The weights are dequantised
((q - zero_point) * scale, float32), matrix products transposed to torch.nn.Linear's
[outputs, inputs], and written as model.safetensors with BertForSequenceClassification's tensor
names, beside a config.json whose shape is read from the graph. The result is the float model the
quantised one approximates; sentence-transformers' CrossEncoder loads it as it is.

Needs the `onnx`, `numpy` and `safetensors` packages (bench/setup-peers installs them).
"""

import json
import re
import shutil
import sys
from pathlib import Path

import numpy
import onnx
from onnx import numpy_helper
from safetensors.numpy import save_file


def main(source: Path, destination: Path) -> None:
    graph = onnx.load(str(source / "model.onnx")).graph
    initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}

    def dequantised(name: str) -> numpy.ndarray:
        quantised = initializers[f"{name}_quantized"].astype(numpy.float32)
        zero_point = initializers[f"{name}_zero_point"].astype(numpy.float32)
        return (quantised - zero_point) * initializers[f"{name}_scale"].astype(numpy.float32)

    tensors = {}
    for name, value in initializers.items():
        if value.dtype == numpy.float32 and name.startswith(("bert.", "classifier.")) and value.ndim:
            tensors[name] = value
        elif name.endswith(".weight_quantized") and "embeddings" in name:
            base = name[: -len("_quantized")]
            tensors[base] = dequantised(base)

    # A product's weight is named after the node that consumes it: its output names the layer.
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        weight = node.input[1][: -len("_quantized")]
        output = node.output[0]
        if output.startswith("logits"):
            layer = "classifier"
        else:
            match = re.match(r"/(.+)/(MatMul|Gemm)_output", output)
            if not match:
                raise SystemExit(f"cannot tell which layer {output} belongs to")
            layer = match.group(1).replace("/", ".")
        tensors[f"{layer}.weight"] = numpy.ascontiguousarray(dequantised(weight).T)

    layers = 1 + max(int(m.group(1)) for m in map(re.compile(r"bert\.encoder\.layer\.(\d+)\.").match, tensors) if m)
    heads = attention_heads(graph)
    vocabulary, hidden = tensors["bert.embeddings.word_embeddings.weight"].shape
    config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": int(hidden),
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": int(tensors["bert.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        "hidden_act": "gelu",
        "max_position_embeddings": int(tensors["bert.embeddings.position_embeddings.weight"].shape[0]),
        "type_vocab_size": int(tensors["bert.embeddings.token_type_embeddings.weight"].shape[0]),
        "vocab_size": int(vocabulary),
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "num_labels": int(tensors["classifier.weight"].shape[0]),
        "id2label": {"0": "LABEL_0"},
        "label2id": {"LABEL_0": 0},
        "sentence_transformers": {"activation_fn": "torch.nn.modules.linear.Identity"},
        "emb_converted_from": "int8 ONNX (dequantised by scripts/onnx-cross-encoder.py)",
    }
    partial = destination.with_name(destination.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file({name: numpy.ascontiguousarray(value) for name, value in sorted(tensors.items())},
              str(partial / "model.safetensors"), metadata={"format": "pt"})
    (partial / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for name in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]:
        if (source / name).exists():
            shutil.copy(source / name, partial / name)
    shutil.rmtree(destination, ignore_errors=True)
    partial.rename(destination)
    print(f"{destination}: {layers} layers, {heads} heads, hidden {hidden}, {len(tensors)} tensors")


def attention_heads(graph) -> int:
    """The head count: the constant the first attention layer reshapes its projections by."""
    for node in graph.node:
        if node.op_type == "Constant" and node.output[0].startswith("/bert/encoder/layer.0/attention/self/Constant"):
            value = numpy_helper.to_array(node.attribute[0].t)
            if value.shape == (1,) and 1 < int(value[0]) <= 64:
                return int(value[0])
    raise SystemExit("cannot find the number of attention heads in the graph")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
