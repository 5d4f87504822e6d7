# A private registry over TLS with a locally generated CA (and htpasswd
# auth) on the lab namespace's address: the engine refuses it until the CA
# is in its certs.d (the lab engine's own /etc/docker); then shoal stack
# deploy --registry-auth pins the image by digest and the node pulls it.
. "$TOP/tests/lab/lib.sh"
need docker-registry
reg=192.168.250.2:5443
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lab-registry-ca -keyout ca.key -out ca.pem 2>/dev/null &&
openssl req -newkey rsa:2048 -nodes -subj /CN=192.168.250.2 -keyout srv.key -out srv.csr 2>/dev/null &&
printf 'subjectAltName=IP:192.168.250.2\n' > srv.ext &&
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem 2>/dev/null ||
	fail "certificates"
pw=tls-pa55-$RANDOM$RANDOM
python3 -W ignore -c "import crypt,sys; print('lab:' + crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))" "$pw" > htpasswd
cat > reg.yml <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $T/registry}}
http: {addr: $reg, tls: {certificate: $T/srv.pem, key: $T/srv.key}}
auth: {htpasswd: {realm: lab, path: $T/htpasswd}}
log: {level: info}
YML
nsenter --net=/run/netns/"$LAB_NS" docker-registry serve reg.yml > registry.log 2>&1 &
rpid=$!
certs="$LAB_DIR/etc-docker/certs.d/$reg"
trap 'kill $rpid 2>/dev/null; rm -rf "$certs"' EXIT
for _ in $(seq 1 50); do grep -q 'listening on' registry.log && break; sleep 0.1; done
export DOCKER_CONFIG="$T/dockercfg"
# the CA is not trusted yet: the engine refuses the registry
printf '%s' "$pw" | docker login -u lab --password-stdin "$reg" > login1.txt 2>&1 && fail "login without the CA worked"
grep -qi 'certificate\|x509' login1.txt || { cat login1.txt; fail "no certificate error"; }
mkdir -p "$certs" && cp ca.pem "$certs/ca.crt"
printf '%s' "$pw" | docker login -u lab --password-stdin "$reg" >/dev/null 2>&1 || { tail registry.log; fail "login with the CA"; }
docker tag "$LAB_IMAGE" "$reg/kitten:1"
docker push "$reg/kitten:1" >/dev/null || fail "push"
digest=$(docker image inspect -f '{{index .RepoDigests 0}}' "$reg/kitten:1" | sed 's/.*@//')
docker rmi "$reg/kitten:1" >/dev/null
printf 'version: "3.8"\nservices:\n  web:\n    image: %s/kitten:1\n    init: true\n' "$reg" > app.yml
"$SHOAL" stack deploy --registry-auth "$DOCKER_CONFIG/config.json" -c app.yml tls > d.txt 2>&1 || { cat d.txt; fail "deploy"; }
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' tls_web)" = "$reg/kitten:1@$digest" ] ||
	{ cat d.txt; fail "not pinned"; }
for _ in $(seq 1 100); do [ "$(docker service ls --filter name=tls_web --format '{{.Replicas}}')" = 1/1 ] && break; sleep 0.2; done
[ "$(docker service ls --filter name=tls_web --format '{{.Replicas}}')" = 1/1 ] || { docker service ps --no-trunc tls_web; fail "not pulled"; }
! grep -q -- "$pw" d.txt || fail "password in the output"
echo "ok: TLS registry with a local CA: refused untrusted, pinned and pulled with --registry-auth"
