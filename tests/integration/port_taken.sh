#!/usr/bin/env bash
# A server whose port is taken: leaklab must say so (exit 2, the server's own
# message from stderr), not hang or crash. Holds a port with a first server
# (started here, stopped here by PID), then probes a second one on the same port.
set -u
leaklab=$1; hoard=$2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$hoard" "$port" & holder=$!
trap 'kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
out=$("$leaklab" probe --cmd "$hoard $port" --workload http-churn --start-timeout 5 -q 2>&1); code=$?
if [ "$code" -ne 2 ] || ! grep -q 'Address already in use' <<<"$out"; then
  printf 'expected exit 2 naming "Address already in use"; got %s:\n%s\n' "$code" "$out"; exit 1
fi
echo "exit 2 with the server's own reason, as expected"
