# shoal plan --base/--head between two commits, offline (no engine used):
# the markdown for a pull request equals the golden file, text and json
# agree, and no secret value appears.
. "$TOP/tests/lab/lib.sh"
fx=$TOP/tests/fixtures/plan
git init -q r && cd r || fail "git init"
git config user.email ci@example.invalid; git config user.name ci
cp -r "$fx/v1/." . && git add -A && git commit -qm v1 || fail "commit v1"
git rm -rq . && cp -r "$fx/v2/." . && git add -A && git commit -qm v2 || fail "commit v2"
cd ..
env -u SHOAL_KEY_FILE DOCKER_HOST=unix:///nonexistent "$SHOAL" plan --base HEAD~1 --head HEAD --repo r --format markdown > plan.md; rc=$?
[ $rc = 2 ] || fail "exit $rc, expected 2 (changes)"
diff -u "$fx/expected.md" plan.md || fail "markdown differs from the golden file"
env -u SHOAL_KEY_FILE "$SHOAL" plan --base HEAD~1 --head HEAD --repo r --format json > plan.json
python3 - plan.json <<'PY' || fail "json plan"
import json, sys
d = json.load(open(sys.argv[1]))
st = {s["name"]: s for s in d["stacks"]}
assert st["extra"]["action"] == "remove"
assert [x["action"] for x in st["mongo"]["secrets"]] == ["rotate"]
assert st["traefik"]["ports_opened"] == ["443/tcp host"]
k = [x for x in st["kittenapi"]["services"]][0]
assert k["restarts"] is True
PY
"$SHOAL" plan --base HEAD --head HEAD --repo r > same.txt; [ $? = 0 ] || fail "same commit: not in sync"
grep -rl 'n3w-adm1n\|s3cr3t' plan.md plan.json && fail "a secret value appears"
true
