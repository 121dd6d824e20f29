#!/bin/bash
# 3 shards × 3 mosquitto (issue 13): `vmodem fleet --count TOTAL --shard i/3`, each shard on its
# own mosquitto, the connected.txt traffic, for DUR s. Prints each shard's CPU and max RSS and
# each broker's CPU; progress lines and summaries in $OUT/f<i>.err / f<i>.out.
# Usage: bash shards.sh [TOTAL=57000] [DUR=120]   (VMODEM=path/to/release/vmodem)
set -u
TOTAL=${1:-57000}; DUR=${2:-120}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${VMODEM:-$HERE/../../../target/release/vmodem}
OUT=$(mktemp -d /tmp/vmodem-shards-XXXX); chmod 755 "$OUT"
cp "$HERE/connected.txt" "$OUT/"
cd "$OUT"
for i in 0 1 2; do
  printf 'listener %d 127.0.0.1\nallow_anonymous true\nmax_connections -1\npersistence false\nlog_dest none\n' \
    $((18890 + i)) > m$i.conf
done
chmod 644 ./*
P=(); for i in 0 1 2; do mosquitto -c m$i.conf & P+=($!); done
sleep 1
F=()
for i in 0 1 2; do
  /usr/bin/time -f "shard $i cpu_s user=%U sys=%S wall=%e maxrss_kb=%M" "$BIN" fleet --count "$TOTAL" \
    --shard $i/3 --no-broker --broker 127.0.0.1:$((18890 + i)) --script connected.txt --ramp 500 \
    --duration "${DUR}s" --json r$i.json > f$i.out 2> f$i.err & F+=($!)
done
for f in "${F[@]}"; do wait "$f"; done
for p in "${P[@]}"; do echo "mosquitto $p cpu_s=$(awk '{print ($14+$15)/100}' /proc/$p/stat)"; kill "$p"; done
for i in 0 1 2; do tail -n 1 f$i.err; grep -h published f$i.out; done
echo "out=$OUT"
