#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of EmbeddedVectors: SharpFuzz instruments the library, afl-fuzz (AFL++)
# drives `ev-fuzz afl` (tools/EmbeddedVectors.Fuzz/AflHarness.cs), one reader at a time. docs/reliability.md has
# the recorded run and what an input may do.
#
#   tools/fuzz/afl.sh [--seconds N] [--timeout MS] [--readers "0 5 13"] [--out DIR] [--data DIR]
#
#   --seconds   afl-fuzz time per reader (-V), default 180
#   --timeout   per-input limit in ms (-t), default 10000 (the mutation loop's hang limit)
#   --readers   reader indices (see OUT/seeds/readers.tsv), default all
#   --out       work directory, default /tmp/ev-afl (replaced); afl-fuzz's findings are in OUT/findings/NN
#   --data      the debian-minilm-384 data set, default: found above the binaries (shared/data)
#
# Prints a table per reader (execs, corpus, edges, stability, crashes, hangs) and writes it to OUT/summary.md;
# every crash and hang is replayed with `ev-fuzz afl-replay` (and crashes minimised with afl-tmin, 3 min each at most) into
# OUT/findings/NN/replays.txt. Exits 1 if any reader has a crash or a hang.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=180 timeout=10000 readers="" out=/tmp/ev-afl data=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --readers) readers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done

# The tools: afl-fuzz from AFL++, sharpfuzz from SharpFuzz.CommandLine (a .NET global tool, often not on PATH).
if ! command -v afl-fuzz >/dev/null; then
  echo "afl-fuzz is not installed. Install AFL++: apt-get install -y afl++ (Debian/Ubuntu; 4.04c was used)" >&2
  exit 2
fi
sharpfuzz=$(command -v sharpfuzz || true)
[ -z "$sharpfuzz" ] && [ -x "$HOME/.dotnet/tools/sharpfuzz" ] && sharpfuzz=$HOME/.dotnet/tools/sharpfuzz
if [ -z "$sharpfuzz" ]; then
  echo "sharpfuzz is not installed. Install it: dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0" >&2
  exit 2
fi

rm -rf "$out"
mkdir -p "$out/findings"
bin=$out/bin
echo "== publishing ev-fuzz to $bin"
dotnet publish tools/EmbeddedVectors.Fuzz -c Release -o "$bin" --nologo -v quiet >"$out/publish.log" 2>&1 || { cat "$out/publish.log"; exit 1; }
# Instrument the code under test, not the harness: the library (every reader) and the CLI (the JSONL payload check
# of `ev add`), in a copy: instrumented code runs only inside SharpFuzz's Fuzzer.Run, so the seed corpus and the
# replays use the plain build.
echo "== instrumenting EmbeddedVectors.dll and ev.dll with $sharpfuzz"
cp -r "$bin" "$out/bin-afl"
"$sharpfuzz" "$out/bin-afl/EmbeddedVectors.dll" >/dev/null
"$sharpfuzz" "$out/bin-afl/ev.dll" >/dev/null

fuzz=(dotnet "$bin/ev-fuzz.dll")
echo "== seed corpus"
"${fuzz[@]}" seed --corpus "$out/corpus" ${data:+--data "$data"}
"${fuzz[@]}" afl-seeds --corpus "$out/corpus" --out "$out/seeds"
[ -z "$readers" ] && readers=$(cut -f1 "$out/seeds/readers.tsv" | tr '\n' ' ')

work_parent=/tmp
[ -d /dev/shm ] && work_parent=/dev/shm
export AFL_SKIP_BIN_CHECK=1            # the target is `dotnet`; the instrumentation is inside the .NET assemblies
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_FAST_CAL=1                  # fewer calibration runs: a store-level input takes tens of milliseconds
export AFL_TMPDIR=$work_parent/ev-afl-tmp-$$   # afl-fuzz's current input, on a tmpfs when there is one
mkdir -p "$AFL_TMPDIR"
trap 'rm -rf "$AFL_TMPDIR" "$work_parent"/ev-afl-work-$$-*' EXIT

stat() { sed -nE "s/^$1 +: (.*)$/\1/p" "$2" | head -1; }
summary=$out/summary.md
{
  echo "afl-fuzz $(afl-fuzz -h 2>&1 | grep -oE '\+\+[0-9.a-z]+' | head -1), SharpFuzz $(sed -nE 's/.*"SharpFuzz" Version="([^"]+)".*/\1/p' Directory.Packages.props)" \
    "(sharpfuzz $(dotnet tool list --global 2>/dev/null | awk '$1 == "sharpfuzz.commandline" { print $2 }')), ${seconds} s a reader, -t ${timeout}"
  echo
  echo "| reader | execs | execs/s | corpus (paths) | edges | bitmap coverage | stability | crashes | hangs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$summary"

problems=0
for r in $readers; do
  nn=$(printf '%02d' "$r")
  name=$(awk -F'\t' -v r="$r" '$1 == r { print $2 }' "$out/seeds/readers.tsv")
  findings=$out/findings/$nn
  work=$work_parent/ev-afl-work-$$-$nn
  target=(dotnet "$out/bin-afl/ev-fuzz.dll" afl --corpus "$out/corpus" --reader "$r" --work "$work")
  echo "== reader $r ($name): afl-fuzz for $seconds s"
  mkdir -p "$work"
  nice -n 10 afl-fuzz -i "$out/seeds/$nn" -o "$findings" -t "$timeout" -m none -V "$seconds" -- "${target[@]}" \
    >"$findings.log" 2>&1 || { echo "afl-fuzz failed for reader $r; the end of its log:"; tail -30 "$findings.log"; }
  # A timed-out or crashed child leaves its work copy behind: SharpFuzz restarts the child in a new one.
  rm -rf "$work"
  stats=$findings/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "| $name | no fuzzer_stats (see $findings.log) | | | | | | | |" >>"$summary"
    problems=$((problems + 1))
    continue
  fi
  crashes=$(stat saved_crashes "$stats"); hangs=$(stat saved_hangs "$stats")
  echo "| $name | $(stat execs_done "$stats") | $(stat execs_per_sec "$stats") | $(stat corpus_count "$stats") | $(stat edges_found "$stats") | $(stat bitmap_cvg "$stats") | $(stat stability "$stats") | $crashes | $hangs |" >>"$summary"
  # Replay every crash and hang through the same outcome rules, and minimise each crash.
  for input in "$findings"/default/crashes/id:* "$findings"/default/hangs/id:*; do
    [ -f "$input" ] || continue
    problems=$((problems + 1))
    case "$input" in
      */crashes/*)
        mkdir -p "$work"
        timeout 180 nice -n 10 afl-tmin -i "$input" -o "$input.min" -t "$timeout" -m none -- "${target[@]}" >>"$findings.tmin.log" 2>&1 || true
        rm -rf "$work" ;;
    esac
    replayed=$input; [ -f "$input.min" ] && replayed=$input.min
    { echo "== $replayed"; timeout 120 "${fuzz[@]}" afl-replay --corpus "$out/corpus" --reader "$r" --input "$replayed" 2>&1 || true; } >>"$findings/replays.txt"
  done
done
echo
cat "$summary"
[ "$problems" -eq 0 ] || { echo "$problems crash/hang inputs or failed runs: see $out/findings/*/replays.txt and *.log"; exit 1; }
