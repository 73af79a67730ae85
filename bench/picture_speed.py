"""Side-by-side picture embedding speed: emb vs sentence-transformers and torchvision (PyTorch) on the same
pictures, in one run.

    python3 bench/picture_speed.py [--pictures 256] [--rounds 2] [MODEL_FOLDER ...]

Both sides start from JPEG files on disk and include decoding and preprocessing: emb runs
`emb embed-multi --files DIR '*.jpg' --binary` into a fresh database (so writing is included
too), sentence-transformers opens each file with Pillow and calls `model.encode(pictures)`.
Each side runs `--rounds` times, alternating, and keeps its best time. The pictures are
640x480 JPEGs drawn from seeded noise and shapes (made once under the bench cache).

Models: the tiny CLIP of tests/fixtures; a CLIP of ViT-B/32's exact shape (transformers'
CLIPConfig defaults: 12 layers of 768 for the vision tower, 32x32 patches, 512-d projection)
with random weights, made once under the bench cache, which costs what the real
clip-ViT-B-32 costs (speed does not depend on the weights' values); and any real CLIP folders
given or named by EMB_CLIP_MODEL (get one on a machine with internet with
`emb models pull openai/clip-vit-base-patch32`); and torchvision's ResNet-18 and ResNet-50 with
random weights (made once under the bench cache), against torchvision's own forward pass with its
ImageNet transforms (Resize(256), CenterCrop(224), ToTensor, Normalize).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from side_by_side import CACHE, ROOT, machine, peers_python  # noqa: E402

PEER = r'''
import json, pathlib, sys, time
import torch
from PIL import Image
from sentence_transformers import SentenceTransformer, models
folder, pictures = sys.argv[1], sorted(pathlib.Path(sys.argv[2]).glob("*.jpg"))
if (pathlib.Path(folder) / "modules.json").exists():
    model = SentenceTransformer(folder, device="cpu")
else:
    model = SentenceTransformer(modules=[models.CLIPModel(folder)], device="cpu")
model.encode([Image.open(pictures[0]).convert("RGB")])  # warm up
started = time.perf_counter()
images = [Image.open(path).convert("RGB") for path in pictures]
vectors = model.encode(images, batch_size=32)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "pictures": len(pictures), "threads": torch.get_num_threads(),
                  "torch": torch.__version__}))
'''

PEER_RESNET = r'''
import json, pathlib, sys, time
import torch, torchvision
from PIL import Image
from safetensors.torch import load_file
from torchvision import transforms
folder, pictures = pathlib.Path(sys.argv[1]), sorted(pathlib.Path(sys.argv[2]).glob("*.jpg"))
architecture = json.loads((folder / "config.json").read_text())["architecture"]
model = getattr(torchvision.models, architecture)()
model.load_state_dict(load_file(folder / "model.safetensors"), strict=False)
model.fc = torch.nn.Identity()
model.eval()
prepare = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                              transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
def embed(paths):
    with torch.inference_mode():
        batches = [torch.stack([prepare(Image.open(path).convert("RGB")) for path in paths[start:start + 32]])
                   for start in range(0, len(paths), 32)]
        return torch.cat([model(batch) for batch in batches])
embed(pictures[:2])  # warm up
started = time.perf_counter()
vectors = embed(pictures)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "pictures": len(pictures), "threads": torch.get_num_threads(),
                  "torch": torch.__version__}))
'''


def make_pictures(count):
    folder = CACHE / f"pictures-{count}"
    if len(list(folder.glob("*.jpg"))) == count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    script = f'''
import numpy as np
from PIL import Image, ImageDraw
rng = np.random.default_rng(0)
for index in range({count}):
    pixels = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8) // 4 + 96
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = int(rng.integers(0, 640)), int(rng.integers(0, 480))
        size = int(rng.integers(20, 200))
        draw.ellipse([x, y, x + size, y + size], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    image.save("{folder}/picture-%04d.jpg" % index, quality=88)
'''
    subprocess.run([peers_python(), "-c", script], check=True)
    return folder


def full_size_model(python):
    folder = CACHE / "clip-vit-b32-shape-random"
    if (folder / "model.safetensors").exists():
        return folder
    script = f'''
import shutil, torch
from transformers import CLIPConfig, CLIPModel, CLIPImageProcessor, CLIPProcessor, CLIPTokenizerFast
torch.manual_seed(0)
tiny = "{ROOT}/tests/fixtures/tiny/clip-h32"
tokenizer = CLIPTokenizerFast.from_pretrained(tiny)
config = CLIPConfig(text_config=dict(vocab_size=len(tokenizer), eos_token_id=2))
CLIPModel(config).save_pretrained("{folder}", safe_serialization=True)
CLIPProcessor(image_processor=CLIPImageProcessor.from_pretrained(tiny), tokenizer=tokenizer).save_pretrained("{folder}")
'''
    subprocess.run([python, "-c", script], check=True)
    return folder


def resnet(python, architecture):
    """torchvision's ResNet of that architecture with random weights, as a timm-layout folder
    (model.safetensors with torchvision's names + config.json), made once."""
    folder = CACHE / f"{architecture}-random"
    if (folder / "model.safetensors").exists():
        return folder
    script = f'''
import json, pathlib, torch, torchvision
from safetensors.torch import save_file
torch.manual_seed(0)
model = torchvision.models.{architecture}()
folder = pathlib.Path("{folder}")
folder.mkdir(parents=True, exist_ok=True)
save_file({{k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}},
          str(folder / "model.safetensors"))
(folder / "config.json").write_text(json.dumps({{"architecture": "{architecture}", "num_classes": 1000}}))
'''
    subprocess.run([python, "-c", script], check=True)
    return folder


def is_resnet(model):
    config = model / "config.json"
    return config.exists() and json.loads(config.read_text()).get("architecture", "").startswith("resnet")


def run_emb(model, pictures):
    with tempfile.TemporaryDirectory() as scratch:
        command = [str(ROOT / "target/release/emb"), "embed-multi", "bench", "--binary", "--files",
                   str(pictures), "*.jpg", "-m", str(model), "-d", f"{scratch}/bench.db"]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, "EMB_OFFLINE": "1"})
        return time.perf_counter() - started


def run_peer(python, model, pictures):
    peer = PEER_RESNET if is_resnet(model) else PEER
    result = subprocess.run([python, "-c", peer, str(model), str(pictures)], check=True,
                            capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*")
    parser.add_argument("--pictures", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    python = peers_python()
    models = [ROOT / "tests/fixtures/tiny/clip-h32-st", full_size_model(python),
              resnet(python, "resnet18"), resnet(python, "resnet50")]
    models += [pathlib.Path(m) for m in arguments.models]
    if os.environ.get("EMB_CLIP_MODEL"):
        models.append(pathlib.Path(os.environ["EMB_CLIP_MODEL"]))
    pictures = make_pictures(arguments.pictures)
    print(machine())
    print(f"{arguments.pictures} JPEG pictures of 640x480, decoded, preprocessed and embedded; best of "
          f"{arguments.rounds}")
    print(f"{'model':40} {'emb pictures/s':>15} {'PyTorch pictures/s':>19} {'ratio':>6}")
    for model in models:
        emb_best, peer_best = None, None
        for _ in range(arguments.rounds):
            seconds = run_emb(model, pictures)
            emb_best = seconds if emb_best is None else min(emb_best, seconds)
            peer = run_peer(python, model, pictures)
            peer_best = peer if peer_best is None or peer["seconds"] < peer_best["seconds"] else peer_best
        emb_rate = arguments.pictures / emb_best
        peer_rate = arguments.pictures / peer_best["seconds"]
        name = {"clip-h32-st": "tiny CLIP (tests/fixtures)",
                "clip-vit-b32-shape-random": "ViT-B/32 shape, random weights",
                "resnet18-random": "ResNet-18, random weights",
                "resnet50-random": "ResNet-50, random weights"}.get(model.name, model.name)
        print(f"{name:40} {emb_rate:15.1f} {peer_rate:19.1f} {emb_rate / peer_rate:5.2f}x")
    print(f"(PyTorch {peer_best['torch']} on {peer_best['threads']} threads, batches of 32: "
          "sentence-transformers for CLIP, torchvision for ResNet)")


if __name__ == "__main__":
    main()
