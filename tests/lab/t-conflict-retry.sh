# A version conflict from the real engine ("update out of sequence", caused
# by a concurrent update just before shoal's) is retried with a fresh read
# and the update lands; the engine's message is shown as it is.
. "$TOP/tests/lab/lib.sh"
make_repo repo
"$SHOAL" apply repo >/dev/null || fail "apply"
engine=${DOCKER_HOST#unix://}
python3 "$TOP/tests/lab/race-proxy.py" "$T/proxy.sock" "$engine" "$T/proxy.log" 2 &
ppid=$!
trap 'kill $ppid 2>/dev/null' EXIT
for _ in $(seq 1 50); do [ -S "$T/proxy.sock" ] && break; sleep 0.1; done
printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > repo/stacks/kittenapi/vars.env
"$SHOAL" -H "unix://$T/proxy.sock" apply repo > out.txt 2> err.txt || { cat out.txt err.txt proxy.log; fail "apply through the racing proxy"; }
cat out.txt err.txt
grep -q 'update out of sequence' err.txt || fail "engine message not shown"
[ "$(grep -c 'RACE' "$T/proxy.log")" = 2 ] || fail "proxy did not race twice"
[ "$(grep -c '^POST /v[0-9.]*/services/.*/update 500' "$T/proxy.log")" = 2 ] || { cat "$T/proxy.log"; fail "expected 2 real conflicts"; }
[ "$(grep -c '^POST /v[0-9.]*/services/.*/update 200' "$T/proxy.log")" = 1 ] || fail "update did not land once"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = shoal-lab/busybox:latest ] || fail "image not updated"
kill $ppid
