/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * vmb-host: a VMBus host (server) on a UNIX socket with an echo VSP on each offered channel,
 * and servicing from the command line: on SIGUSR1 (kill -USR1 <pid>) it starts a successor
 * process (this binary, or the one given with --successor: a newer build) and hands the whole
 * host over to it, guests and open channels included, then exits. The successor prints its
 * pid, and can be serviced again the same way.
 *
 * By default the poll loop sleeps when idle (interrupt mode); --poll busy-polls (lowest latency,
 * one core always busy).
 *
 *   vmb-host --socket PATH [--channels N] [--successor BINARY] [--poll] [--quiet]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vmb/vmb_bus.h>
#include <vmb/vmb_channel.h>
#include <vmb/vmb_poll.h>
#include <vmb/vmb_save.h>

#define MAX_OFFERS 64

/* The interface an echo channel is offered under. */
static const struct vmb_guid echo_type = {{0x76, 0x6d, 0x62, 0x2d, 0x65, 0x63, 0x68, 0x6f}};

static volatile sig_atomic_t service_requested, stop_requested;
static const char *prog_name = "vmb-host";
extern char **environ;
static struct vmb_poller *poller;
static bool quiet;

static void on_usr1(int sig) { (void)sig; service_requested = 1; }
static void on_term(int sig) { (void)sig; stop_requested = 1; }

/* ---- the echo VSP: completes each request with its first 16 bytes ---- */

static void
echo_process(struct vmb_channel *ch, struct vmb_rx *rx, const void *buf, uint32_t len,
	     uint32_t flags)
{
	(void)ch;
	(void)flags;
	vmb_rx_complete(rx, buf, len < 16 ? len : 16);
}

/* The echo VSP sends nothing of its own, so it has no per-packet state to save. */
static int
echo_save(struct vmb_channel *ch, struct vmb_packet *p, void *buf, uint32_t size, uint32_t *needed)
{
	(void)ch;
	(void)p;
	(void)buf;
	(void)size;
	*needed = 0;
	return 0;
}

static void
echo_done(struct vmb_packet *p, int status, const void *buf, uint32_t len)
{
	(void)status;
	(void)buf;
	(void)len;
	vmb_packet_free(p);
}

static int
echo_restore(struct vmb_channel *ch, const void *lib, uint32_t lib_size, const void *save,
	     uint32_t save_size)
{
	struct vmb_packet *p = vmb_packet_alloc(ch);
	int rc;

	(void)save;
	(void)save_size;
	if (p == NULL)
		return -ENOMEM;
	rc = vmb_packet_restore(p, lib, lib_size);
	if (rc) {
		vmb_packet_free(p);
		return rc;
	}
	vmb_packet_set_completion(p, echo_done);
	return 0;
}

static struct vmb_channel *
echo_open(void *ctx, struct vmb_bus_conn *conn, uint32_t offer)
{
	struct vmb_channel *ch;

	(void)ctx;
	if (vmb_channel_alloc(true, &ch) != 0)
		return NULL;
	vmb_channel_init_set_name(ch, "echo");
	vmb_channel_init_set_process_packet(ch, echo_process, NULL);
	vmb_channel_init_set_save_restore(ch, echo_save, echo_restore);
	if (vmb_poller_add(poller, ch) != 0) {
		vmb_channel_cleanup(ch);
		return NULL;
	}
	if (!quiet)
		printf("vmb-host[%d]: guest %u opened channel %u\n", (int)getpid(),
		       vmb_bus_conn_id(conn), offer);
	return ch;
}

static void
echo_close(void *ctx, struct vmb_bus_conn *conn, uint32_t offer, struct vmb_channel *ch)
{
	(void)ctx;
	vmb_poller_remove(poller, ch);
	vmb_channel_disable(ch);
	vmb_channel_cleanup(ch);
	if (!quiet && !service_requested)
		printf("vmb-host[%d]: guest %u closed channel %u\n", (int)getpid(),
		       vmb_bus_conn_id(conn), offer);
}

/* ---- servicing ---- */

static int
service(struct vmb_bus_host *h, const char *successor, char **argv_tail)
{
	char a_fd[16];
	char *args[32];
	int sv[2], rc, n = 0, i;
	pid_t pid;

	/* The successor's end crosses exec, ours does not. posix_spawn rather than fork: a fork
	 * copies our page tables under the memory lock and stalls the poll thread (traffic). */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -errno;
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	snprintf(a_fd, sizeof(a_fd), "%d", sv[1]);
	args[n++] = (char *)prog_name; /* the successor shows up as what we are */
	for (i = 0; argv_tail[i] && n < 28; i++)
		args[n++] = argv_tail[i];
	args[n++] = (char *)"--handoff-fd";
	args[n++] = a_fd;
	args[n] = NULL;
	fflush(stdout);
	rc = posix_spawn(&pid, successor, NULL, NULL, args, environ);
	if (rc) {
		fprintf(stderr, "vmb-host: cannot run successor %s: %s\n", successor, strerror(rc));
		close(sv[0]);
		close(sv[1]);
		return -rc;
	}
	close(sv[1]);
	rc = vmb_bus_host_service_out(h, sv[0]);
	close(sv[0]);
	if (rc) {
		fprintf(stderr, "vmb-host[%d]: hand-over to %d failed: %s; still serving\n", (int)getpid(),
			(int)pid, strerror(-rc));
		return rc;
	}
	printf("vmb-host[%d]: handed over to pid %d\n", (int)getpid(), (int)pid);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vmb-host --socket PATH [--channels N (1..%d)] [--successor BINARY] "
			"[--poll] [--quiet]\n"
			"  kill -USR1 <pid> hands the host over to a new process (zero loss);\n"
			"  kill -TERM <pid> stops it.\n",
		MAX_OFFERS);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},  {"channels", required_argument, NULL, 'c'},
		{"successor", required_argument, NULL, 'S'}, {"poll", no_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},         {"handoff-fd", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	struct vmb_poller_config pc = {.cpu = -1, .interrupt_mode = true};
	struct vmb_bus_offer offers[MAX_OFFERS];
	struct vmb_bus_host_config bc = {0};
	const char *successor = "/proc/self/exe";
	struct vmb_bus_host *h;
	char *tail[32];
	int nchan = 1, handoff_fd = -1, c, i, rc, nt = 0;

	prog_name = argv[0];
	while ((c = getopt_long(argc, argv, "s:c:S:pqH:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			bc.path = optarg;
			break;
		case 'c':
			nchan = atoi(optarg);
			break;
		case 'S':
			successor = optarg;
			break;
		case 'p':
			pc.interrupt_mode = false;
			break;
		case 'q':
			quiet = true;
			break;
		case 'H':
			handoff_fd = atoi(optarg);
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	/* The successor gets our options, less the hand-over descriptor (it gets its own). */
	for (i = 1; i < argc && nt < 28; i++) {
		if (strcmp(argv[i], "--handoff-fd") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--handoff-fd=", 13) == 0)
			continue;
		tail[nt++] = argv[i];
	}
	tail[nt] = NULL;
	if (bc.path == NULL || nchan < 1 || nchan > MAX_OFFERS) {
		usage();
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nchan; i++) {
		memset(&offers[i], 0, sizeof(offers[i]));
		offers[i].type = echo_type;
		offers[i].instance.b[0] = (uint8_t)i;
		offers[i].subchannel = (uint16_t)i;
		offers[i].on_open = echo_open;
		offers[i].on_close = echo_close;
	}
	if ((rc = vmb_poller_create(&pc, &poller)) != 0) {
		fprintf(stderr, "vmb-host: poller: %s\n", strerror(-rc));
		return 1;
	}
	if (handoff_fd >= 0) {
		rc = vmb_bus_host_service_in(&bc, offers, (uint32_t)nchan, handoff_fd, &h);
		close(handoff_fd);
		if (rc) {
			fprintf(stderr, "vmb-host: taking over failed: %s\n", strerror(-rc));
			return 1;
		}
		printf("vmb-host[%d]: took over %s with %u guest(s)\n", (int)getpid(), bc.path,
		       vmb_bus_host_guest_count(h));
	} else {
		rc = vmb_bus_host_create(&bc, &h);
		for (i = 0; rc == 0 && i < nchan; i++)
			rc = vmb_bus_host_add_offer(h, &offers[i], NULL);
		if (rc) {
			fprintf(stderr, "vmb-host: %s: %s\n", bc.path, strerror(-rc));
			return 1;
		}
		printf("vmb-host[%d]: serving %d echo channel(s) on %s\n", (int)getpid(), nchan, bc.path);
	}
	fflush(stdout);
	vmb_poller_start(poller);
	while (!stop_requested) {
		vmb_bus_host_poll(h, 50);
		if (service_requested) {
			if (service(h, successor, tail) == 0) {
				vmb_bus_host_abandon(h);
				vmb_poller_stop(poller);
				vmb_poller_destroy(poller);
				return 0;
			}
			service_requested = 0;
		}
	}
	vmb_bus_host_destroy(h);
	vmb_poller_stop(poller);
	vmb_poller_destroy(poller);
	return 0;
}
