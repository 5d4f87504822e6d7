# The engine client over tcp:// with TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
# run inside the lab namespace where the engine listens on 127.0.0.1:2376.
. "$TOP/tests/lab/lib.sh"
innet() { nsenter --net=/run/netns/"$LAB_NS" env DOCKER_HOST=tcp://127.0.0.1:2376 "$@"; }
printf 'version: "3.8"\nservices:\n  s:\n    image: %s\n' "$LAB_IMAGE" > a.yml
innet DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$LAB_DIR/tls" "$SHOAL" stack deploy --resolve-image never -c a.yml tls > out.txt 2>&1 ||
	{ cat out.txt; fail "deploy over TLS"; }
docker service inspect tls_s >/dev/null || fail "service not created over TLS"
innet DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$LAB_DIR/tls" "$SHOAL" stack ls | grep -q '^tls ' || fail "ls over TLS"
# a client without certificates is refused, and says why
mkdir nocert
innet DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$T/nocert" "$SHOAL" stack ls > bad.txt 2>&1 && fail "connected without a client certificate"
cat bad.txt
grep -q 'cannot reach the docker engine' bad.txt || fail "no clear error"
innet "$SHOAL" stack ls > plain.txt 2>&1 && fail "plain HTTP accepted by a TLS engine"
true
