#!/usr/bin/env bash
# Coverage-guided fuzzing of the readers under AFL++ (docs/fuzzing.md).
#   tools/fuzz.sh [execs-per-target] [target...]      default: 1000000 executions of safetensors pickle zip onnx pytorch
# Needs: afl++ (apt-get install afl++) and the SharpFuzz instrumenter (dotnet tool install -g SharpFuzz.CommandLine
# --version 2.3.0). Runs niced (the machine may be shared). Output in $FUZZ_OUT (default /tmp/weightspace-fuzz):
# one AFL++ folder per target (all targets run at once), then a summary line per target and a replay of every saved crash and hang against the
# uninstrumented build, which prints the escaping exception and its stack.
set -euo pipefail
cd "$(dirname "$0")/.."
execs="${1:-1000000}"; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(safetensors pickle zip onnx pytorch)
out="${FUZZ_OUT:-/tmp/weightspace-fuzz}"
bin="$out/bin"
export PATH="$PATH:$HOME/.dotnet/tools"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# dotnet itself is not AFL-instrumented (SharpFuzz instruments the IL), so AFL's binary and crash-handler checks are off.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++"; exit 1; }
command -v sharpfuzz >/dev/null || { echo "sharpfuzz not found: dotnet tool install -g SharpFuzz.CommandLine --version 2.3.0"; exit 1; }

mkdir -p "$out"
rm -rf "$bin"
nice -n 15 dotnet publish tools/WeightSpace.Fuzz -c Release -o "$bin" 2>&1 | tail -1
plain="tools/WeightSpace.Fuzz/bin/Release/net10.0/WeightSpace.Fuzz.dll"   # the same build, not instrumented: for replays
sharpfuzz "$bin/WeightSpace.Core.dll"
sharpfuzz "$bin/WeightSpace.Formats.dll"

# The targets run at the same time (one afl-fuzz each), then each is summarised and its findings replayed.
pids=()
for t in "${targets[@]}"; do
  seeds="tools/WeightSpace.Fuzz/corpus/$t"
  if [ "$t" = any ]; then   # format detection: every reader's seeds together
    seeds="$out/any-seeds"; rm -rf "$seeds"; mkdir -p "$seeds"
    for d in tools/WeightSpace.Fuzz/corpus/*/; do for f in "$d"*; do cp "$f" "$seeds/$(basename "$d")-$(basename "$f")"; done; done
  fi
  [ -d "$seeds" ] || { echo "$t: no seed folder $seeds"; exit 1; }
  rm -rf "${out:?}/$t"
  nice -n 15 afl-fuzz -i "$seeds" -o "$out/$t" -t 5000 -m none -E "$execs" \
    -- dotnet "$bin/WeightSpace.Fuzz.dll" "$t" --afl > "$out/$t.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

status=0
for t in "${targets[@]}"; do
  stats="$out/$t/default/fuzzer_stats"
  [ -f "$stats" ] || { echo "$t: afl-fuzz did not start, see $out/$t.log"; status=1; continue; }
  get() { awk -F': *' -v k="$1" '$1 ~ "^"k" *$" {print $2}' "$stats"; }
  echo "$t: $(get execs_done) executions in $(get run_time) s ($(get execs_per_sec)/s at the end), corpus $(get corpus_count), edges $(get edges_found), crashes $(get saved_crashes), hangs $(get saved_hangs)"
  found=$(find "$out/$t/default/crashes" "$out/$t/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
  if [ "$found" -gt 0 ]; then
    status=1
    dotnet "$plain" "$t" --replay "$out/$t/default/crashes" "$out/$t/default/hangs" || true
  fi
done
exit $status
