# shoal review as repo-template's three workflows run it, with the built
# shoal on this machine: real Git server, recording forge APIs (no forge
# runs offline here), two pushes to one pull request (tests/lab/review.sh).
REVIEW_MODE=host
. "$TOP/tests/lab/review.sh"
