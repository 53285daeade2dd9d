/*
 * The `librdkafka` peer of the side-by-side benchmark (bench/compare): a small program of ours
 * on Debian's librdkafka (librdkafka-dev), built by the harness at setup.
 *
 * Modes: produce (fire-and-forget with delivery reports, then flush), latency (one message,
 * then poll until its delivery report: linger.ms is honoured, as for every other client),
 * consume (assign every partition at the beginning, consumer_poll until N records).
 *
 * Protocol (shared by every peer): flags in, "BEGIN" on stdout when the measured phase starts,
 * "END {json}" when it is over, then wait for stdin to close so the harness can read /proc.
 * "--version x" prints librdkafka's version and exits.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *opt(int argc, char **argv, const char *name, const char *def) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0) return argv[i + 1];
  }
  if (!def) {
    fprintf(stderr, "missing --%s\n", name);
    exit(2);
  }
  return def;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "rdkperf: %s: %s\n", what, detail);
  exit(1);
}

/* The shared payload pool: one payload per line. */
static char **pool;
static size_t *pool_len;
static size_t pool_n;

static void load_payloads(const char *file) {
  FILE *f = fopen(file, "rb");
  if (!f) die("open payloads", file);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)size + 1);
  if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) die("read payloads", file);
  fclose(f);
  buf[size] = '\n';
  size_t lines = 0;
  for (long i = 0; i <= size; i++) lines += buf[i] == '\n';
  pool = malloc(lines * sizeof *pool);
  pool_len = malloc(lines * sizeof *pool_len);
  char *start = buf;
  for (long i = 0; i <= size; i++) {
    if (buf[i] != '\n') continue;
    if (buf + i > start) {
      pool[pool_n] = start;
      pool_len[pool_n] = (size_t)(buf + i - start);
      pool_n++;
    }
    start = buf + i + 1;
  }
  if (pool_n == 0) die("payloads", "empty file");
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) die(k, err);
}

static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (failed++ == 0) fprintf(stderr, "rdkperf: delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    delivered++;
  }
}

static rd_kafka_t *new_producer(int argc, char **argv) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512];
  set(conf, "bootstrap.servers", opt(argc, argv, "bootstrap", NULL));
  set(conf, "client.id", "bench-librdkafka");
  set(conf, "acks", opt(argc, argv, "acks", "all"));
  set(conf, "linger.ms", opt(argc, argv, "linger-ms", "5"));
  set(conf, "batch.size", opt(argc, argv, "batch-bytes", "1048576"));
  set(conf, "max.in.flight.requests.per.connection", opt(argc, argv, "in-flight", "5"));
  set(conf, "enable.idempotence", opt(argc, argv, "idempotence", "true"));
  set(conf, "compression.codec", opt(argc, argv, "compression", "none"));
  char kb[32];
  snprintf(kb, sizeof kb, "%ld", atol(opt(argc, argv, "buffer-bytes", "33554432")) / 1024);
  set(conf, "queue.buffering.max.kbytes", kb);
  set(conf, "queue.buffering.max.messages", "2147483647");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) die("rd_kafka_new", err);
  return rk;
}

static void produce_n(rd_kafka_t *rk, rd_kafka_topic_t *rkt, long from, long n) {
  for (long i = from; i < from + n; i++) {
    size_t k = (size_t)i % pool_n;
    for (;;) {
      /* F_COPY: the client owns its copy once produce returns, as with every other peer. */
      if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, pool[k], pool_len[k],
                           NULL, 0, NULL) == 0)
        break;
      rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("produce", rd_kafka_err2str(e));
      rd_kafka_poll(rk, 1);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush", "timed out");
}

static void end_line(long records, long bytes, double elapsed, const double *lat, long nlat) {
  printf("END {\"records\":%ld,\"bytes\":%ld,\"elapsed_s\":%.9f", records, bytes, elapsed);
  if (lat) {
    printf(",\"latencies_us\":[");
    for (long i = 0; i < nlat; i++) printf(i ? ",%.1f" : "%.1f", lat[i]);
    printf("]");
  }
  printf("}\n");
  fflush(stdout);
}

/* Tells the harness the measured phase starts (the protocol's "BEGIN" line). */
static void begin(void) {
  printf("BEGIN\n");
  fflush(stdout);
}

/* What the producing modes share: the record counts and size, a producer and its topic. */
struct producer_run {
  long n, warmup, size;
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
};

static struct producer_run producer_run_open(int argc, char **argv) {
  struct producer_run r;
  r.n = atol(opt(argc, argv, "records", NULL));
  r.warmup = atol(opt(argc, argv, "warmup", "0"));
  r.size = atol(opt(argc, argv, "size", NULL));
  r.rk = new_producer(argc, argv);
  r.rkt = rd_kafka_topic_new(r.rk, opt(argc, argv, "topic", NULL), NULL);
  return r;
}

static void producer_run_close(struct producer_run *r) {
  rd_kafka_topic_destroy(r->rkt);
  rd_kafka_destroy(r->rk);
}

static void produce(int argc, char **argv) {
  struct producer_run r = producer_run_open(argc, argv);
  long n = r.n;
  if (r.warmup > 0) produce_n(r.rk, r.rkt, 0, r.warmup);
  begin();
  long before = delivered;
  double t0 = now_s();
  produce_n(r.rk, r.rkt, r.warmup, n);
  double elapsed = now_s() - t0;
  if (failed) die("produce", "some deliveries failed");
  if (delivered - before != n) die("produce", "not every record was acknowledged");
  end_line(n, n * r.size, elapsed, NULL, 0);
  producer_run_close(&r);
}

static void latency(int argc, char **argv) {
  struct producer_run r = producer_run_open(argc, argv);
  long n = r.n, warmup = r.warmup;
  double *lat = malloc((size_t)n * sizeof *lat);
  double t0 = 0;
  for (long i = 0; i < warmup + n; i++) {
    if (i == warmup) {
      begin();
      t0 = now_s();
    }
    size_t k = (size_t)i % pool_n;
    long want = delivered + failed + 1;
    double s = now_s();
    if (rd_kafka_produce(r.rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, pool[k], pool_len[k],
                         NULL, 0, NULL) != 0)
      die("produce", rd_kafka_err2str(rd_kafka_last_error()));
    /* Await this one delivery report, as an awaited send does. */
    while (delivered + failed < want) rd_kafka_poll(r.rk, 100);
    if (failed) die("produce", "delivery failed");
    if (i >= warmup) lat[i - warmup] = (now_s() - s) * 1e6;
  }
  end_line(n, n * r.size, now_s() - t0, lat, n);
  producer_run_close(&r);
}

/* Reads `n` records from the beginning of every partition with a fresh consumer. */
static double consume_n(int argc, char **argv, long n, const char *tag, long *bytes_out) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[512], group[128];
  snprintf(group, sizeof group, "bench-librdkafka-%s-%ld-%d", tag, (long)time(NULL), getpid());
  set(conf, "bootstrap.servers", opt(argc, argv, "bootstrap", NULL));
  set(conf, "client.id", "bench-librdkafka");
  set(conf, "group.id", group);
  set(conf, "enable.auto.commit", "false");
  set(conf, "fetch.max.bytes", "52428800");
  set(conf, "max.partition.fetch.bytes", "1048576");
  /* Verify each batch's CRC-32C, as Java (check.crcs=true), franz-go and ours do by default;
   * librdkafka's default is false. `--check-crcs false` gives its default back. */
  set(conf, "check.crcs", opt(argc, argv, "check-crcs", "true"));
  if (getenv("RDKPERF_DEBUG")) set(conf, "debug", getenv("RDKPERF_DEBUG"));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) die("rd_kafka_new", err);
  rd_kafka_poll_set_consumer(rk);
  const char *topic = opt(argc, argv, "topic", NULL);
  int parts = atoi(opt(argc, argv, "partitions", NULL));
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++) {
    rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  /* Connect and learn the topic's leaders first (the group clients' clocks start after their
   * join); without a known leader, librdkafka retries the offset lookup only after 500 ms. */
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
  if (e) die("metadata", rd_kafka_err2str(e));
  rd_kafka_metadata_destroy(md);
  double t0 = now_s();
  e = rd_kafka_assign(rk, list);
  if (e) die("assign", rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(list);
  long count = 0, bytes = 0;
  double last = now_s();
  while (count < n) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) {
      if (now_s() - last > 60) die("consume", "no record for 60 s");
      continue;
    }
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) die("consume", rd_kafka_message_errstr(m));
    } else {
      count++;
      bytes += (long)m->len + (long)m->key_len;
      last = now_s();
    }
    rd_kafka_message_destroy(m);
  }
  double elapsed = now_s() - t0;
  rd_kafka_topic_destroy(rkt);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  *bytes_out = bytes;
  return elapsed;
}

static void consume(int argc, char **argv) {
  long n = atol(opt(argc, argv, "records", NULL));
  long warmup = atol(opt(argc, argv, "warmup", "0"));
  long bytes = 0;
  if (warmup > 0) consume_n(argc, argv, warmup, "w", &bytes);
  begin();
  double elapsed = consume_n(argc, argv, n, "m", &bytes);
  end_line(n, bytes, elapsed, NULL, 0);
}

int main(int argc, char **argv) {
  const char *mode = opt(argc, argv, "mode", "");
  if (strcmp(opt(argc, argv, "version", "no"), "no") != 0) {
    printf("%s\n", rd_kafka_version_str());
    return 0;
  }
  if (strcmp(mode, "consume") != 0) load_payloads(opt(argc, argv, "payloads", NULL));
  if (strcmp(mode, "produce") == 0) {
    produce(argc, argv);
  } else if (strcmp(mode, "latency") == 0) {
    latency(argc, argv);
  } else if (strcmp(mode, "consume") == 0) {
    consume(argc, argv);
  } else {
    die("unknown --mode", mode);
  }
  /* Stay alive until the harness has sampled /proc and closes our stdin. */
  char sink[256];
  while (fread(sink, 1, sizeof sink, stdin) > 0) {
  }
  return 0;
}
