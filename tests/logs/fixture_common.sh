# What both fixture scripts (make_fixtures.sh for Postfix,
# make_exim_fixtures.sh for Exim) share; sourced after they set HERE and D.

# Starts receiver.py on port $1, recording every answer in $D/answers.jsonl;
# sets RX_PID and returns once it is ready.
start_receiver() {
  : >"$D/answers.jsonl"
  /usr/bin/python3 "$HERE/receiver.py" "$1" "$D/answers.jsonl" >"$D/receiver.out" 2>&1 &
  RX_PID=$!
  for _ in $(seq 50); do grep -q ready "$D/receiver.out" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$D/receiver.out" || { cat "$D/receiver.out" >&2; exit 1; }
}

# The cases sent through the MTA to receiver.py, which answers each
# recipient by its local part. One line each:
# recipients (comma: one message to all)  final-status  final-category  category-of-deferrals
SCENARIOS=(
  "ok1@example.com sent delivered -"
  "ok2@gmail.com sent delivered -"
  "ok3@qq.com sent delivered -"
  "ok4@163.com sent delivered -"
  "nouser1@example.com bounced recipient_not_found -"
  "nouser2@example.com bounced recipient_not_found -"
  "nouser3@gmail.com bounced recipient_not_found -"
  "full1@example.net expired expired mailbox_full"
  "grey1@example.org sent delivered greylisted"
  "grey2@example.org sent delivered greylisted"
  "rate1@qq.com bounced ip_rate_limited -"
  "rate2@qq.com bounced ip_rate_limited -"
  "rate3@qq.com bounced ip_rate_limited -"
  "spam1@163.com bounced spam -"
  "block1@example.com bounced ip_blacklisted -"
  "block2@example.net bounced ip_blacklisted -"
  "big1@example.com bounced message_too_large -"
  "auth1@gmail.com bounced auth_policy -"
  "busy1@yahoo.com expired expired spam"
)
