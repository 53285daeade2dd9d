#!/usr/bin/env bash
# Profiles the `ours` bench peer on one workload against the running test bed (see
# bench/PROFILE.md). Usage:
#   KAFKA_PORT_OFFSET=N bench/profile.sh P1|P2|P3-lz4-1KiB|C1-100B|X1-100B [records] [out dir] [extra v8 flags]
# (OURS_COMPRESSION_WORKERS=0 profiles the P3-* workloads without the compression Worker.)
# Writes <out>/<workload>.prof.txt (top frames by self time), <out>/<workload>.cpuprofile, <out>/<workload>.gc.txt
# (--trace-gc) and prints the peer's END line plus CPU seconds and peak RSS from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
w=${1:?workload}; n=${2:-500000}; out=${3:-/tmp/perfprof}; extra=${4:-}
mkdir -p "$out"
boot=$(deno eval 'console.log(JSON.parse(Deno.readTextFileSync(".kafka/state/single.json")).listeners.PLAINTEXT.split(",")[0])')
case $w in
  P1) mode=produce size=100 codec=none ;;
  P2) mode=produce size=1024 codec=none ;;
  P3-lz4-1KiB) mode=produce size=1024 codec=lz4 ;;
  P3-lz4-100B) mode=produce size=100 codec=lz4 ;;
  P3-zstd-1KiB) mode=produce size=1024 codec=zstd ;;
  P3-zstd-100B) mode=produce size=100 codec=zstd ;;
  P6) mode=produce size=100 codec=none parts=256 ;;
  C1-100B) mode=consume size=100 codec=none ;;
  C1-1KiB) mode=consume size=1024 codec=none ;;
  C6-100B) mode=consume size=100 codec=none parts=256 fillbatch=16384 ;;
  X1-100B) mode=pipeline size=100 codec=none ;;
  *) echo "unknown workload $w" >&2; exit 2 ;;
esac
parts=${parts:-4}
# C6 is filled with 16 KiB batches, as bench:compare does (config.ts fillBatchBytes): every partition gets data.
fillbatch=${fillbatch:-1048576}
topic=prof-$w-$n-$parts-$fillbatch
[ "$mode" = produce ] && topic=$topic-$RANDOM
pay=$(deno eval "import {ensurePayloadFile} from './bench/compare/payloads.ts'; console.log(await ensurePayloadFile('bench/peers/payloads', $size, 8388608, 20240601))")
deno eval "import {createTopic} from './bench/compare/topics.ts'; await createTopic('$boot','$topic',$parts)"
xargs=()
if [ "$mode" = pipeline ]; then
  # The exactly-once pipeline copies the input to a fresh topic (bench/compare/config.ts PIPELINE).
  output=$topic-out-$RANDOM
  deno eval "import {createTopic} from './bench/compare/topics.ts'; await createTopic('$boot','$output',$parts)"
  xargs=(--output "$output" --transaction-ms 100 --transaction-records 100000)
fi
if [ "$mode" = consume ] || [ "$mode" = pipeline ]; then
  # Fill once with our own producer (P-mode peer), then consume.
  if [ ! -f "$out/.filled-$topic" ]; then
    deno run -A bench/compare/peers/ours.ts --mode produce --bootstrap "$boot" --topic "$topic" \
      --records "$n" --warmup 0 --size $size --payloads "$pay" --compression none --linger-ms 5 \
      --batch-bytes $fillbatch --in-flight 5 --idempotence true --acks all --buffer-bytes 33554432 \
      --partitions $parts </dev/null >/dev/null
    touch "$out/.filled-$topic"
  fi
fi
cd "$out"
flagsv8="--trace-gc${extra:+,$extra}"
PROF_OUT=$PWD/$w.cpuprofile /usr/bin/time -f "TIME user=%U sys=%S maxrss_kb=%M" deno run -A \
  --v8-flags=$flagsv8 "$OLDPWD/bench/${PROFILER:-cpu_profile}.ts" --mode $mode --bootstrap "$boot" --topic "$topic" \
  --records "$n" --warmup $((n / 10)) --size $size --payloads "$OLDPWD/$pay" --compression $codec \
  --linger-ms 5 --batch-bytes 1048576 --in-flight 5 --idempotence true --acks all \
  --buffer-bytes 33554432 --partitions $parts "${xargs[@]}" </dev/null >"$w.out.txt" 2>"$w.err.txt" || true
grep -v '^\[' "$w.out.txt" | grep END || true
grep -c "Scavenge" "$w.out.txt" | sed 's/^/scavenges /' || true
grep -c "Mark-Compact" "$w.out.txt" | sed 's/^/mark-compacts /' || true
grep '\[' "$w.out.txt" > "$w.gc.txt" || true
tail -1 "$w.err.txt"
grep "^PROFILE\|^MEM" "$w.err.txt" > "$w.prof.txt" || true
head -25 "$w.prof.txt"
