# shellcheck shell=sh
# Sourced by the hostile drivers: the well-behaved part of a session, so that
# each driver shows only the point where it turns hostile.  POSIX sh.
# Hangs are "sleep 1h", not "sleep 3600": tests/harness.sh once pkilled every
# "sleep 3600" on the machine, which ended the hangs of a concurrent run.
#
# hello NAME       send a protocol-1 hello for a fork-only implementation
# next OP          read one request into $line and its "id" into $id; EOF
#                  ends the driver with code 0 (as the protocol asks), a
#                  request of another op with code 3
# begun            answer begin (main_pid is this shell)
# result           answer step $id with a null value
# serve_scenario   answer begin, every step and end like a correct driver

hello() {
	printf '{"op":"hello","protocol":1,"driver":"hostile","implementation":"hostile %s 0","executable":"/bin/sh","module":"none","methods":["fork"]}\n' "$1"
}

next() {
	IFS= read -r line || exit 0
	case $line in
	"{\"op\":\"$1\""*) ;;
	*) echo "hostile driver: expected $1, got: $line" >&2; exit 3 ;;
	esac
	id=$(printf '%s\n' "$line" | sed -n 's/^{"op":"step","id":\([0-9]*\).*/\1/p')
}

begun() {
	printf '{"op":"begun","main_pid":%d,"authkey":"b%s"}\n' $$ "'hostile'"
}

result() {
	printf '{"op":"result","id":%s,"value":null,"pids":{}}\n' "$id"
}

serve_scenario() {
	next begin
	begun
	while IFS= read -r line; do
		case $line in
		'{"op":"step"'*)
			id=$(printf '%s\n' "$line" | sed -n 's/^{"op":"step","id":\([0-9]*\).*/\1/p')
			result ;;
		'{"op":"end"'*)
			echo '{"op":"ended","fds_leaked":0,"children_left":0}'
			echo '{"op":"exited","code":0}'
			return 0 ;;
		*)
			echo "hostile driver: unexpected: $line" >&2; exit 3 ;;
		esac
	done
	exit 0
}
