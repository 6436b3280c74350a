/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 vmbchan authors
 *
 * vmb-inspect: a debugging tool for one VMBus ring stored in a file or a memfd (for instance
 * /proc/<pid>/fd/<n> of a running process), and for channel save streams. The ring lies contiguously at a byte offset: the
 * 4 KiB control page, then the data area of D bytes. The data area is mapped once (not double
 * mapped), so wrapping packets take the library's split paths: bounce copies on read, two-piece
 * spans on write.
 *
 *   show    walks the packets between read_index and write_index with the library's own reader
 *           and packet decoder (read-only mapping, nothing is committed), so a corrupt ring is
 *           reported precisely instead of crashing the tool.
 *   write   appends packets with the library's writer and commits them in one batch.
 *   format  creates (or truncates) a file holding a freshly formatted ring.
 *   save    decodes a saved channel stream (chunks back to back, as a save loop writes them):
 *           every chunk header and record, checked with the rules vmb_channel_restore()
 *           applies, each problem named with the error restore would return.
 *
 * Exit codes: 0 success, 1 operational error, 2 usage error, 3 the ring is corrupt or the
 * stream malformed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmb/vmb_channel.h>
#include <vmb/vmb_packet.h>
#include <vmb/vmb_ring.h>
#include <vmb/vmb_save.h>
#include <vmb/vmb_save_format.h>

#define PROG "vmb-inspect"

enum {
	EXIT_OP_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_CORRUPT = 3,
};

/** Data area size `format` uses when --size is not given. */
#define DEFAULT_FORMAT_SIZE 65536
/** Largest data area the ring layer accepts (below 2^31, a multiple of 4096). */
#define MAX_DATA_SIZE ((1u << 31) - 4096u)
/** offset8/len8 are 16-bit counts of 8-byte units: no packet holds more ranges or pfns. */
#define DECODE_CAPACITY 65536u

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */
/* ------------------------------------------------------------------------------------------ */

enum command { CMD_SHOW, CMD_WRITE, CMD_FORMAT, CMD_SAVE };

enum opt_id {
	OPT_OFFSET = 256,
	OPT_SIZE,
	OPT_MAX,
	OPT_HEX,
	OPT_JSON,
	OPT_GUEST_PAGES,
	OPT_TYPE,
	OPT_XID,
	OPT_RC,
	OPT_PAYLOAD,
	OPT_PAYLOAD_TEXT,
	OPT_GPA,
	OPT_XFER,
	OPT_SET_ID,
	OPT_COUNT,
	OPT_END,
};

#define OPT_BIT(id) (1u << ((id)-OPT_OFFSET))

/** Options each command accepts. */
#define SHOW_OPTS                                                                                  \
	(OPT_BIT(OPT_OFFSET) | OPT_BIT(OPT_SIZE) | OPT_BIT(OPT_MAX) | OPT_BIT(OPT_HEX) |           \
	 OPT_BIT(OPT_JSON) | OPT_BIT(OPT_GUEST_PAGES))
#define WRITE_OPTS                                                                                 \
	(OPT_BIT(OPT_OFFSET) | OPT_BIT(OPT_SIZE) | OPT_BIT(OPT_TYPE) | OPT_BIT(OPT_XID) |          \
	 OPT_BIT(OPT_RC) | OPT_BIT(OPT_PAYLOAD) | OPT_BIT(OPT_PAYLOAD_TEXT) | OPT_BIT(OPT_GPA) |   \
	 OPT_BIT(OPT_XFER) | OPT_BIT(OPT_SET_ID) | OPT_BIT(OPT_COUNT))
#define FORMAT_OPTS OPT_BIT(OPT_SIZE)
#define SAVE_OPTS (OPT_BIT(OPT_HEX) | OPT_BIT(OPT_JSON))

static const struct option long_opts[] = {
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"size", required_argument, NULL, OPT_SIZE},
    {"max", required_argument, NULL, OPT_MAX},
    {"hex", no_argument, NULL, OPT_HEX},
    {"json", no_argument, NULL, OPT_JSON},
    {"guest-pages", required_argument, NULL, OPT_GUEST_PAGES},
    {"type", required_argument, NULL, OPT_TYPE},
    {"xid", required_argument, NULL, OPT_XID},
    {"rc", no_argument, NULL, OPT_RC},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"payload-text", required_argument, NULL, OPT_PAYLOAD_TEXT},
    {"gpa", required_argument, NULL, OPT_GPA},
    {"xfer", required_argument, NULL, OPT_XFER},
    {"set-id", required_argument, NULL, OPT_SET_ID},
    {"count", required_argument, NULL, OPT_COUNT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/** Long name of option @p id (for messages). */
static const char *
opt_name(int id)
{
	const struct option *lo;

	for (lo = long_opts; lo->name; lo++)
		if (lo->val == id)
			return lo->name;
	return "?";
}

struct inspect_opts {
	enum command cmd;
	const char *file;
	uint32_t seen; /* OPT_BIT() of every option given */
	uint64_t offset;
	uint64_t size;
	uint64_t max;
	uint64_t guest_pages;
	bool hex, json, rc;
	uint16_t type; /* VMB_PKT_* */
	uint64_t xid;
	uint16_t set_id;
	uint64_t count;
	uint8_t *payload;
	uint32_t payload_len;
	struct vmb_gpa_range_out *gpa; /* pfns arrays are owned (malloc'd) */
	uint32_t n_gpa;
	struct vmb_xfer_range *xfer;
	uint32_t n_xfer;
};

/* printf format: %d is the default data area size of `format`. */
static const char usage_fmt[] =
    "usage: " PROG " show FILE [--offset N] [--size D] [--max N] [--hex] [--json]\n"
    "                          [--guest-pages N]\n"
    "       " PROG " write FILE [--offset N] [--size D]\n"
    "                          --type inband|completion|gpa|xfer [--xid N] [--rc]\n"
    "                          [--payload HEX | --payload-text TEXT]\n"
    "                          [--gpa LEN:OFS:PFN[,PFN...]]... [--xfer LEN:OFS]...\n"
    "                          [--set-id N] [--count N]\n"
    "       " PROG " format FILE [--size D]\n"
    "       " PROG " save FILE [--json] [--hex]\n"
    "\n"
    "Inspect or modify one VMBus ring stored in FILE (a regular file, or a memfd\n"
    "such as /proc/PID/fd/N): a 4096-byte control page at byte --offset (a multiple\n"
    "of 8), then a data area of D bytes (a multiple of 4096; default: the rest of\n"
    "the file). Or decode a channel save stream (save).\n"
    "\n"
    "  show    list the control words and the packets from read_index to\n"
    "          write_index, validated by the library's reader and decoder.\n"
    "          Read-only: nothing is committed, read_index never moves.\n"
    "          --max N     show the first N packets (all are still validated)\n"
    "          --hex       dump payloads\n"
    "          --json      print one JSON object\n"
    "          --guest-pages N  check GPA page numbers against N guest pages\n"
    "  write   append --count packets (default 1; transaction ids --xid, --xid+1,\n"
    "          ...) and commit them in one batch; prints the signalling decision.\n"
    "          --gpa       (type gpa, repeatable) byte count, byte offset in the\n"
    "                      first page, then exactly the page numbers spanned\n"
    "          --xfer      (type xfer, repeatable) byte count, byte offset in the set\n"
    "          --rc        ask for a completion (flag 0x1)\n"
    "  format  create or truncate FILE to 4096 + D bytes (default D %d)\n"
    "          and format the control page (interrupt_mask 1).\n"
    "  save    decode a saved channel stream: its chunks back to back, as a save\n"
    "          loop writes them (doc/save-format.md). Prints every chunk header\n"
    "          (CRC checked) and record (channel, packets, completions, end);\n"
    "          checks the stream as vmb_channel_restore() would and names each\n"
    "          problem with the error restore returns for it.\n"
    "          --hex       dump message, VSP and completion bytes in full\n"
    "                      (default: the first 16 bytes)\n"
    "          --json      print one JSON object\n"
    "\n"
    "Numbers take 0x prefixes. Exit codes: 0 ok, 1 operational error, 2 usage error,\n"
    "3 corrupt ring or malformed stream.\n";

static void
usage(FILE *f)
{
	fprintf(f, usage_fmt, DEFAULT_FORMAT_SIZE);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int op_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	return EXIT_USAGE;
}

static int
op_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_OP_ERROR;
}

/** Parse an unsigned number (decimal or 0x hex) up to @p max. */
static bool
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/** Parse a hex string (optional 0x, ':' '-' ' ' separators between bytes) into bytes. */
static int
parse_hex_payload(const char *s, struct inspect_opts *o)
{
	size_t n = 0, cap = strlen(s) / 2 + 1;
	uint8_t *buf = malloc(cap);

	if (buf == NULL)
		return op_error("out of memory");
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (*s) {
		int hi, lo;

		if (*s == ':' || *s == '-' || *s == ' ') {
			s++;
			continue;
		}
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0) {
			free(buf);
			return usage_error("--payload: '%s' is not a string of hex byte pairs", s);
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	free(o->payload);
	o->payload = buf;
	o->payload_len = (uint32_t)n;
	return 0;
}

static int
set_text_payload(const char *s, struct inspect_opts *o)
{
	size_t n = strlen(s);

	if (n > UINT32_MAX)
		return usage_error("--payload-text: too long");
	free(o->payload);
	o->payload = malloc(n ? n : 1);
	if (o->payload == NULL)
		return op_error("out of memory");
	memcpy(o->payload, s, n);
	o->payload_len = (uint32_t)n;
	return 0;
}

/** Parse "LEN:OFS:PFN[,PFN...]"; the number of page numbers must match the pages spanned. */
static int
parse_gpa(const char *arg, struct inspect_opts *o)
{
	uint64_t len, ofs, pfn;
	uint32_t need, got = 0;
	uint64_t *pfns;
	struct vmb_gpa_range_out *grown;
	char *copy = strdup(arg), *f_len, *f_ofs, *f_pfns, *save = NULL, *tok;
	int rc = 0;

	if (copy == NULL)
		return op_error("out of memory");
	f_len = strtok_r(copy, ":", &save);
	f_ofs = strtok_r(NULL, ":", &save);
	f_pfns = strtok_r(NULL, "", &save);
	if (f_len == NULL || f_ofs == NULL || f_pfns == NULL ||
	    !parse_u64(f_len, UINT32_MAX, &len) || len == 0 ||
	    !parse_u64(f_ofs, VMB_PAGE_SIZE - 1, &ofs)) {
		free(copy);
		return usage_error("--gpa '%s': expected LEN:OFS:PFN[,PFN...] with LEN > 0 and "
				   "OFS < 4096",
				   arg);
	}
	need = vmb_pkt_pages_spanned((uint32_t)ofs, (uint32_t)len);
	grown = realloc(o->gpa, (o->n_gpa + 1) * sizeof(*o->gpa));
	if (grown)
		o->gpa = grown;
	pfns = grown ? calloc(need, sizeof(*pfns)) : NULL;
	if (pfns == NULL) {
		free(copy);
		return op_error("out of memory");
	}
	for (tok = strtok_r(f_pfns, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!parse_u64(tok, UINT64_MAX, &pfn) || got == need) {
			got = need + 1;
			break;
		}
		pfns[got++] = pfn;
	}
	if (got != need) {
		rc = usage_error("--gpa '%s': %" PRIu64 " bytes at offset %" PRIu64
				 " span %u page(s); give exactly that many page numbers",
				 arg, len, ofs, need);
		free(pfns);
	} else {
		o->gpa[o->n_gpa].byte_count = (uint32_t)len;
		o->gpa[o->n_gpa].byte_offset = (uint32_t)ofs;
		o->gpa[o->n_gpa].pfns = pfns;
		o->n_gpa++;
	}
	free(copy);
	return rc;
}

/** Parse "LEN:OFS" for a transfer-page range. */
static int
parse_xfer(const char *arg, struct inspect_opts *o)
{
	uint64_t len, ofs;
	const char *colon = strchr(arg, ':');
	char head[32];
	struct vmb_xfer_range *grown;

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(head))
		return usage_error("--xfer '%s': expected LEN:OFS", arg);
	memcpy(head, arg, (size_t)(colon - arg));
	head[colon - arg] = '\0';
	if (!parse_u64(head, UINT32_MAX, &len) || !parse_u64(colon + 1, UINT32_MAX, &ofs))
		return usage_error("--xfer '%s': expected LEN:OFS (32-bit numbers)", arg);
	grown = realloc(o->xfer, (o->n_xfer + 1) * sizeof(*o->xfer));
	if (grown == NULL)
		return op_error("out of memory");
	o->xfer = grown;
	o->xfer[o->n_xfer].byte_count = (uint32_t)len;
	o->xfer[o->n_xfer].byte_offset = (uint32_t)ofs;
	o->n_xfer++;
	return 0;
}

static int
parse_type(const char *s, uint16_t *type)
{
	if (strcmp(s, "inband") == 0)
		*type = VMB_PKT_INBAND;
	else if (strcmp(s, "completion") == 0)
		*type = VMB_PKT_COMPLETION;
	else if (strcmp(s, "gpa") == 0)
		*type = VMB_PKT_GPA_DIRECT;
	else if (strcmp(s, "xfer") == 0)
		*type = VMB_PKT_XFER_PAGES;
	else
		return usage_error("--type '%s': expected inband, completion, gpa or xfer", s);
	return 0;
}

static int
parse_number_opt(int id, const char *arg, struct inspect_opts *o)
{
	uint64_t v;
	const char *name = opt_name(id);
	uint64_t max = id == OPT_SET_ID ? UINT16_MAX : UINT64_MAX;

	if (!parse_u64(arg, max, &v))
		return usage_error("--%s '%s': not a valid number", name, arg);
	switch (id) {
	case OPT_OFFSET:
		o->offset = v;
		break;
	case OPT_SIZE:
		o->size = v;
		break;
	case OPT_MAX:
		o->max = v;
		break;
	case OPT_GUEST_PAGES:
		o->guest_pages = v;
		break;
	case OPT_XID:
		o->xid = v;
		break;
	case OPT_SET_ID:
		o->set_id = (uint16_t)v;
		break;
	case OPT_COUNT:
		o->count = v;
		break;
	}
	return 0;
}

/** Handle one option; 0 to go on, an exit code to stop (-1: --help printed). */
static int
handle_opt(int id, const char *arg, struct inspect_opts *o)
{
	if (id == 'h') {
		usage(stdout);
		return -1;
	}
	if (id < OPT_OFFSET || id >= OPT_END)
		return usage_error("invalid option");
	o->seen |= OPT_BIT(id);
	switch (id) {
	case OPT_HEX:
		o->hex = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_RC:
		o->rc = true;
		return 0;
	case OPT_TYPE:
		return parse_type(arg, &o->type);
	case OPT_PAYLOAD:
		return parse_hex_payload(arg, o);
	case OPT_PAYLOAD_TEXT:
		return set_text_payload(arg, o);
	case OPT_GPA:
		return parse_gpa(arg, o);
	case OPT_XFER:
		return parse_xfer(arg, o);
	default:
		return parse_number_opt(id, arg, o);
	}
}

/** Name of the first option in @p bits (for messages). */
static const char *
first_opt_name(uint32_t bits)
{
	int id;

	for (id = OPT_OFFSET; id < OPT_END; id++)
		if (bits & OPT_BIT(id))
			return opt_name(id);
	return "?";
}

/** Cross-option rules of `write`. */
static int
check_write_opts(struct inspect_opts *o)
{
	if (!(o->seen & OPT_BIT(OPT_TYPE)))
		return usage_error("write: --type is required");
	if ((o->seen & OPT_BIT(OPT_PAYLOAD)) && (o->seen & OPT_BIT(OPT_PAYLOAD_TEXT)))
		return usage_error("write: give --payload or --payload-text, not both");
	if (o->n_gpa && o->type != VMB_PKT_GPA_DIRECT)
		return usage_error("write: --gpa needs --type gpa");
	if (o->type == VMB_PKT_GPA_DIRECT && o->n_gpa == 0)
		return usage_error("write: --type gpa needs at least one --gpa range");
	if ((o->n_xfer || (o->seen & OPT_BIT(OPT_SET_ID))) && o->type != VMB_PKT_XFER_PAGES)
		return usage_error("write: --xfer and --set-id need --type xfer");
	if (o->rc && o->type == VMB_PKT_COMPLETION)
		return usage_error("write: a completion cannot request a completion (--rc)");
	if (!(o->seen & OPT_BIT(OPT_COUNT)))
		o->count = 1;
	if (o->count == 0)
		return usage_error("write: --count must be at least 1");
	return 0;
}

static int
check_command_opts(struct inspect_opts *o)
{
	static const uint32_t allowed[] = {
	    [CMD_SHOW] = SHOW_OPTS,
	    [CMD_WRITE] = WRITE_OPTS,
	    [CMD_FORMAT] = FORMAT_OPTS,
	    [CMD_SAVE] = SAVE_OPTS,
	};
	static const char *const names[] = {"show", "write", "format", "save"};
	uint32_t extra = o->seen & ~allowed[o->cmd];

	if (extra)
		return usage_error("%s: option --%s does not apply", names[o->cmd],
				   first_opt_name(extra));
	if (o->cmd == CMD_SHOW && !(o->seen & OPT_BIT(OPT_MAX)))
		o->max = UINT64_MAX;
	return o->cmd == CMD_WRITE ? check_write_opts(o) : 0;
}

static int
parse_command(const char *s, enum command *cmd)
{
	if (strcmp(s, "show") == 0)
		*cmd = CMD_SHOW;
	else if (strcmp(s, "write") == 0)
		*cmd = CMD_WRITE;
	else if (strcmp(s, "format") == 0)
		*cmd = CMD_FORMAT;
	else if (strcmp(s, "save") == 0)
		*cmd = CMD_SAVE;
	else
		return usage_error("unknown command '%s'", s);
	return 0;
}

/** Parse the command line; 0 to run, an exit code to stop (-1: --help printed). */
static int
parse_args(int argc, char **argv, struct inspect_opts *o)
{
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (c == '?')
			return usage_error("unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		rc = handle_opt(c, optarg, o);
		if (rc)
			return rc;
	}
	if (argc - optind < 1)
		return usage_error("missing command (show, write, format or save)");
	rc = parse_command(argv[optind], &o->cmd);
	if (rc)
		return rc;
	if (argc - optind < 2)
		return usage_error("%s: missing FILE", argv[optind]);
	if (argc - optind > 2)
		return usage_error("unexpected argument '%s'", argv[optind + 2]);
	o->file = argv[optind + 1];
	return check_command_opts(o);
}

static void
opts_free(struct inspect_opts *o)
{
	uint32_t i;

	for (i = 0; i < o->n_gpa; i++)
		free((void *)(uintptr_t)o->gpa[i].pfns);
	free(o->gpa);
	free(o->xfer);
	free(o->payload);
}

/* ------------------------------------------------------------------------------------------ */
/* Ring file mapping                                                                           */
/* ------------------------------------------------------------------------------------------ */

struct ring_file {
	uint8_t *map; /* page-aligned mapping start */
	size_t map_len;
	struct vmb_ring_mem mem;
};

/** Check a data area size against the ring layer's rules; NULL when fine. */
static const char *
data_size_problem(uint64_t d)
{
	if (d < 4096)
		return "is smaller than 4096";
	if (d % 4096)
		return "is not a multiple of 4096";
	if (d > MAX_DATA_SIZE)
		return "is too large (the ring layer needs D < 2^31)";
	return NULL;
}

/** True when a file of @p file_size bytes holds @p need bytes from @p offset on. */
static bool
file_has_room(uint64_t file_size, uint64_t offset, uint64_t need)
{
	return file_size >= offset && file_size - offset >= need;
}

/** Work out the data area size from the options and the file size. */
static int
ring_file_size(const struct inspect_opts *o, uint64_t file_size, uint64_t *d)
{
	const char *why;

	if (o->offset % VMB_RING_ALIGN)
		return usage_error("--offset %" PRIu64 " is not a multiple of 8", o->offset);
	if (o->seen & OPT_BIT(OPT_SIZE)) {
		why = data_size_problem(o->size);
		if (why)
			return usage_error("--size %" PRIu64 " %s", o->size, why);
		*d = o->size;
	} else if (!file_has_room(file_size, o->offset, VMB_RING_CTL_SIZE + 4096)) {
		return op_error("%s: %" PRIu64 " bytes: no ring fits at offset %" PRIu64, o->file,
				file_size, o->offset);
	} else {
		*d = file_size - o->offset - VMB_RING_CTL_SIZE;
		why = data_size_problem(*d);
		if (why)
			return op_error("%s: the rest of the file, %" PRIu64
					" bytes, %s: give --size",
					o->file, *d, why);
	}
	if (!file_has_room(file_size, o->offset, VMB_RING_CTL_SIZE + *d))
		return op_error("%s: %" PRIu64 " bytes: too small for 4096 + %" PRIu64
				" bytes at offset %" PRIu64,
				o->file, file_size, *d, o->offset);
	return 0;
}

/** Map the ring described by the options, read-only or read-write. */
static int
ring_file_open(const struct inspect_opts *o, bool writable, struct ring_file *rf)
{
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	uint64_t d = 0, map_off, delta;
	void *p;
	int fd, rc;

	fd = open(o->file, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return op_error("%s: %s", o->file, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = op_error("%s: %s", o->file, strerror(errno));
		goto out;
	}
	rc = ring_file_size(o, (uint64_t)st.st_size, &d);
	if (rc)
		goto out;
	map_off = o->offset & ~(uint64_t)(page - 1);
	delta = o->offset - map_off;
	rf->map_len = (size_t)(delta + VMB_RING_CTL_SIZE + d);
	p = mmap(NULL, rf->map_len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
		 (off_t)map_off);
	if (p == MAP_FAILED) {
		rc = op_error("%s: mmap: %s", o->file, strerror(errno));
		goto out;
	}
	rf->map = p;
	rf->mem.ctl = (struct vmbus_bufring *)(void *)(rf->map + delta);
	rf->mem.data = rf->map + delta + VMB_RING_CTL_SIZE;
	rf->mem.size = (uint32_t)d;
	rf->mem.flags = 0; /* mapped once: wrapping packets take the split paths */
out:
	close(fd);
	return rc;
}

static void
ring_file_close(struct ring_file *rf)
{
	if (rf->map)
		munmap(rf->map, rf->map_len);
	rf->map = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Ring arithmetic and corruption diagnosis                                                    */
/* ------------------------------------------------------------------------------------------ */

/** Bytes from @p from forward to @p to on a ring of @p size bytes. */
static uint32_t
ring_dist(uint32_t from, uint32_t to, uint32_t size)
{
	return to >= from ? to - from : size - from + to;
}

/** The control words, each read once. */
struct ctl_snapshot {
	uint32_t windex, rindex, imask, pending, features;
};

/** Load one shared control word. The DPDK struct is packed (alignment 1), but --offset is a
 *  multiple of 8, so the word itself is aligned: take its address as a plain uint32_t. */
static uint32_t
ctl_load(const volatile uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
ctl_read(const struct vmbus_bufring *ctl, struct ctl_snapshot *s)
{
	s->windex = ctl_load(&ctl->windex);
	s->rindex = ctl_load(&ctl->rindex);
	s->imask = ctl_load(&ctl->imask);
	s->pending = ctl_load(&ctl->pending_send);
	s->features = ctl_load(&ctl->feature_bits.value);
}

/** Where and why a ring is corrupt. */
struct corruption {
	bool found;
	bool in_control; /* offset is in the control page, else a ring (data area) offset */
	uint32_t offset;
	char reason[256];
};

static void corrupt_set(struct corruption *c, bool in_control, uint32_t offset, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static void
corrupt_set(struct corruption *c, bool in_control, uint32_t offset, const char *fmt, ...)
{
	va_list ap;

	c->found = true;
	c->in_control = in_control;
	c->offset = offset;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

/** Explain why a ring index is invalid; false when it is valid. */
static bool
index_problem(struct corruption *c, const char *name, uint32_t ctl_off, uint32_t v, uint32_t size)
{
	if (v >= size)
		corrupt_set(c, true, ctl_off,
			    "%s %" PRIu32 " is outside the data area (%" PRIu32 " bytes)", name, v,
			    size);
	else if (v % VMB_RING_ALIGN)
		corrupt_set(c, true, ctl_off, "%s %" PRIu32 " is not 8-byte aligned", name, v);
	else
		return false;
	return true;
}

/** After an attach refused the ring: say which index is wrong. */
static void
explain_attach(const struct ctl_snapshot *s, uint32_t size, struct corruption *c)
{
	if (index_problem(c, "write_index", 0, s->windex, size))
		return;
	if (index_problem(c, "read_index", 4, s->rindex, size))
		return;
	corrupt_set(c, true, 0, "the ring layer refused the control page");
}

/** Copy the descriptor at ring offset @p start, wrapping like the reader does. */
static void
copy_desc(const struct vmb_ring_mem *m, uint32_t start, struct vmbus_chanpkt_hdr *d)
{
	uint32_t first = m->size - start;

	if (first >= sizeof(*d)) {
		memcpy(d, m->data + start, sizeof(*d));
	} else {
		memcpy(d, m->data + start, first);
		memcpy((uint8_t *)d + first, m->data, sizeof(*d) - first);
	}
}

/** The reader answered VMB_RING_CORRUPT at its cursor: find which of its rules broke. */
static void
explain_read(const struct vmb_ring_reader *r, struct corruption *c)
{
	uint32_t size = r->m.size, start = r->cursor;
	uint32_t avail = ring_dist(start, r->peer_write, size);
	uint32_t len, wi;
	struct vmbus_chanpkt_hdr d;

	if (avail == 0) {
		/* The reader re-read write_index and refused it. */
		wi = ctl_load(&r->m.ctl->windex);
		if (!index_problem(c, "write_index", 0, wi, size))
			corrupt_set(c, true, 0,
				    "write_index moved backwards from %" PRIu32 " to %" PRIu32,
				    r->peer_write, wi);
		return;
	}
	if (avail < VMB_RING_MIN_PKT_LEN + VMB_RING_TRAILER_SIZE) {
		corrupt_set(c, false, start,
			    "only %" PRIu32 " bytes before write_index %" PRIu32
			    ": less than a bare descriptor and trailer (24)",
			    avail, r->peer_write);
		return;
	}
	copy_desc(&r->m, start, &d);
	len = (uint32_t)d.tlen << VMBUS_CHANPKT_SIZE_SHIFT;
	if (d.hlen < VMBUS_CHANPKT_HLEN_MIN)
		corrupt_set(c, false, start, "offset8 %u is below the minimum 2 (the descriptor)",
			    d.hlen);
	else if (d.hlen > d.tlen)
		corrupt_set(c, false, start, "offset8 %u exceeds len8 %u", d.hlen, d.tlen);
	else if (len + VMB_RING_TRAILER_SIZE > avail)
		corrupt_set(c, false, start,
			    "len8 %u (%" PRIu32 " bytes + 8-byte trailer) runs past "
			    "write_index %" PRIu32 " (%" PRIu32 " bytes available)",
			    d.tlen, len, r->peer_write, avail);
	else if (len > r->bounce_size)
		corrupt_set(c, false, start,
			    "wrapping packet of %" PRIu32 " bytes is larger than "
			    "the bounce buffer (%" PRIu32 ")",
			    len, r->bounce_size);
	else
		corrupt_set(c, false, start, "the ring reader refused the packet");
}

/** The decoder refused a packet: its reason, with the offending field where it helps. */
static void
explain_decode(const struct vmb_ring_pkt *rp, enum vmb_pkt_error err, struct corruption *c)
{
	if (err == VMB_PKT_EBADTYPE)
		corrupt_set(c, false, rp->start, "%s (type 0x%x)", vmb_pkt_error_str(err),
			    rp->desc.type);
	else if (err == VMB_PKT_EBADFLAGS)
		corrupt_set(c, false, rp->start, "%s (flags 0x%x)", vmb_pkt_error_str(err),
			    rp->desc.flags);
	else
		corrupt_set(c, false, rp->start, "%s", vmb_pkt_error_str(err));
}

/* ------------------------------------------------------------------------------------------ */
/* show: output                                                                                */
/* ------------------------------------------------------------------------------------------ */

static const char *
type_name(uint16_t type)
{
	switch (type) {
	case VMB_PKT_INBAND:
		return "inband";
	case VMB_PKT_XFER_PAGES:
		return "xfer-pages";
	case VMB_PKT_GPA_DIRECT:
		return "gpa-direct";
	case VMB_PKT_COMPLETION:
		return "completion";
	default:
		return NULL;
	}
}

/** Everything known about one packet the walker met. */
struct pkt_view {
	const struct vmb_ring_pkt *rp;
	const struct vmb_pkt *pk;
	const struct vmb_pkt_ranges *rg;
	bool decoded;	  /* the decoder accepted it: range tables are valid */
	bool wrapped;	  /* it crosses the end of the data area (read via the bounce buffer) */
	uint64_t trailer; /* the 8 bytes after it */
	bool trailer_ok;  /* trailer == start << 32 (readers skip it; shown as a hint only) */
};

static void
json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void
text_hexdump(const uint8_t *p, uint32_t len)
{
	uint32_t i, j;

	for (i = 0; i < len; i += 16) {
		printf("        %04" PRIx32 ": ", i);
		for (j = i; j < i + 16; j++) {
			if (j < len)
				printf("%02x ", p[j]);
			else
				printf("   ");
		}
		printf(" |");
		for (j = i; j < i + 16 && j < len; j++)
			putchar(p[j] >= 0x20 && p[j] < 0x7f ? p[j] : '.');
		printf("|\n");
	}
}

static void
text_header(const struct inspect_opts *o, const struct vmb_ring_mem *m,
	    const struct ctl_snapshot *s)
{
	printf("ring %s at offset %" PRIu64 ": control page 4096 bytes, data area %" PRIu32
	       " bytes\n",
	       o->file, o->offset, m->size);
	printf("  write_index        %" PRIu32 "\n", s->windex);
	printf("  read_index         %" PRIu32 "\n", s->rindex);
	printf("  interrupt_mask     %" PRIu32 "\n", s->imask);
	printf("  pending_send_size  %" PRIu32 "\n", s->pending);
	printf("  feature_bits       0x%" PRIx32 "%s\n", s->features,
	       s->features & VMB_RING_FEAT_PENDING_SEND_SZ ? " (pending_send_size supported)" : "");
}

static void
text_space(bool valid, uint32_t used, uint32_t size)
{
	if (valid)
		printf("  used %" PRIu32 " bytes, free %" PRIu32 " bytes\n", used, size - used);
	else
		printf("  used/free unknown (invalid index)\n");
}

static void
text_gpa_range(const struct vmb_gpa_range *g, const uint64_t *pfns, uint32_t i)
{
	uint32_t j;

	printf("      range %" PRIu32 ": byte_count %" PRIu32 " byte_offset %" PRIu32 " pfns", i,
	       g->byte_count, g->byte_offset);
	for (j = 0; j < g->pfn_count; j++)
		printf("%s0x%" PRIx64, j ? "," : " ", pfns[g->first_pfn + j]);
	putchar('\n');
}

static void
text_ranges(const struct pkt_view *v)
{
	const struct vmb_pkt *pk = v->pk;
	uint32_t i;

	if (pk->type == VMB_PKT_GPA_DIRECT) {
		for (i = 0; i < pk->range_count; i++)
			text_gpa_range(&v->rg->gpa[i], v->rg->pfns, i);
		return;
	}
	if (pk->type != VMB_PKT_XFER_PAGES)
		return;
	printf("      set_id %u (0x%x) sender_owns %u ranges %" PRIu32 "\n", pk->xfer_set_id,
	       pk->xfer_set_id, pk->xfer_sender_owns, pk->range_count);
	for (i = 0; i < pk->range_count; i++)
		printf("      range %" PRIu32 ": byte_count %" PRIu32 " byte_offset %" PRIu32 "\n",
		       i, v->rg->xfer[i].byte_count, v->rg->xfer[i].byte_offset);
}

static void
text_packet(const struct inspect_opts *o, uint64_t index, const struct pkt_view *v)
{
	const struct vmb_ring_pkt *rp = v->rp;
	const char *name = type_name(rp->desc.type);
	char unknown[24];

	if (name == NULL) {
		snprintf(unknown, sizeof(unknown), "unknown 0x%x", rp->desc.type);
		name = unknown;
	}
	printf("  #%" PRIu64 " @%" PRIu32 " %s offset8 %u len8 %u flags 0x%x%s xid %" PRIu64
	       " payload %" PRIu32 " bytes%s",
	       index, rp->start, name, rp->desc.hlen, rp->desc.tlen, rp->desc.flags,
	       rp->desc.flags & VMB_PKT_FLAG_RC ? " (rc)" : "", v->pk->xid, v->pk->payload_len,
	       v->wrapped ? " [wraps]" : "");
	if (!v->trailer_ok)
		printf(" [trailer 0x%016" PRIx64 " != start<<32]", v->trailer);
	putchar('\n');
	if (v->decoded)
		text_ranges(v);
	if (o->hex)
		text_hexdump(v->pk->payload, v->pk->payload_len);
}

static void
text_footer(uint64_t count, uint64_t shown, const struct corruption *c)
{
	printf("%" PRIu64 " packet(s)", count);
	if (shown != count)
		printf(", %" PRIu64 " shown (--max)", shown);
	printf(c->found ? ", ring CORRUPT\n" : ", ring ok\n");
}

static void
json_header(const struct inspect_opts *o, const struct vmb_ring_mem *m,
	    const struct ctl_snapshot *s, bool valid, uint32_t used)
{
	printf("{\"file\":");
	json_string(o->file);
	printf(",\"offset\":%" PRIu64 ",\"size\":%" PRIu32, o->offset, m->size);
	printf(",\"control\":{\"write_index\":%" PRIu32 ",\"read_index\":%" PRIu32
	       ",\"interrupt_mask\":%" PRIu32 ",\"pending_send_size\":%" PRIu32
	       ",\"feature_bits\":%" PRIu32 "}",
	       s->windex, s->rindex, s->imask, s->pending, s->features);
	if (valid)
		printf(",\"used\":%" PRIu32 ",\"free\":%" PRIu32, used, m->size - used);
	else
		printf(",\"used\":null,\"free\":null");
	printf(",\"packets\":[");
}

static void
json_gpa_range(const struct vmb_gpa_range *g, const uint64_t *pfns, bool first)
{
	uint32_t j;

	printf("%s{\"byte_count\":%" PRIu32 ",\"byte_offset\":%" PRIu32 ",\"pfns\":[",
	       first ? "" : ",", g->byte_count, g->byte_offset);
	for (j = 0; j < g->pfn_count; j++)
		printf("%s%" PRIu64, j ? "," : "", pfns[g->first_pfn + j]);
	printf("]}");
}

static void
json_ranges(const struct pkt_view *v)
{
	const struct vmb_pkt *pk = v->pk;
	uint32_t i;

	if (pk->type == VMB_PKT_XFER_PAGES)
		printf(",\"set_id\":%u,\"sender_owns\":%u", pk->xfer_set_id, pk->xfer_sender_owns);
	printf(",\"ranges\":[");
	for (i = 0; i < pk->range_count; i++) {
		if (pk->type == VMB_PKT_GPA_DIRECT)
			json_gpa_range(&v->rg->gpa[i], v->rg->pfns, i == 0);
		else
			printf("%s{\"byte_count\":%" PRIu32 ",\"byte_offset\":%" PRIu32 "}",
			       i ? "," : "", v->rg->xfer[i].byte_count, v->rg->xfer[i].byte_offset);
	}
	printf("]");
}

static void
json_packet(const struct inspect_opts *o, uint64_t index, const struct pkt_view *v)
{
	const struct vmb_ring_pkt *rp = v->rp;
	const char *name = type_name(rp->desc.type);
	uint32_t i;

	printf("%s{\"index\":%" PRIu64 ",\"offset\":%" PRIu32 ",\"type\":%u,\"type_name\":\"%s\"",
	       index ? "," : "", index, rp->start, rp->desc.type, name ? name : "unknown");
	printf(",\"offset8\":%u,\"len8\":%u,\"flags\":%u,\"xid\":%" PRIu64
	       ",\"payload_len\":%" PRIu32 ",\"wrapped\":%s,\"trailer_ok\":%s,\"valid\":%s",
	       rp->desc.hlen, rp->desc.tlen, rp->desc.flags, v->pk->xid, v->pk->payload_len,
	       v->wrapped ? "true" : "false", v->trailer_ok ? "true" : "false",
	       v->decoded ? "true" : "false");
	if (v->decoded && (v->pk->type == VMB_PKT_XFER_PAGES || v->pk->type == VMB_PKT_GPA_DIRECT))
		json_ranges(v);
	if (o->hex) {
		printf(",\"payload_hex\":\"");
		for (i = 0; i < v->pk->payload_len; i++)
			printf("%02x", v->pk->payload[i]);
		printf("\"");
	}
	printf("}");
}

static void
json_footer(uint64_t count, uint64_t shown, const struct corruption *c)
{
	printf("],\"packet_count\":%" PRIu64 ",\"shown\":%" PRIu64 ",\"status\":\"%s\"", count,
	       shown, c->found ? "corrupt" : "ok");
	if (c->found) {
		printf(",\"corrupt\":{\"where\":\"%s\",\"offset\":%" PRIu32 ",\"reason\":",
		       c->in_control ? "control" : "ring", c->offset);
		json_string(c->reason);
		printf("}");
	}
	printf("}\n");
}

/* ------------------------------------------------------------------------------------------ */
/* show: the walk                                                                              */
/* ------------------------------------------------------------------------------------------ */

struct walker {
	const struct inspect_opts *o;
	struct vmb_ring_reader r;
	struct vmb_pkt_limits lim;
	struct vmb_pkt_ranges rg;
	uint8_t *bounce;
	uint64_t count; /* packets accepted */
	uint64_t shown;
	struct corruption bad;
};

static int
walker_init(struct walker *w, const struct inspect_opts *o, uint32_t size)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->bounce = malloc(size);
	w->rg.xfer = calloc(DECODE_CAPACITY, sizeof(*w->rg.xfer));
	w->rg.gpa = calloc(DECODE_CAPACITY, sizeof(*w->rg.gpa));
	w->rg.pfns = calloc(DECODE_CAPACITY, sizeof(*w->rg.pfns));
	w->lim.types_allowed = 0; /* the four modern types */
	w->lim.max_ranges = DECODE_CAPACITY;
	w->lim.max_pfns = DECODE_CAPACITY;
	w->lim.guest_pages = o->guest_pages;
	if (!w->bounce || !w->rg.xfer || !w->rg.gpa || !w->rg.pfns)
		return op_error("out of memory");
	return 0;
}

static void
walker_fini(struct walker *w)
{
	free(w->bounce);
	free(w->rg.xfer);
	free(w->rg.gpa);
	free(w->rg.pfns);
}

static void
emit_packet(struct walker *w, const struct vmb_ring_pkt *rp, const struct vmb_pkt *pk, bool decoded)
{
	const struct vmb_ring_mem *m = &w->r.m;
	uint32_t tail = (rp->start + rp->len) % m->size; /* 8-aligned: never split */
	struct pkt_view v = {
	    .rp = rp,
	    .pk = pk,
	    .rg = &w->rg,
	    .decoded = decoded,
	    .wrapped = rp->start + rp->len > m->size,
	};

	memcpy(&v.trailer, m->data + tail, sizeof(v.trailer));
	v.trailer_ok = v.trailer == (uint64_t)rp->start << 32;
	if (w->o->json)
		json_packet(w->o, w->shown, &v);
	else
		text_packet(w->o, w->shown, &v);
	w->shown++;
}

/** Read and decode packets until the ring is empty or something is corrupt. Never commits. */
static void
walk(struct walker *w)
{
	struct vmb_ring_pkt rp;
	struct vmb_pkt pk;
	enum vmb_ring_status st;
	enum vmb_pkt_error err;

	for (;;) {
		st = vmb_ring_read(&w->r, &rp);
		if (st == VMB_RING_EMPTY)
			return;
		if (st != VMB_RING_OK) {
			explain_read(&w->r, &w->bad);
			return;
		}
		err = vmb_pkt_decode(&rp, &w->lim, &pk, &w->rg);
		if (err != VMB_PKT_OK) {
			/* Always show the offending packet, --max or not. */
			emit_packet(w, &rp, &pk, false);
			explain_decode(&rp, err, &w->bad);
			return;
		}
		if (w->shown < w->o->max)
			emit_packet(w, &rp, &pk, true);
		w->count++;
	}
}

static void
report_corruption(const char *file, const struct corruption *c)
{
	fprintf(stderr, PROG ": %s: corrupt at %soffset %" PRIu32 ": %s\n", file,
		c->in_control ? "control " : "", c->offset, c->reason);
}

static int
cmd_show(const struct inspect_opts *o)
{
	struct ring_file rf = {0};
	struct ctl_snapshot s;
	struct walker w;
	bool valid;
	uint32_t used;
	int rc;

	rc = ring_file_open(o, false, &rf);
	if (rc)
		return rc;
	rc = walker_init(&w, o, rf.mem.size);
	if (rc)
		goto out;
	ctl_read(rf.mem.ctl, &s);
	valid = (s.windex < rf.mem.size && s.windex % VMB_RING_ALIGN == 0 &&
		 s.rindex < rf.mem.size && s.rindex % VMB_RING_ALIGN == 0);
	used = valid ? ring_dist(s.rindex, s.windex, rf.mem.size) : 0;
	if (o->json) {
		json_header(o, &rf.mem, &s, valid, used);
	} else {
		text_header(o, &rf.mem, &s);
		text_space(valid, used, rf.mem.size);
	}
	/* Attach and read only load shared words: the read-only mapping proves nothing is
	 * written (a store would fault). */
	if (vmb_ring_reader_attach(&w.r, &rf.mem, w.bounce, rf.mem.size) != VMB_RING_OK)
		explain_attach(&s, rf.mem.size, &w.bad);
	else
		walk(&w);
	if (o->json)
		json_footer(w.count, w.shown, &w.bad);
	else
		text_footer(w.count, w.shown, &w.bad);
	if (w.bad.found) {
		report_corruption(o->file, &w.bad);
		rc = EXIT_CORRUPT;
	}
out:
	walker_fini(&w);
	ring_file_close(&rf);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* write                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** Reserve and fill one packet of the kind the options describe (not committed). */
static enum vmb_ring_status
write_one(struct vmb_ring_writer *w, const struct inspect_opts *o, uint64_t xid)
{
	uint16_t flags = o->rc ? VMB_PKT_FLAG_RC : 0;

	switch (o->type) {
	case VMB_PKT_COMPLETION:
		return vmb_pkt_write_completion(w, xid, o->payload, o->payload_len);
	case VMB_PKT_GPA_DIRECT:
		return vmb_pkt_write_gpa_direct(w, xid, flags, o->gpa, o->n_gpa, o->payload,
						o->payload_len);
	case VMB_PKT_XFER_PAGES:
		return vmb_pkt_write_xfer_pages(w, xid, flags, o->set_id, o->xfer, o->n_xfer,
						o->payload, o->payload_len);
	default:
		return vmb_pkt_write_inband(w, xid, flags, o->payload, o->payload_len);
	}
}

static void
print_written(const struct inspect_opts *o, const struct vmb_ring_writer *w, uint32_t start,
	      uint64_t xid)
{
	uint32_t size = w->m.size;
	uint32_t len = ring_dist(start, w->cursor, size) - VMB_RING_TRAILER_SIZE;

	printf("wrote %s at offset %" PRIu32 ": len8 %" PRIu32 " (%" PRIu32 " bytes + 8-byte "
	       "trailer), xid %" PRIu64 ", flags 0x%x, payload %" PRIu32 " bytes%s\n",
	       type_name(o->type), start, len / 8, len, xid, o->rc ? VMB_PKT_FLAG_RC : 0,
	       o->payload_len, start + len > size ? " [wraps]" : "");
}

/** Commit the batch and print the signalling decision. */
static void
commit_batch(struct vmb_ring_writer *w)
{
	uint32_t old = w->committed;
	bool signal = vmb_ring_write_commit(w);

	printf("commit: write_index %" PRIu32 " -> %" PRIu32 ", signal: %s\n", old, w->committed,
	       signal ? "yes (reader not masked and ring was empty)" : "no");
}

static int
write_status_error(const struct inspect_opts *o, const struct ring_file *rf,
		   enum vmb_ring_status st, uint64_t written)
{
	uint32_t size = rf->mem.size;
	uint32_t read_index = ctl_load(&rf->mem.ctl->rindex);

	switch (st) {
	case VMB_RING_FULL:
		return op_error("%s: ring full: wrote %" PRIu64 " of %" PRIu64 " packet(s)",
				o->file, written, o->count);
	case VMB_RING_TOO_LARGE:
		return op_error("%s: packet too large for a data area of %" PRIu32 " bytes (or "
				"unencodable); wrote %" PRIu64 " of %" PRIu64 " packet(s)",
				o->file, size, written, o->count);
	default:
		fprintf(stderr,
			PROG ": %s: corrupt at control offset 4: read_index %" PRIu32
			     " is invalid or moved backwards\n",
			o->file, read_index);
		return EXIT_CORRUPT;
	}
}

static int
cmd_write(const struct inspect_opts *o)
{
	struct ring_file rf = {0};
	struct vmb_ring_writer w;
	struct ctl_snapshot s;
	struct corruption bad = {0};
	enum vmb_ring_status st = VMB_RING_OK;
	uint64_t i;
	uint32_t start;
	int rc;

	rc = ring_file_open(o, true, &rf);
	if (rc)
		return rc;
	ctl_read(rf.mem.ctl, &s);
	if (vmb_ring_writer_attach(&w, &rf.mem) != VMB_RING_OK) {
		explain_attach(&s, rf.mem.size, &bad);
		report_corruption(o->file, &bad);
		rc = EXIT_CORRUPT;
		goto out;
	}
	for (i = 0; i < o->count; i++) {
		start = w.cursor;
		st = write_one(&w, o, o->xid + i);
		if (st != VMB_RING_OK)
			break;
		print_written(o, &w, start, o->xid + i);
	}
	if (i > 0)
		commit_batch(&w);
	if (st != VMB_RING_OK)
		rc = write_status_error(o, &rf, st, i);
out:
	ring_file_close(&rf);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* format                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int
cmd_format(const struct inspect_opts *o)
{
	uint64_t d = (o->seen & OPT_BIT(OPT_SIZE)) ? o->size : DEFAULT_FORMAT_SIZE;
	const char *why = data_size_problem(d);
	void *ctl;
	int fd, rc = 0;

	if (why)
		return usage_error("--size %" PRIu64 " %s", d, why);
	fd = open(o->file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return op_error("%s: %s", o->file, strerror(errno));
	if (ftruncate(fd, (off_t)(VMB_RING_CTL_SIZE + d)) < 0) {
		rc = op_error("%s: ftruncate: %s", o->file, strerror(errno));
		goto out;
	}
	ctl = mmap(NULL, VMB_RING_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ctl == MAP_FAILED) {
		rc = op_error("%s: mmap: %s", o->file, strerror(errno));
		goto out;
	}
	vmb_ring_format(ctl);
	munmap(ctl, VMB_RING_CTL_SIZE);
	printf("formatted %s: control page 4096 bytes + data area %" PRIu64
	       " bytes (interrupt_mask 1)\n",
	       o->file, d);
out:
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* save: a saved channel stream                                                                */
/* ------------------------------------------------------------------------------------------ */

/** Largest stream file read. */
#define SAVE_MAX_FILE (1ull << 30)
/** Bytes of message, VSP and completion data previewed without --hex. */
#define SAVE_PREVIEW 16u
/** Problems kept for the report (all are counted). */
#define SAVE_MAX_PROBLEMS 64u

#define SAVE_PAD8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)

/** What vmb_channel_restore() would answer for a problem (doc/save-format.md). */
enum save_class {
	SC_EMSGSIZE,    /* truncated or padded chunk */
	SC_EBADMSG,     /* CRC mismatch */
	SC_EILSEQ,      /* order, duplicate, missing first chunk */
	SC_EXDEV,       /* chunk of another stream */
	SC_ENOTSUP,     /* future major version, unknown critical record */
	SC_EPROTO,      /* not a save chunk, or malformed */
	SC_EINPROGRESS, /* the stream ends before its last chunk */
	SC_EEXIST,      /* vmb_packet_restore(): a transaction slot restored twice */
};

static const char *const save_class_name[] = {
    [SC_EMSGSIZE] = "EMSGSIZE", [SC_EBADMSG] = "EBADMSG",   [SC_EILSEQ] = "EILSEQ",
    [SC_EXDEV] = "EXDEV",       [SC_ENOTSUP] = "ENOTSUP",   [SC_EPROTO] = "EPROTO",
    [SC_EINPROGRESS] = "EINPROGRESS", [SC_EEXIST] = "EEXIST",
};

struct save_problem {
	uint64_t offset; /* file offset */
	int64_t chunk;   /* -1: none */
	int64_t record;  /* -1: none (index within the chunk) */
	enum save_class cls;
	char reason[200];
};

struct save_walk {
	const struct inspect_opts *o;
	const uint8_t *file;
	size_t size;
	/* stream */
	uint32_t chunks;
	uint64_t stream_id;
	uint32_t next_seq;
	bool saw_last;
	bool have_channel;
	struct vmb_save_channel_v1 chan;
	bool saw_end;
	uint32_t packets, queued, inflight, completions, unknown;
	uint8_t *slots; /* bitmap of transaction slots seen (sized by the channel record) */
	uint32_t nslots;
	/* where we are */
	int64_t chunk, record;
	uint64_t chunk_off;
	bool json_rec_open; /* a JSON record object is open (its decoded part pending) */
	/* findings */
	struct save_problem problems[SAVE_MAX_PROBLEMS];
	uint32_t nproblems;
};

static void save_problem(struct save_walk *w, uint64_t offset, enum save_class cls, const char *fmt,
			 ...) __attribute__((format(printf, 4, 5)));

/** Record a problem at file @p offset; in text mode it is printed where it is found. */
static void
save_problem(struct save_walk *w, uint64_t offset, enum save_class cls, const char *fmt, ...)
{
	struct save_problem pb = {.offset = offset, .chunk = w->chunk, .record = w->record,
				  .cls = cls};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pb.reason, sizeof(pb.reason), fmt, ap);
	va_end(ap);
	if (w->nproblems < SAVE_MAX_PROBLEMS)
		w->problems[w->nproblems] = pb;
	w->nproblems++;
	if (!w->o->json)
		printf("    !! @%" PRIu64 ": %s (restore: -%s)\n", offset, pb.reason,
		       save_class_name[cls]);
}

/** Hex of @p n bytes, all of them with --hex, else the first SAVE_PREVIEW. */
static void
save_hex(const struct save_walk *w, const uint8_t *p, uint32_t n)
{
	uint32_t shown = w->o->hex || n <= SAVE_PREVIEW ? n : SAVE_PREVIEW, i;

	for (i = 0; i < shown; i++)
		printf("%s%02x", w->o->json || i == 0 ? "" : " ", p[i]);
	if (!w->o->json && shown < n)
		printf(" ... (+%" PRIu32 " bytes)", n - shown);
}

/** "name N bytes: hex" (text) or ,"name_len":N,"name_hex":"..." (JSON). */
static void
save_bytes(const struct save_walk *w, const char *name, const uint8_t *p, uint32_t n)
{
	if (w->o->json) {
		printf(",\"%s_len\":%" PRIu32 ",\"%s_hex\":\"", name, n, name);
		save_hex(w, p, n);
		printf("\"");
		return;
	}
	printf("      %s %" PRIu32 " byte(s)%s", name, n, n ? ": " : "");
	save_hex(w, p, n);
	putchar('\n');
}

static void
save_guid(const uint8_t g[16])
{
	printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
	       g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
	       g[15]);
}

static const char *
save_tag_name(uint16_t tag)
{
	switch (tag) {
	case VMB_SAVE_TAG_CHANNEL:
		return "channel";
	case VMB_SAVE_TAG_PACKET:
		return "packet";
	case VMB_SAVE_TAG_COMPLETION:
		return "completion";
	case VMB_SAVE_TAG_END:
		return "end";
	default:
		return "unknown";
	}
}

/* ---- records ---- */

static void
save_channel_rec(struct save_walk *w, const uint8_t *v, uint32_t len, uint64_t at, bool first,
		 size_t rec_off)
{
	struct vmb_save_channel_v1 c;

	if (w->have_channel || !first || rec_off != 0)
		save_problem(w, at, SC_EPROTO,
			     "channel record out of place: it is the first record of the first "
			     "chunk, once");
	if (len < sizeof(c)) {
		save_problem(w, at, SC_EPROTO, "channel record of %" PRIu32 " bytes, want >= %zu",
			     len, sizeof(c));
		return;
	}
	memcpy(&c, v, sizeof(c));
	if (c.role != 1)
		save_problem(w, at, SC_EPROTO, "channel role %" PRIu32 ": not a server (1)", c.role);
	if (!w->have_channel) {
		w->have_channel = true;
		w->chan = c;
		/* The library caps tx_capacity at 65536; a larger claim is checked without it. */
		w->nslots = c.tx_capacity <= 65536 ? c.tx_capacity : 0;
		w->slots = calloc(w->nslots / 8 + 1, 1);
		if (w->slots == NULL)
			w->nslots = 0;
	}
	if (w->o->json) {
		printf(",\"channel\":{\"role\":%" PRIu32 ",\"max_packet\":%" PRIu32
		       ",\"max_ext_data\":%" PRIu32 ",\"max_ext_chain\":%" PRIu32 ",\"if_type\":\"",
		       c.role, c.max_packet, c.max_ext_data, c.max_ext_chain);
		save_guid(c.if_type);
		printf("\",\"if_instance\":\"");
		save_guid(c.if_instance);
		printf("\",\"packets\":%" PRIu32 ",\"completions\":%" PRIu32, c.packets,
		       c.completions);
		if (c.read_cursor == UINT32_MAX)
			printf(",\"read_cursor\":null");
		else
			printf(",\"read_cursor\":%" PRIu32, c.read_cursor);
		if (c.read_committed == UINT32_MAX)
			printf(",\"read_committed\":null");
		else
			printf(",\"read_committed\":%" PRIu32, c.read_committed);
		printf(",\"tx_capacity\":%" PRIu32 "}", c.tx_capacity);
		return;
	}
	printf("      role %" PRIu32 "%s max_packet %" PRIu32 " max_ext_data %" PRIu32
	       " max_ext_chain %" PRIu32 " tx_capacity %" PRIu32 "\n",
	       c.role, c.role == 1 ? " (server)" : "", c.max_packet, c.max_ext_data,
	       c.max_ext_chain, c.tx_capacity);
	printf("      if_type ");
	save_guid(c.if_type);
	printf(" if_instance ");
	save_guid(c.if_instance);
	printf("\n      packets %" PRIu32 " completions %" PRIu32, c.packets, c.completions);
	if (c.read_cursor == UINT32_MAX)
		printf(" read_cursor none (incoming ring not attached)");
	else
		printf(" read_cursor %" PRIu32 " read_committed %" PRIu32, c.read_cursor,
		       c.read_committed);
	putchar('\n');
}

/** Check the library part against the rules of restore (and the saving channel's limits). */
static bool
save_lib_check(struct save_walk *w, const struct vmb_save_lib_v1 *l, uint32_t lib_len,
	       uint64_t at)
{
	uint64_t need;
	uint32_t slot = (uint32_t)l->xid - 1;
	bool ok = true;

	if (l->version != 1) {
		save_problem(w, at, SC_EPROTO, "library part version %u, want 1", l->version);
		ok = false;
	}
	if (l->hdr_size < sizeof(*l) || l->hdr_size > lib_len) {
		save_problem(w, at, SC_EPROTO,
			     "library header size %u: below %zu or past the library part (%" PRIu32
			     " bytes)",
			     l->hdr_size, sizeof(*l), lib_len);
		return false;
	}
	if (l->state != VMB_SAVE_PKT_QUEUED && l->state != VMB_SAVE_PKT_INFLIGHT) {
		save_problem(w, at, SC_EPROTO, "packet state %" PRIu32 ": neither queued (1) nor "
					       "in flight (2)", l->state);
		ok = false;
	}
	if (l->send_flags & ~VMB_SEND_WAIT_FOR_COMPLETION) {
		save_problem(w, at, SC_EPROTO, "unknown send flags 0x%" PRIx32, l->send_flags);
		ok = false;
	}
	if (l->ext_count && !(l->send_flags & VMB_SEND_WAIT_FOR_COMPLETION)) {
		save_problem(w, at, SC_EPROTO, "external data without wait-for-completion");
		ok = false;
	}
	if (l->state == VMB_SAVE_PKT_INFLIGHT &&
	    (l->inline_len || !(l->send_flags & VMB_SEND_WAIT_FOR_COMPLETION))) {
		save_problem(w, at, SC_EPROTO, "in-flight packet with message bytes or without "
					       "wait-for-completion");
		ok = false;
	}
	if ((uint32_t)l->xid == 0 || (l->xid >> 32) == 0) {
		save_problem(w, at, SC_EPROTO, "transaction id 0x%" PRIx64 ": slot and generation "
					       "must be non-zero", l->xid);
		ok = false;
	} else if (w->have_channel && slot >= w->chan.tx_capacity) {
		save_problem(w, at, SC_EPROTO, "transaction slot %" PRIu32 " beyond the channel's "
					       "tx_capacity %" PRIu32, slot, w->chan.tx_capacity);
		ok = false;
	} else if (slot < w->nslots) {
		if (w->slots[slot / 8] & (1u << (slot % 8)))
			save_problem(w, at, SC_EEXIST,
				     "transaction slot %" PRIu32 " (xid 0x%" PRIx64 ") appears twice",
				     slot, l->xid);
		w->slots[slot / 8] |= (uint8_t)(1u << (slot % 8));
	}
	if (w->have_channel &&
	    (l->inline_len > w->chan.max_packet || l->ext_count > w->chan.max_ext_chain ||
	     l->pfn_count > w->chan.max_ext_data / VMB_PAGE_SIZE + w->chan.max_ext_chain)) {
		save_problem(w, at, SC_EPROTO, "message, range or page counts beyond the channel's "
					       "limits");
		ok = false;
	}
	need = (uint64_t)l->hdr_size + (uint64_t)l->ext_count * sizeof(struct vmb_save_range_v1) +
	       (uint64_t)l->pfn_count * 8 + l->inline_len;
	if (need != lib_len) {
		save_problem(w, at, SC_EPROTO,
			     "library part of %" PRIu32 " bytes, but header %u + %" PRIu32
			     " range(s) * 16 + %" PRIu32 " pfn(s) * 8 + message %" PRIu32 " = %" PRIu64,
			     lib_len, l->hdr_size, l->ext_count, l->pfn_count, l->inline_len, need);
		return false;
	}
	return ok;
}

static void
save_ranges(struct save_walk *w, const struct vmb_save_lib_v1 *l, const uint8_t *lib, uint64_t at)
{
	const uint8_t *pfns = lib + l->hdr_size + (size_t)l->ext_count * 16u;
	uint64_t bytes = 0, used = 0;
	uint32_t i, j;

	if (w->o->json)
		printf(",\"ranges\":[");
	for (i = 0; i < l->ext_count; i++) {
		struct vmb_save_range_v1 r;

		memcpy(&r, lib + l->hdr_size + (size_t)i * sizeof(r), sizeof(r));
		if (r.byte_count == 0 || r.byte_offset >= VMB_PAGE_SIZE ||
		    r.pfn_count != vmb_pkt_pages_spanned(r.byte_offset, r.byte_count))
			save_problem(w, at, SC_EPROTO,
				     "range %" PRIu32 ": byte_count %" PRIu32 " byte_offset %" PRIu32
				     " pfn_count %" PRIu32 " (want count > 0, offset < 4096, %" PRIu32
				     " page(s))",
				     i, r.byte_count, r.byte_offset, r.pfn_count,
				     vmb_pkt_pages_spanned(r.byte_offset, r.byte_count));
		bytes += r.byte_count;
		if (w->o->json)
			printf("%s{\"byte_count\":%" PRIu32 ",\"byte_offset\":%" PRIu32
			       ",\"pfn_count\":%" PRIu32 ",\"pfns\":[",
			       i ? "," : "", r.byte_count, r.byte_offset, r.pfn_count);
		else
			printf("      range %" PRIu32 ": byte_count %" PRIu32 " byte_offset %" PRIu32
			       " pfns",
			       i, r.byte_count, r.byte_offset);
		for (j = 0; j < r.pfn_count && used < l->pfn_count; j++, used++) {
			uint64_t pfn;
			memcpy(&pfn, pfns + used * 8, 8);
			printf(w->o->json ? "%s%" PRIu64 : "%s0x%" PRIx64,
			       w->o->json ? (j ? "," : "") : (j ? "," : " "), pfn);
		}
		if (j < r.pfn_count)
			used = UINT64_MAX; /* more page numbers named than present */
		printf(w->o->json ? "]}" : "\n");
		if (used == UINT64_MAX)
			break;
	}
	if (w->o->json)
		printf("]");
	if (used != l->pfn_count)
		save_problem(w, at, SC_EPROTO, "the ranges name %s page numbers than pfn_count %" PRIu32,
			     used > l->pfn_count ? "more" : "fewer", l->pfn_count);
	if (w->have_channel && bytes > w->chan.max_ext_data)
		save_problem(w, at, SC_EPROTO, "external data of %" PRIu64 " bytes beyond the "
					       "channel's max_ext_data %" PRIu32, bytes,
			     w->chan.max_ext_data);
}

static void
save_packet_rec(struct save_walk *w, const uint8_t *v, uint32_t len, uint64_t at)
{
	struct vmb_save_packet_v1 ph;
	struct vmb_save_lib_v1 l;
	const uint8_t *lib;
	bool queued;

	if (len < sizeof(ph)) {
		save_problem(w, at, SC_EPROTO, "packet record of %" PRIu32 " bytes, want >= %zu", len,
			     sizeof(ph));
		return;
	}
	memcpy(&ph, v, sizeof(ph));
	if (w->o->json)
		printf(",\"packet\":{\"lib_len\":%" PRIu32 ",\"vsp_len\":%" PRIu32, ph.lib_len,
		       ph.vsp_len);
	if (sizeof(ph) + SAVE_PAD8(ph.lib_len) + ph.vsp_len != len) {
		save_problem(w, at, SC_EPROTO,
			     "packet record of %" PRIu32 " bytes, but 8 + library part %" PRIu32
			     " (padded %" PRIu64 ") + VSP %" PRIu32 " = %" PRIu64,
			     len, ph.lib_len, SAVE_PAD8(ph.lib_len), ph.vsp_len,
			     sizeof(ph) + SAVE_PAD8(ph.lib_len) + ph.vsp_len);
		if (!w->o->json)
			printf("      lib_len %" PRIu32 " vsp_len %" PRIu32 " (not decoded)\n",
			       ph.lib_len, ph.vsp_len);
		goto out;
	}
	w->packets++;
	lib = v + sizeof(ph);
	if (ph.lib_len < sizeof(l)) {
		save_problem(w, at, SC_EPROTO, "library part of %" PRIu32 " bytes, want >= %zu",
			     ph.lib_len, sizeof(l));
		goto vsp;
	}
	memcpy(&l, lib, sizeof(l));
	queued = l.state == VMB_SAVE_PKT_QUEUED;
	if (queued)
		w->queued++;
	else if (l.state == VMB_SAVE_PKT_INFLIGHT)
		w->inflight++;
	if (w->o->json) {
		printf(",\"version\":%u,\"hdr_size\":%u,\"state\":%" PRIu32 ",\"state_name\":\"%s\""
		       ",\"xid\":%" PRIu64 ",\"xid_gen\":%" PRIu32 ",\"xid_slot\":%" PRIu32
		       ",\"send_flags\":%" PRIu32 ",\"wait_for_completion\":%s"
		       ",\"ext_count\":%" PRIu32 ",\"pfn_count\":%" PRIu32,
		       l.version, l.hdr_size, l.state,
		       queued ? "queued" : l.state == VMB_SAVE_PKT_INFLIGHT ? "in-flight" : "invalid",
		       l.xid, (uint32_t)(l.xid >> 32), (uint32_t)l.xid - 1, l.send_flags,
		       (l.send_flags & VMB_SEND_WAIT_FOR_COMPLETION) ? "true" : "false", l.ext_count,
		       l.pfn_count);
	} else {
		printf("      %s xid 0x%" PRIx64 " (gen %" PRIu32 " slot %" PRIu32
		       ") send_flags 0x%" PRIx32 "%s\n",
		       queued ? "queued" : l.state == VMB_SAVE_PKT_INFLIGHT ? "in-flight" : "state ?",
		       l.xid, (uint32_t)(l.xid >> 32), (uint32_t)l.xid - 1, l.send_flags,
		       (l.send_flags & VMB_SEND_WAIT_FOR_COMPLETION) ? " (wait-for-completion)" : "");
		printf("      library part %" PRIu32 " bytes (v%u, header %u): %" PRIu32
		       " range(s), %" PRIu32 " pfn(s), message %" PRIu32 " byte(s)\n",
		       ph.lib_len, l.version, l.hdr_size, l.ext_count, l.pfn_count, l.inline_len);
	}
	if (save_lib_check(w, &l, ph.lib_len, at)) {
		save_ranges(w, &l, lib, at);
		if (l.inline_len || w->o->json)
			save_bytes(w, "inline",
				   lib + l.hdr_size + (size_t)l.ext_count * 16u +
					   (size_t)l.pfn_count * 8u,
				   l.inline_len);
	}
vsp:
	save_bytes(w, "vsp", lib + SAVE_PAD8(ph.lib_len), ph.vsp_len);
out:
	if (w->o->json)
		printf("}");
}

static void
save_completion_rec(struct save_walk *w, const uint8_t *v, uint32_t len, uint64_t at)
{
	struct vmb_save_completion_v1 c;

	w->completions++;
	if (len < sizeof(c)) {
		save_problem(w, at, SC_EPROTO, "completion record of %" PRIu32 " bytes, want >= %zu",
			     len, sizeof(c));
		return;
	}
	memcpy(&c, v, sizeof(c));
	if (w->o->json)
		printf(",\"completion\":{\"xid\":%" PRIu64 ",\"len\":%" PRIu32, c.xid, c.len);
	else
		printf("      xid 0x%" PRIx64 " payload %" PRIu32 " byte(s)\n", c.xid, c.len);
	if (sizeof(c) + (uint64_t)c.len != len)
		save_problem(w, at, SC_EPROTO,
			     "completion of %" PRIu32 " payload bytes in a record of %" PRIu32
			     " (want %" PRIu64 ")",
			     c.len, len, sizeof(c) + (uint64_t)c.len);
	else
		save_bytes(w, "payload", v + sizeof(c), c.len);
	if (w->o->json)
		printf("}");
}

static void
save_end_rec(struct save_walk *w, const uint8_t *v, uint32_t len, uint64_t at, bool last)
{
	struct vmb_save_end_v1 e;

	w->saw_end = true;
	if (!last)
		save_problem(w, at, SC_EPROTO, "end record in a chunk that is not the last");
	if (len < sizeof(e)) {
		save_problem(w, at, SC_EPROTO, "end record of %" PRIu32 " bytes, want >= %zu", len,
			     sizeof(e));
		return;
	}
	memcpy(&e, v, sizeof(e));
	if (w->o->json)
		printf(",\"end\":{\"packets\":%" PRIu32 ",\"completions\":%" PRIu32 "}", e.packets,
		       e.completions);
	else
		printf("      packets %" PRIu32 " completions %" PRIu32 "\n", e.packets,
		       e.completions);
	if (!w->have_channel)
		save_problem(w, at, SC_EPROTO, "end record without a channel record");
	else if (e.packets != w->packets || e.completions != w->completions ||
		 e.packets != w->chan.packets || e.completions != w->chan.completions)
		save_problem(w, at, SC_EPROTO,
			     "totals: the end record says %" PRIu32 " packet(s) and %" PRIu32
			     " completion(s), the channel record %" PRIu32 " and %" PRIu32
			     ", the stream holds %" PRIu32 " and %" PRIu32,
			     e.packets, e.completions, w->chan.packets, w->chan.completions,
			     w->packets, w->completions);
}

/** Walk the records of one chunk payload (file offset @p base). */
static void
save_records(struct save_walk *w, const uint8_t *p, size_t len, uint64_t base, bool first,
	     bool last)
{
	size_t off = 0;

	if (w->o->json)
		printf(",\"records\":[");
	for (w->record = 0; off < len; w->record++) {
		struct vmb_save_rec_hdr h;
		uint64_t at = base + off;
		const uint8_t *v;

		if (w->saw_end)
			save_problem(w, at, SC_EPROTO, "record after the end record");
		if (len - off < sizeof(h)) {
			save_problem(w, at, SC_EPROTO,
				     "%zu byte(s) left in the chunk: shorter than a record header (8)",
				     len - off);
			break;
		}
		memcpy(&h, p + off, sizeof(h));
		if (w->o->json) {
			printf("%s{\"index\":%" PRId64 ",\"offset\":%" PRIu64 ",\"tag\":%u,\"name\":\"%s\""
			       ",\"flags\":%u,\"critical\":%s,\"len\":%" PRIu32,
			       w->record ? "," : "", w->record, at, h.tag, save_tag_name(h.tag), h.flags,
			       (h.flags & VMB_SAVE_REC_CRITICAL) ? "true" : "false", h.len);
		} else {
			printf("  record %" PRId64 " @%" PRIu64 ": %s", w->record, at,
			       save_tag_name(h.tag));
			if (save_tag_name(h.tag)[0] == 'u')
				printf(" (tag %u)", h.tag);
			printf("%s len %" PRIu32 "\n",
			       (h.flags & VMB_SAVE_REC_CRITICAL) ? " critical" : " optional", h.len);
		}
		if (SAVE_PAD8(h.len) > len - off - sizeof(h)) {
			save_problem(w, at, SC_EPROTO,
				     "record value of %" PRIu32 " bytes (%" PRIu64 " padded) runs past the "
				     "chunk (%zu bytes left)",
				     h.len, SAVE_PAD8(h.len), len - off - sizeof(h));
			if (w->o->json)
				printf("}");
			break;
		}
		v = p + off + sizeof(h);
		if (first && off == 0 && h.tag != VMB_SAVE_TAG_CHANNEL)
			save_problem(w, at, SC_EPROTO,
				     "the stream must begin with the channel record, not %s (tag %u)",
				     save_tag_name(h.tag), h.tag);
		switch (h.tag) {
		case VMB_SAVE_TAG_CHANNEL:
			save_channel_rec(w, v, h.len, at, first, off);
			break;
		case VMB_SAVE_TAG_PACKET:
			save_packet_rec(w, v, h.len, at);
			break;
		case VMB_SAVE_TAG_COMPLETION:
			save_completion_rec(w, v, h.len, at);
			break;
		case VMB_SAVE_TAG_END:
			save_end_rec(w, v, h.len, at, last);
			break;
		default:
			w->unknown++;
			if (h.flags & VMB_SAVE_REC_CRITICAL)
				save_problem(w, at, SC_ENOTSUP,
					     "unknown critical record (tag %u): a newer format this "
					     "reader must not skip",
					     h.tag);
			else if (!w->o->json)
				printf("      skipped (unknown optional record)\n");
			break;
		}
		if (w->o->json)
			printf("}");
		off += sizeof(h) + SAVE_PAD8(h.len);
	}
	w->record = -1;
	if (last && !w->saw_end)
		save_problem(w, base + len, SC_EPROTO, "the last chunk has no end record");
	if (w->o->json)
		printf("]");
}

/* ---- chunks ---- */

static void
save_chunk_flags(uint32_t flags, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s%s", (flags & VMB_SAVE_CHUNK_FIRST) ? "first" : "",
		 (flags & VMB_SAVE_CHUNK_FIRST) && (flags & VMB_SAVE_CHUNK_LAST) ? "," : "",
		 (flags & VMB_SAVE_CHUNK_LAST) ? "last" : "",
		 (flags & ~(VMB_SAVE_CHUNK_FIRST | VMB_SAVE_CHUNK_LAST)) ? ",+unknown" : "");
}

/** One chunk at file offset @p off with @p len bytes (header included, known to fit). */
static void
save_chunk(struct save_walk *w, uint64_t off, size_t len)
{
	const uint8_t *p = w->file + off;
	struct vmb_save_chunk_info info;
	uint32_t crc;
	uint8_t zero[4] = {0};
	char fl[32];
	bool first = w->chunk == 0, last, decode = true;

	if (vmb_save_chunk_info(p, len, &info) != 0) {
		save_problem(w, off, SC_EPROTO, "the library refused the chunk header");
		return;
	}
	crc = vmb_crc32c(0, p, offsetof(struct vmb_save_chunk_hdr, crc));
	crc = vmb_crc32c(crc, zero, sizeof(zero));
	crc = vmb_crc32c(crc, p + VMB_SAVE_CHUNK_HEADER, info.payload_len);
	last = info.flags & VMB_SAVE_CHUNK_LAST;
	save_chunk_flags(info.flags, fl, sizeof(fl));
	if (w->o->json) {
		printf("%s{\"index\":%" PRId64 ",\"offset\":%" PRIu64 ",\"seq\":%" PRIu32
		       ",\"flags\":%" PRIu32 ",\"first\":%s,\"last\":%s,\"stream_id\":\"0x%016" PRIx64
		       "\",\"major\":%u,\"minor\":%u,\"payload_len\":%" PRIu32 ",\"crc\":%" PRIu32
		       ",\"crc_ok\":%s",
		       w->chunk ? "," : "", w->chunk, off, info.seq, info.flags,
		       (info.flags & VMB_SAVE_CHUNK_FIRST) ? "true" : "false", last ? "true" : "false",
		       info.stream_id, info.major, info.minor, info.payload_len, info.crc,
		       info.crc_ok ? "true" : "false");
	} else {
		printf("chunk %" PRId64 " @%" PRIu64 ": seq %" PRIu32 " flags 0x%" PRIx32 " (%s) stream "
		       "0x%016" PRIx64 " format %u.%u payload %" PRIu32 " bytes crc 0x%08" PRIx32
		       " %s\n",
		       w->chunk, off, info.seq, info.flags, fl[0] ? fl : "middle", info.stream_id,
		       info.major, info.minor, info.payload_len, info.crc,
		       info.crc_ok ? "ok" : "BAD");
	}
	/* The order restore checks them in: version, CRC, place in the stream. */
	if (info.major != VMB_SAVE_MAJOR) {
		save_problem(w, off, SC_ENOTSUP,
			     "format %u.%u: major version %u cannot be read by this reader (%u)",
			     info.major, info.minor, info.major, VMB_SAVE_MAJOR);
		decode = false; /* records of another major have another layout */
	}
	if (!info.crc_ok)
		save_problem(w, off + offsetof(struct vmb_save_chunk_hdr, crc), SC_EBADMSG,
			     "CRC32C mismatch: stored 0x%08" PRIx32 ", computed 0x%08" PRIx32,
			     info.crc, crc);
	if (first) {
		w->stream_id = info.stream_id;
		if (!(info.flags & VMB_SAVE_CHUNK_FIRST) || info.seq != 0)
			save_problem(w, off, SC_EILSEQ,
				     "the stream does not begin with its first chunk (seq %" PRIu32
				     ", flags %s)",
				     info.seq, fl[0] ? fl : "none");
	} else if (info.stream_id != w->stream_id) {
		save_problem(w, off, SC_EXDEV,
			     "chunk of another stream: id 0x%016" PRIx64 ", the stream is 0x%016" PRIx64,
			     info.stream_id, w->stream_id);
	} else if ((info.flags & VMB_SAVE_CHUNK_FIRST) || info.seq != w->next_seq) {
		save_problem(w, off, SC_EILSEQ,
			     "chunk out of order or duplicated: seq %" PRIu32 "%s, expected %" PRIu32,
			     info.seq, (info.flags & VMB_SAVE_CHUNK_FIRST) ? " marked first" : "",
			     w->next_seq);
	}
	if (w->saw_last)
		save_problem(w, off, SC_EILSEQ, "chunk after the last chunk");
	w->next_seq = info.seq + 1;
	if (decode)
		save_records(w, p + VMB_SAVE_CHUNK_HEADER, info.payload_len,
			     off + VMB_SAVE_CHUNK_HEADER, first, last);
	if (last)
		w->saw_last = true;
	if (w->o->json)
		printf("}");
}

/** Frame and walk the chunks of the whole file. */
static void
save_walk_file(struct save_walk *w)
{
	uint64_t off = 0;

	if (w->o->json)
		printf(",\"chunks\":[");
	if (w->size == 0)
		save_problem(w, 0, SC_EMSGSIZE, "empty file: no chunk");
	for (w->chunk = 0; off < w->size; w->chunk++) {
		size_t left = w->size - (size_t)off;
		struct vmb_save_chunk_hdr h;

		w->record = -1;
		if (left < sizeof(h)) {
			save_problem(w, off, SC_EMSGSIZE,
				     "%zu trailing byte(s): shorter than a chunk header (32)", left);
			break;
		}
		memcpy(&h, w->file + off, sizeof(h));
		if (h.magic != VMB_SAVE_MAGIC) {
			save_problem(w, off, SC_EPROTO,
				     "not a save chunk: magic 0x%08" PRIx32 ", want 0x%08x (\"VMBS\")",
				     h.magic, VMB_SAVE_MAGIC);
			break;
		}
		if ((uint64_t)sizeof(h) + h.payload_len > left) {
			if (!w->o->json)
				printf("chunk %" PRId64 " @%" PRIu64 ": seq %" PRIu32 " payload %" PRIu32
				       " bytes (truncated)\n",
				       w->chunk, off, h.seq, h.payload_len);
			save_problem(w, off, SC_EMSGSIZE,
				     "truncated chunk: the header announces %" PRIu32
				     " payload bytes, %zu are left in the file",
				     h.payload_len, left - sizeof(h));
			break;
		}
		save_chunk(w, off, sizeof(h) + h.payload_len);
		off += sizeof(h) + h.payload_len;
		w->chunks++;
	}
	w->chunk = -1;
	w->record = -1;
	if (w->chunks && !w->saw_last && w->nproblems == 0)
		save_problem(w, off, SC_EINPROGRESS,
			     "the stream ends before its last chunk (restore would wait for more)");
	if (w->o->json)
		printf("]");
}

static void
save_report(const struct save_walk *w)
{
	uint32_t i, n = w->nproblems < SAVE_MAX_PROBLEMS ? w->nproblems : SAVE_MAX_PROBLEMS;

	if (w->o->json) {
		printf(",\"totals\":{\"chunks\":%" PRIu32 ",\"packets\":%" PRIu32 ",\"queued\":%" PRIu32
		       ",\"inflight\":%" PRIu32 ",\"completions\":%" PRIu32 ",\"unknown\":%" PRIu32 "}",
		       w->chunks, w->packets, w->queued, w->inflight, w->completions, w->unknown);
		printf(",\"status\":\"%s\",\"problem_count\":%" PRIu32 ",\"problems\":[",
		       w->nproblems ? "malformed" : "ok", w->nproblems);
		for (i = 0; i < n; i++) {
			const struct save_problem *pb = &w->problems[i];
			printf("%s{\"offset\":%" PRIu64 ",\"chunk\":", i ? "," : "", pb->offset);
			if (pb->chunk < 0)
				printf("null");
			else
				printf("%" PRId64, pb->chunk);
			printf(",\"record\":");
			if (pb->record < 0)
				printf("null");
			else
				printf("%" PRId64, pb->record);
			printf(",\"error\":\"%s\",\"reason\":", save_class_name[pb->cls]);
			json_string(pb->reason);
			printf("}");
		}
		printf("]}\n");
		return;
	}
	printf("totals: %" PRIu32 " chunk(s), %" PRIu32 " packet(s) (%" PRIu32 " queued, %" PRIu32
	       " in flight), %" PRIu32 " completion(s)",
	       w->chunks, w->packets, w->queued, w->inflight, w->completions);
	if (w->unknown)
		printf(", %" PRIu32 " unknown record(s)", w->unknown);
	if (w->nproblems)
		printf(": stream MALFORMED (%" PRIu32 " problem(s))\n", w->nproblems);
	else
		printf(": stream ok\n");
}

static int
cmd_save(const struct inspect_opts *o)
{
	struct save_walk *w;
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return op_error("%s: %s", o->file, strerror(errno));
	if (fstat(fd, &st) < 0)
		rc = op_error("%s: %s", o->file, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = op_error("%s: not a regular file", o->file);
	else if ((uint64_t)st.st_size > SAVE_MAX_FILE)
		rc = op_error("%s: larger than %llu bytes", o->file, SAVE_MAX_FILE);
	if (rc) {
		close(fd);
		return rc;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return op_error("out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = op_error("%s: read: %s", o->file, n < 0 ? strerror(errno) : "short file");
			goto out;
		}
		got += (size_t)n;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		rc = op_error("out of memory");
		goto out;
	}
	w->o = o;
	w->file = buf;
	w->size = got;
	w->chunk = w->record = -1;
	if (o->json) {
		printf("{\"file\":");
		json_string(o->file);
		printf(",\"size\":%zu", got);
	} else {
		printf("save stream %s: %zu bytes\n", o->file, got);
	}
	save_walk_file(w);
	save_report(w);
	if (w->nproblems) {
		const struct save_problem *pb = &w->problems[0];
		fprintf(stderr, PROG ": %s: malformed stream at offset %" PRIu64, o->file, pb->offset);
		if (pb->chunk >= 0)
			fprintf(stderr, " (chunk %" PRId64, pb->chunk);
		if (pb->chunk >= 0 && pb->record >= 0)
			fprintf(stderr, ", record %" PRId64, pb->record);
		fprintf(stderr, "%s: %s (restore: -%s)", pb->chunk >= 0 ? ")" : "", pb->reason,
			save_class_name[pb->cls]);
		if (w->nproblems > 1)
			fprintf(stderr, "; %" PRIu32 " more problem(s)", w->nproblems - 1);
		fputc('\n', stderr);
		rc = EXIT_CORRUPT;
	}
	free(w->slots);
	free(w);
out:
	free(buf);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	struct inspect_opts o = {0};
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc == 0) {
		switch (o.cmd) {
		case CMD_SHOW:
			rc = cmd_show(&o);
			break;
		case CMD_WRITE:
			rc = cmd_write(&o);
			break;
		case CMD_FORMAT:
			rc = cmd_format(&o);
			break;
		case CMD_SAVE:
			rc = cmd_save(&o);
			break;
		}
	} else if (rc < 0) {
		rc = 0; /* --help */
	}
	opts_free(&o);
	return rc;
}
