# shoal review as repo-template's three workflows run it in the shoal image
# as it is (built from the Dockerfile like t-image), each job started the
# way its runner starts it: GitHub's and act_runner's container jobs,
# GitLab's docker executor (tests/lab/review.sh).
REVIEW_MODE=image
. "$TOP/tests/lab/review.sh"
