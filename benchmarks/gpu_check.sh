#!/usr/bin/env bash
# One-command GPU check of notebook 05's engine (labutils/cifar_gpu.py + the notebook's reference
# solution), for a session that has a GPU. Prepared without one: NOTHING here has run on a GPU yet.
#
#   device run:  bash benchmarks/gpu_check.sh            (timeout_s 600; the script stops itself at
#                                                          GPU_CHECK_BUDGET=540 s and skips what is left)
#   cpu dry run: GPU_CHECK_N=1000 GPU_CHECK_EPOCHS=2 GPU_CHECK_ARGS="--amp --fused --threads 2" \
#                bash benchmarks/gpu_check.sh
#
# Steps, each in its own process with its own time limit (a failure or timeout does not stop the rest):
#   env           nvidia-smi, torch / CUDA versions
#   sync_rgb      host syncs of train_one_epoch for MLP and CNN: counted, and the loop run under
#                 torch.cuda.set_sync_debug_mode("error") (one warm-up epoch first)
#   rgb_eager     MLP + CNN, RGB, bf16 autocast, channels_last, fused SGD: steady epoch time, images/s
#   gray_eager    the same on grayscale input
#   rgb_compile   the same with torch.compile (+ the sync check of the compiled models)
#   gray_compile  grayscale, compiled
#   summary       the projected time of the notebook's four full runs (MLP/CNN x RGB/gray, 100 epochs,
#                 45,000 training + 5,000 validation images per epoch, 10,000 test images), eager and
#                 compiled, from the measured steady per-image times plus each run's first-epoch cost
#
# Data: generated CIFAR-shaped images (--synthetic 50000: 45,000 training, 5,000 validation, 10,000
# test), since only a 2,000-image subset of CIFAR-10 exists offline: the times are real, the accuracies
# are not CIFAR-10 accuracies. No network is needed.
# Output: one JSON line per step on stdout and in $OUT/gpu_check.jsonl; each step's full output in
# $OUT/gpu_check.log ($OUT defaults to /tmp/gpu_check).
set -u
cd "$(dirname "$0")/.." || exit 1

if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; then PY=.venv/bin/python
else PY=python3; fi
OUT=${OUT:-/tmp/gpu_check}
N=${GPU_CHECK_N:-50000}
EPOCHS=${GPU_CHECK_EPOCHS:-4}
BUDGET=${GPU_CHECK_BUDGET:-540}
read -r -a EXTRA <<< "${GPU_CHECK_ARGS:-}"
mkdir -p "$OUT"
JSONL=$OUT/gpu_check.jsonl
LOG=$OUT/gpu_check.log
: > "$JSONL"
: > "$LOG"
export PYTHONUNBUFFERED=1
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/mlplab_inductor}
CACHE=/tmp/mlplab_synthetic
T0=$(date +%s)

# step NAME LIMIT_S ARGS...: run bench_gpu.py with ARGS under a time limit, then print its JSON line
step() {
  local name=$1 limit=$2
  shift 2
  local left=$(( BUDGET - ($(date +%s) - T0) - 10 ))
  if [ "$left" -lt 30 ]; then
    echo "{\"step\": \"$name\", \"skipped\": \"time budget used up\"}" | tee -a "$JSONL"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "===== $name (limit ${limit}s): bench_gpu.py $* ${EXTRA[*]}" >> "$LOG"
  local t=$(date +%s.%N)
  timeout -k 10 "$limit" "$PY" benchmarks/bench_gpu.py --synthetic "$N" --synthetic-cache "$CACHE" --json \
    "$@" "${EXTRA[@]}" >> "$LOG" 2>&1
  local rc=$?
  local wall
  wall=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  "$PY" - "$name" "$rc" "$wall" "$LOG" <<'EOF' | tee -a "$JSONL"
import json, sys
name, rc, wall, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
text = open(log, errors="replace").read().rsplit("===== ", 1)[-1]
lines = text.splitlines()
report = next((json.loads(line) for line in reversed(lines) if line.startswith("{")), None)
row = {"step": name, "rc": rc, "timed_out": rc in (124, 137), "wall_s": wall}
if report is None:
    row["tail"] = lines[-15:]
else:
    row["device"], row["torch"] = report["device"], report["torch"]
    row["used"] = {k: report[k] for k in ("n_train", "n_val", "channels", "batch_size", "amp", "fused", "compile",
                                          "channels_last")}
    for model, res in report.get("sync_check", {}).items():
        row[f"sync_{model}"] = {k: res[k] for k in ("ok", "batches", "inside_loop", "outside_loop", "cuda_error")}
    for model, run in report["runs"].items():
        row[model] = {"first_epoch_s": round(run["first_epoch_s"], 2),
                      "steady_epoch_s": round(run["median_epoch_s"], 3),
                      "steady_val_s": round(run["median_val_s"], 3),
                      "images_per_s": round(run["images_per_s"]),
                      "peak_memory_mb": round(run["peak_memory_mb"]),
                      "projected_full_run_s": round(run["projected_full_run_s"], 1),
                      "train_loss": [round(v, 3) for v in run["train_loss"]]}
print(json.dumps(row))
EOF
}

{
  echo "===== env"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
  timeout 60 "$PY" -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, \
torch.cuda.is_available() and torch.cuda.get_device_name(0), torch.backends.cudnn.version())" 2>&1
  nproc
} >> "$LOG" 2>&1
"$PY" - "$LOG" <<'EOF' | tee -a "$JSONL"
import json, sys
env = open(sys.argv[1], errors="replace").read().split("===== env", 1)[-1].strip().splitlines()
print(json.dumps({"step": "env", "lines": env[-6:]}))
EOF

step sync_rgb 120 --model both --epochs 0 --check-sync
step rgb_eager 120 --model both --epochs "$EPOCHS"
step gray_eager 120 --model both --epochs "$EPOCHS" --gray
step rgb_compile 200 --model both --epochs 3 --compile --check-sync
step gray_compile 150 --model both --epochs 3 --compile --gray

"$PY" - "$JSONL" "$(( $(date +%s) - T0 ))" <<'EOF' | tee -a "$JSONL"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    row = json.loads(line)
    rows[row["step"]] = row
out = {"step": "summary", "script_wall_s": int(sys.argv[2]), "target_four_runs_s": 900}
syncs = [v for r in rows.values() for k, v in r.items() if k.startswith("sync_")]
out["sync_checks_passed"] = f"{sum(s['ok'] for s in syncs)}/{len(syncs)}"
for mode in ("eager", "compile"):
    parts, missing = {}, []
    for colour in ("rgb", "gray"):
        for model in ("mlp", "cnn"):
            run = rows.get(f"{colour}_{mode}", {}).get(model)
            if run is None:
                missing.append(f"{model}_{colour}")
            else:
                parts[f"{model}_{colour}"] = run["projected_full_run_s"]
    out[f"projected_four_runs_{mode}_s"] = round(sum(parts.values())) if not missing else None
    out[f"projected_runs_{mode}_s"] = parts
    if missing:
        out[f"missing_{mode}"] = missing
print(json.dumps(out))
EOF
