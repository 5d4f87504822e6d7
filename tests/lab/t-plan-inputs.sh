# shoal plan --base/--head reads a stack once when nothing it is made from
# changed between the commits (its folder, vars.env, every file it reads
# from elsewhere in the tree): such a stack must still show every change
# that comes from outside its folder, and an invalid one stays invalid.
. "$TOP/tests/lab/lib.sh"
git init -q r && cd r || fail "git init"
git config user.email ci@example.invalid; git config user.name ci
mkdir -p stacks/a stacks/b stacks/c common
printf 'TAG=1\n' > vars.env
printf 'K=1\n' > common/a.env
printf 'services:\n  web:\n    image: busybox:${TAG}\n    env_file: ../../common/a.env\n' > stacks/a/compose.yml
printf 'services:\n  api:\n    image: busybox:1\n' > stacks/b/compose.yml
printf 'services:\n  bad:\n    image: busybox:1\n    no_such_key: 1\n' > stacks/c/compose.yml
git add -A && git commit -qm base || fail "commit"
step() { # message: commit the work tree
	git add -A && git commit -qm "$1" || fail "commit $1"
}
plan_json() { # -> stack names with a change, then "invalid:" names
	env -u SHOAL_KEY_FILE DOCKER_HOST=unix:///nonexistent "$SHOAL" plan --base HEAD~1 --head HEAD --repo . --format json \
		> ../plan.json 2> ../plan.err
	echo "rc=$?" >> ../plan.err
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join([s["name"] for s in d["stacks"]] + ["invalid:"] + d["invalid"]))' ../plan.json
}
printf 'K=2\n' > common/a.env; step "env file outside the stack"
[ "$(plan_json)" = "a invalid: c" ] || { cat ../plan.json ../plan.err; fail "env_file change: $(plan_json)"; }
grep -q 'K=2' ../plan.json || fail "the env change is not shown"
printf 'TAG=2\n' > vars.env; step "shared variables"
[ "$(plan_json)" = "a invalid: c" ] || { cat ../plan.json; fail "vars.env change: $(plan_json)"; }
grep -q 'busybox:2' ../plan.json || fail "the new image is not shown"
printf 'services:\n  api:\n    image: busybox:2\n' > stacks/b/compose.yml; step "one stack"
[ "$(plan_json)" = "b invalid: c" ] || { cat ../plan.json; fail "stack change: $(plan_json)"; }
grep -q 'no_such_key' ../plan.err || fail "the unchanged invalid stack's error is not shown for the head"
echo x > README; step "nothing a stack reads"
[ "$(plan_json)" = "invalid: c" ] || { cat ../plan.json; fail "unrelated change: $(plan_json)"; }
true
