#!/bin/bash
# The "connected" benchmark (issue 13): N modules of one `vmodem fleet` process on one
# mosquitto, keep-alive 60 s, a QoS 1 publish every 10 s each (connected.txt), for DUR s.
# Prints the fleet's CPU (/usr/bin/time) and mosquitto's (from /proc) over the same run:
# the peer is the broker carrying the same traffic. The fleet's progress lines and summary
# (+QMTSTAT by code) go to $OUT/fleet.err, its --json report to $OUT/report.json.
# Usage: bash run.sh [N=19000] [DUR=300]   (VMODEM=path/to/release/vmodem)
set -u
N=${1:-19000}; DUR=${2:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${VMODEM:-$HERE/../../../target/release/vmodem}
OUT=$(mktemp -d /tmp/vmodem-connected-XXXX); chmod 755 "$OUT"
cp "$HERE/mosq.conf" "$HERE/connected.txt" "$OUT/"; chmod 644 "$OUT"/*
cd "$OUT"
mosquitto -c mosq.conf & MPID=$!
sleep 1
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
m0=$(ticks $MPID)
/usr/bin/time -f "fleet_cpu_s user=%U sys=%S wall=%e maxrss_kb=%M" "$BIN" fleet --count "$N" \
  --no-broker --broker 127.0.0.1:18885 --script connected.txt --ramp 1000 --duration "${DUR}s" \
  --json report.json > fleet.out 2> fleet.err
rc=$?
m1=$(ticks $MPID)
kill $MPID
tail -1 fleet.err
echo "rc=$rc mosquitto_cpu_s=$(echo "($m1 - $m0)/100" | bc -l) out=$OUT"
