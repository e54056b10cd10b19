# Shared by the Postfix peer benchmarks (peer_submit.sh, peer_relay.sh):
# loopback ports and a private Postfix instance. Sourced, not run; root.

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {  # port
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listens on port $1" >&2
  return 1
}

# start_private_postfix DIR PORT EXTRA_MAIN_CF: a Postfix listening on
# 127.0.0.1:PORT with its configuration, queue and data under DIR (conf/,
# queue/, data/); EXTRA_MAIN_CF is appended to main.cf. Stop it with
# stop_private_postfix DIR. `postfix -c DIR start` refuses a directory not
# listed in the system's main.cf (alternate_config_directories), so the queue
# is laid out here and master(8) is started directly.
start_private_postfix() {
  local dir=$1 port=$2 extra=$3
  mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
  sed -e "s/^smtp      inet .*/127.0.0.1:$port inet n - n - - smtpd/" \
      -e 's/^\([a-z]*  *unix  *[-ny]  *[-ny]  *\)y/\1n/' /etc/postfix/master.cf >"$dir/conf/master.cf"
  cat >"$dir/conf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
$extra
CF
  local q="$dir/queue" d
  for d in incoming active deferred bounce defer flush hold private saved trace corrupt; do
    install -d -o postfix -m 700 "$q/$d"
  done
  install -d -o postfix -g postdrop -m 730 "$q/maildrop"
  install -d -o postfix -g postdrop -m 710 "$q/public"
  install -d -o root -m 755 "$q/pid"
  chown postfix "$dir/data"
  /usr/lib/postfix/sbin/master -c "$dir/conf" -w || { echo "$(basename "$0"): postfix did not start" >&2; return 1; }
  wait_port "$port"
}

stop_private_postfix() {  # dir
  local pid_file="$1/queue/pid/master.pid"
  [[ -f "$pid_file" ]] && kill "$(tr -d ' ' <"$pid_file")" 2>/dev/null && sleep 1
  return 0
}
