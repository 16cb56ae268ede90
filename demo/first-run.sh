#!/usr/bin/env bash
# prgcloud's main job, on a fresh machine, with no Google Cloud account: a local Vertex AI
# emulator stands in for Google. prgcloud creates a persistent resource with two pools (through
# the real gcloud) and waits until it is RUNNING; then it submits a job that fits, refuses one
# that does not (and says why), shows the capacity, waits for room for a third job and then
# for that job to end. Everything lives in a temporary directory that is removed at the end,
# with the emulator stopped. About a minute.
#
#   bash demo/first-run.sh
#
# Needs: python3 (3.10+) and the Google Cloud CLI (`gcloud`) on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

# --- how the tutorial shows itself -----------------------------------------------------------

if [[ -t 1 ]]; then bold=$'\033[1m' cyan=$'\033[36m' plain=$'\033[0m'; else bold='' cyan='' plain=''; fi
step_number=0
step() { # a heading
    step_number=$((step_number + 1))
    printf '\n%s==> Step %d: %s%s\n' "$bold" "$step_number" "$*" "$plain"
}

say_command() { # a command line, as it is typed
    printf '%s$ %s%s\n' "$cyan" "$1" "$plain"
}

show() { # a command as you would type it; long ones one flag per line
    local word line="" quoted all="$*"
    for word in "$@"; do
        if [[ $word =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
            quoted=$word
        else
            quoted="'${word//\'/\'\\\'\'}'"
        fi
        if [[ -n $line && $word == --* && ${#all} -gt 100 ]]; then
            line+=$' \\\n      '"$quoted"
        else
            line+="${line:+ }$quoted"
        fi
    done
    say_command "$line"
}

run() { # show a command, then run it
    show "$@"
    "$@"
}

# --- the steps --------------------------------------------------------------------------------

step "Install prgcloud into .venv (skipped when it is already there)"
if [[ ! -x .venv/bin/prgcloud ]]; then
    run python3 -m venv .venv
    run .venv/bin/python -m pip install --quiet -e .
else
    echo "$repo/.venv/bin/prgcloud is installed."
fi
export PATH="$repo/.venv/bin:$PATH"
if ! command -v gcloud >/dev/null; then
    echo "This demo runs the real gcloud: install the Google Cloud CLI first" \
        "(https://cloud.google.com/sdk/docs/install)." >&2
    exit 127
fi

step "Start the Vertex AI emulator on a free port, with a throw-away gcloud configuration"
work=$(mktemp -d "${TMPDIR:-/tmp}/prgcloud-first-run.XXXXXX")
emulator_pid=
stop_emulator() { # never fails: after a hangup even `echo` does (the terminal is gone)
    trap '' INT TERM HUP # a second Ctrl-C or hangup must not cut the clean-up short
    if [[ -n $emulator_pid ]]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    if [[ -n $emulator_pid ]]; then echo "(emulator stopped)" 2>/dev/null || true; fi
}
trap stop_emulator EXIT
# Ctrl-C, a kill, a closed terminal: stop the emulator and remove everything all the same.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Nothing of yours is used or changed: no account, no project, no configuration of your own.
for variable in $(compgen -e); do
    [[ $variable == CLOUDSDK_* ]] && unset "$variable"
done
export CLOUDSDK_CONFIG="$work/gcloud-config"
export CLOUDSDK_CORE_DISABLE_PROMPTS=1
export CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=1
export CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1
export NO_GCE_CHECK=True GCE_METADATA_HOST=127.0.0.1:9 # no metadata server to ask
echo "CLOUDSDK_CONFIG=$CLOUDSDK_CONFIG"

# The emulator keeps its access-token file in the cache directory: here, the temporary one.
show prgcloud emulator start --port 0 --provision-seconds 3 "&"
XDG_CACHE_HOME="$work/cache" prgcloud emulator start --port 0 --provision-seconds 3 \
    >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for ((i = 0; i < 100; i++)); do
    grep -q '^Press Ctrl-C' "$work/emulator.log" 2>/dev/null && break
    kill -0 "$emulator_pid" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q '^export ' "$work/emulator.log"; then
    echo "The emulator did not start:" >&2
    cat "$work/emulator.log" >&2
    exit 1
fi
grep -v '^Press Ctrl-C' "$work/emulator.log"
# Its `export` lines point gcloud (and prgcloud, which reads the same settings) at it.
eval "$(grep '^export ' "$work/emulator.log")"

run gcloud config set project demo-project
run gcloud config set ai/region us-central1

step "Create a persistent resource with two pools (checked, then the real gcloud), and wait"
resource=demo-cluster
gpu=machine-type=a2-highgpu-1g,accelerator-type=NVIDIA_TESLA_A100,accelerator-count=1
echo "Provisioning takes a few seconds; --wait returns once the resource is RUNNING:"
run prgcloud ai persistent-resources create --persistent-resource-id="$resource" \
    --display-name="Demo cluster" \
    --resource-pool-spec=replica-count=1,machine-type=n1-standard-4,disk-type=pd-ssd,disk-size=100 \
    --resource-pool-spec="replica-count=2,$gpu,disk-type=pd-ssd,disk-size=200" \
    --wait=2m --polling-interval=1s

step "See what it offers: state, and per pool machine, disk, ceiling, used and free replicas"
run prgcloud ai persistent-resources capacity "$resource"

# A job's worker pool, in gcloud's own --worker-pool-spec syntax. prgcloud also takes the
# boot disk (disk-type, disk-size) that the pool's disk must match; gcloud cannot say it.
image=container-image-uri=us-docker.pkg.dev/demo-project/trainers/llm:1
gpu_worker="replica-count=1,$gpu,$image,disk-type=pd-ssd,disk-size=200"
# The emulator runs each job for as long as this label says.
short=--labels=emulator-duration-seconds=20

step "Submit a job that fits: two workers on the GPU pool (pre-checked, then the real gcloud)"
run prgcloud ai custom-jobs create --display-name=train-llm \
    --persistent-resource-id="$resource" "$short" \
    --worker-pool-spec="$gpu_worker" --worker-pool-spec="$gpu_worker"

step "Submit a job that does not fit: its disk is pd-standard, the GPU pool's is pd-ssd"
status=0
run prgcloud ai custom-jobs create --display-name=eval-llm \
    --persistent-resource-id="$resource" "$short" \
    --worker-pool-spec="${gpu_worker/pd-ssd/pd-standard}" || status=$?
echo "exit status $status (3: the job does not fit; nothing was sent to Vertex AI)"
[[ $status == 3 ]] || { echo "expected exit status 3" >&2; exit 1; }

step "The same check for existing runbooks: the gcloud shim first on PATH"
say_command 'export PATH="$(prgcloud shim-path):$PATH"'
PATH="$(prgcloud shim-path):$PATH"
status=0
run gcloud ai custom-jobs create --display-name=eval-llm \
    --persistent-resource-id="$resource" "$short" \
    --worker-pool-spec="${gpu_worker/pd-ssd/pd-standard}" || status=$?
echo "exit status $status (the shim ran prgcloud for \`gcloud ai custom-jobs create\`)"
[[ $status == 3 ]] || { echo "expected exit status 3" >&2; exit 1; }

step "The GPU pool is now busy: both of its replicas run train-llm"
run prgcloud ai persistent-resources capacity "$resource"

step "Submit a third job that waits for capacity (train-llm ends in ~20 s), then for its own end"
SECONDS=0
run prgcloud ai custom-jobs create --display-name=finetune-llm \
    --persistent-resource-id="$resource" --labels=emulator-duration-seconds=5 \
    --worker-pool-spec="$gpu_worker" --wait-for-capacity=2m --wait=2m
echo "(prgcloud waited, then submitted it, then waited for it to end: ${SECONDS} s in all;" \
    "exit 0: it succeeded, 6 had it failed, 7 had it been cancelled)"

step "The jobs, as Vertex AI (the emulator) sees them: eval-llm was never sent"
run gcloud ai custom-jobs list --format='table(displayName,state)' --sort-by=createTime

printf '\n%sFirst run complete.%s The emulator stops now; %s is removed.\n' "$bold" "$plain" "$work"
