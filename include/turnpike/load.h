/*
 * turnpike-bench load: a load generator. Creates many allocations (UDP, TCP
 * or TLS; long-term or TURN REST credentials) with many requests in flight,
 * binds a channel (or a permission for Send indications) to a built-in echo
 * peer, drives data at a fixed rate or a ramp and reports allocation rate and
 * latency, packets offered and delivered each way, loss, round-trip latency
 * and, given the server's pid, its CPU time per relayed packet and memory per
 * allocation, beside the whole machine's busy time over the data phase. With
 * --direct there is no server: each flow sends straight to the echo peer (what
 * the generator alone costs); --peer-netns puts the echo peer's socket in
 * another network namespace. Human-readable lines, or one JSON object with --json.
 */
#ifndef TURNPIKE_LOAD_H
#define TURNPIKE_LOAD_H

#define LOAD_USAGE                                                                                 \
	"(--user U (--password P | --secret S) | --direct) [--transport udp|tcp|tls]\n"            \
	"\t[--ca FILE | --insecure] [--allocations N] [--in-flight K] [--procs P]\n"               \
	"\t[--rate PPS | --ramp] [--ramp-start PPS] [--ramp-factor F] [--ramp-max PPS]\n"          \
	"\t[--payload N] [--duration S] [--send-indications] [--peer IP] [--server-pid PID]\n"     \
	"\t[--ramp-loss F] [--peer-netns NS] [--rto MS] [--timeout MS] [--drain MS]\n"             \
	"\t[--refresh S] [--json] [HOST[:PORT]]"
#define LOAD_HELP                                                                                  \
	"load generator: N allocations, data through an echo peer; allocations/s, "                \
	"loss, RTT percentiles, server CPU and memory"

/* argv[0] is the command name; returns the exit status (0: no failed allocation, no loss
 * in a fixed-rate run). */
int load_run(int argc, char **argv);

#endif
