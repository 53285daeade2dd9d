/*
 * The `java` peer of the side-by-side benchmark (bench/compare).
 *
 * Throughput rows come from Kafka's own perf tools, run in this JVM so that the measured run
 * starts warm: ProducerPerformance.main (P1-P3) and ConsumerPerformance.main (C1), each called
 * once for the warm-up and once for the measured run. Their own summary lines give the rate.
 * The latency row (P4) is ours: KafkaProducer.send(record).get() in a loop, timed with
 * System.nanoTime(), because ProducerPerformance measures an open loop and EndToEndLatency
 * measures produce + consume, neither of which is "one awaited send". The pipeline row (X1) is
 * the classic exactly-once consume-transform-produce loop: a KafkaConsumer (read_committed, no
 * auto-commit) and a transactional KafkaProducer, each polled record copied to the output, the
 * consumed offsets sent with sendOffsetsToTransaction(offsets, consumer.groupMetadata()) and
 * the transaction committed every --transaction-ms or --transaction-records records.
 *
 * Protocol (shared by every peer): flags in, then on stdout a line "BEGIN" when the measured
 * phase starts and "END {json}" when it is over; then the peer waits for stdin to close so the
 * harness can read /proc before the process exits.
 */

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.time.Duration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.tools.ConsumerPerformance;
import org.apache.kafka.tools.ProducerPerformance;

public final class JavaPeer {
  private static final PrintStream OUT = System.out;

  public static void main(String[] argv) throws Exception {
    Map<String, String> o = parse(argv);
    String mode = o.getOrDefault("mode", "");
    switch (mode) {
      case "produce" -> produce(o);
      case "consume" -> consume(o);
      case "latency" -> latency(o);
      case "pipeline" -> pipeline(o);
      default -> throw new IllegalArgumentException("unknown --mode " + mode);
    }
    OUT.flush();
    // Stay alive until the harness has sampled /proc and closes our stdin.
    while (System.in.read() >= 0) {
      // drain
    }
    System.exit(0);
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("bad flag " + argv[i]);
      o.put(argv[i].substring(2), argv[i + 1]);
    }
    return o;
  }

  private static long num(Map<String, String> o, String k) {
    return Long.parseLong(o.get(k));
  }

  /** The producer settings every peer uses (see bench/README.md). */
  private static List<String> producerProps(Map<String, String> o) {
    List<String> p = new ArrayList<>();
    p.add("bootstrap.servers=" + o.get("bootstrap"));
    p.add("acks=" + o.get("acks"));
    p.add("linger.ms=" + o.get("linger-ms"));
    p.add("batch.size=" + o.get("batch-bytes"));
    p.add("max.in.flight.requests.per.connection=" + o.get("in-flight"));
    p.add("enable.idempotence=" + o.get("idempotence"));
    p.add("compression.type=" + o.get("compression"));
    p.add("buffer.memory=" + o.get("buffer-bytes"));
    p.add("client.id=bench-java");
    return p;
  }

  /** One run of a mode's workload: `records` records, `tag` "w" (warm-up) or "m" (measured). */
  private interface Phase<T> {
    T run(long records, String tag) throws Exception;
  }

  /** Tells the harness the measured phase starts (the protocol's "BEGIN" line). */
  private static void begin() {
    OUT.println("BEGIN");
    OUT.flush();
  }

  /** Runs the warm-up (when --warmup is not 0), then BEGIN and the measured run; its result. */
  private static <T> T warmThenMeasure(Map<String, String> o, Phase<T> phase) throws Exception {
    long warmup = num(o, "warmup");
    if (warmup > 0) phase.run(warmup, "w");
    begin();
    return phase.run(num(o, "records"), "m");
  }

  private static void produce(Map<String, String> o) throws Exception {
    long n = num(o, "records");
    String text = warmThenMeasure(o, (records, tag) -> runProducerPerformance(o, records));
    // Its summary: "<count> records sent, <rate> records/sec (...), ... ms 50th, ...".
    Matcher m = Pattern.compile("(\\d+) records sent, ([0-9.]+) records/sec[^\\n]*50th").matcher(text);
    if (!m.find()) throw new IllegalStateException("no ProducerPerformance summary in:\n" + text);
    long count = Long.parseLong(m.group(1));
    double rate = Double.parseDouble(m.group(2));
    if (count != n) throw new IllegalStateException("only " + count + " of " + n + " records acknowledged");
    end(count, count * num(o, "size"), count / rate, null);
  }

  /** Runs ProducerPerformance in this JVM and returns what it printed (also echoed to stderr). */
  private static String runProducerPerformance(Map<String, String> o, long records) throws Exception {
    List<String> args = new ArrayList<>(List.of(
        "--topic", o.get("topic"),
        "--num-records", Long.toString(records),
        "--payload-file", o.get("payloads"),
        "--throughput", "-1",
        "--producer-props"));
    args.addAll(producerProps(o));
    return captured(() -> ProducerPerformance.main(args.toArray(new String[0])));
  }

  private static void consume(Map<String, String> o) throws Exception {
    long n = num(o, "records");
    String text = warmThenMeasure(o, (records, tag) -> runConsumerPerformance(o, records, tag));
    // The CSV line after the header: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, ...
    String line = null;
    for (String l : text.split("\n")) {
      if (l.split(",").length == 10 && !l.startsWith("start.time")) line = l;
    }
    if (line == null) throw new IllegalStateException("no ConsumerPerformance summary in:\n" + text);
    String[] f = line.split(",");
    long count = Long.parseLong(f[4].trim());
    long fetchMs = Long.parseLong(f[7].trim());
    if (count < n) throw new IllegalStateException("only " + count + " of " + n + " records consumed");
    end(count, count * num(o, "size"), fetchMs / 1000.0, null);
  }

  private static String runConsumerPerformance(Map<String, String> o, long records, String tag)
      throws Exception {
    Path cfg = Files.createTempFile("bench-consumer", ".properties");
    // The consumer settings every peer uses: 50 MiB per fetch, 1 MiB per partition.
    Files.writeString(cfg, "fetch.max.bytes=52428800\nclient.id=bench-java\n");
    String[] args = {
        "--bootstrap-server", o.get("bootstrap"),
        "--topic", o.get("topic"),
        "--messages", Long.toString(records),
        "--group", "bench-java-" + tag + "-" + System.nanoTime(),
        "--fetch-size", "1048576",
        "--timeout", "60000",
        "--consumer.config", cfg.toString(),
    };
    try {
      return captured(() -> ConsumerPerformance.main(args));
    } finally {
      Files.deleteIfExists(cfg);
    }
  }

  private static void latency(Map<String, String> o) throws Exception {
    long n = num(o, "records");
    long warmup = num(o, "warmup");
    List<byte[]> pool = payloads(o.get("payloads"));
    Properties props = new Properties();
    for (String kv : producerProps(o)) {
      int i = kv.indexOf('=');
      props.put(kv.substring(0, i), kv.substring(i + 1));
    }
    props.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    props.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    String topic = o.get("topic");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      for (long i = 0; i < warmup; i++) {
        producer.send(new ProducerRecord<>(topic, pool.get((int) (i % pool.size())))).get();
      }
      begin();
      double[] lat = new double[(int) n];
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        long s = System.nanoTime();
        producer.send(new ProducerRecord<>(topic, pool.get((int) ((warmup + i) % pool.size())))).get();
        lat[i] = (System.nanoTime() - s) / 1000.0;
      }
      double elapsed = (System.nanoTime() - t0) / 1e9;
      end(n, n * num(o, "size"), elapsed, lat);
    }
  }

  private static void pipeline(Map<String, String> o) throws Exception {
    long n = num(o, "records");
    double elapsed = warmThenMeasure(o, (records, tag) -> pipelineN(o, records, tag));
    end(n, n * num(o, "size"), elapsed, null);
  }

  /**
   * Copies the input from the start (a new group) to the output in transactions until n
   * records are committed; returns the seconds from the first record to that commit.
   */
  private static double pipelineN(Map<String, String> o, long n, String tag) {
    String id = "bench-java-" + tag + "-" + System.nanoTime();
    Properties cp = new Properties();
    cp.put("bootstrap.servers", o.get("bootstrap"));
    cp.put("client.id", "bench-java");
    cp.put("group.id", id);
    cp.put("enable.auto.commit", "false");
    cp.put("auto.offset.reset", "earliest");
    cp.put("isolation.level", "read_committed");
    cp.put("fetch.max.bytes", "52428800");
    cp.put("max.partition.fetch.bytes", "1048576");
    cp.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    cp.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    Properties pp = new Properties();
    for (String kv : producerProps(o)) {
      int i = kv.indexOf('=');
      pp.put(kv.substring(0, i), kv.substring(i + 1));
    }
    pp.put("transactional.id", id);
    pp.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    pp.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
    String output = o.get("output");
    long txnMs = num(o, "transaction-ms");
    long txnRecords = num(o, "transaction-records");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp)) {
      producer.initTransactions();
      consumer.subscribe(List.of(o.get("topic")));
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      long done = 0;
      long inTxn = 0;
      long bytes = 0;
      long t0 = 0;
      long opened = 0;
      boolean open = false;
      while (done < n) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        for (ConsumerRecord<byte[], byte[]> r : records) {
          if (t0 == 0) t0 = System.nanoTime();
          if (!open) {
            producer.beginTransaction();
            open = true;
            opened = System.nanoTime();
          }
          bytes += r.value() == null ? 0 : r.value().length;
          producer.send(new ProducerRecord<>(output, r.key(), r.value()));
          offsets.put(new TopicPartition(r.topic(), r.partition()),
              new OffsetAndMetadata(r.offset() + 1, r.leaderEpoch(), ""));
          inTxn++;
        }
        // The same rule as ours: a transaction ends after txnRecords or txnMs (the last one
        // too: neither peer knows which record is the last).
        if (open && (inTxn >= txnRecords || System.nanoTime() - opened >= txnMs * 1_000_000L)) {
          producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
          producer.commitTransaction();
          open = false;
          done += inTxn;
          inTxn = 0;
          offsets.clear();
        }
      }
      double elapsed = (System.nanoTime() - t0) / 1e9;
      if (bytes < 0) System.err.println(bytes);
      return elapsed;
    }
  }

  private static List<byte[]> payloads(String file) throws IOException {
    List<byte[]> pool = new ArrayList<>();
    for (String l : Files.readString(Path.of(file), StandardCharsets.UTF_8).split("\n")) {
      if (!l.isEmpty()) pool.add(l.getBytes(StandardCharsets.UTF_8));
    }
    return pool;
  }

  private static void end(long records, long bytes, double elapsedS, double[] lat) {
    StringBuilder b = new StringBuilder("END {\"records\":").append(records)
        .append(",\"bytes\":").append(bytes)
        .append(",\"elapsed_s\":").append(elapsedS);
    if (lat != null) {
      b.append(",\"latencies_us\":[");
      for (int i = 0; i < lat.length; i++) {
        if (i > 0) b.append(',');
        b.append(String.format("%.1f", lat[i]));
      }
      b.append(']');
    }
    OUT.println(b.append('}'));
    OUT.flush();
  }

  @FunctionalInterface
  private interface Body {
    void run() throws Exception;
  }

  /** Runs a tool with System.out captured (and copied to stderr for the harness's log). */
  private static String captured(Body body) throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream err = System.err;
    OutputStream tee = new OutputStream() {
      @Override
      public void write(int c) {
        buf.write(c);
        err.write(c);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        buf.write(b, off, len);
        err.write(b, off, len);
      }
    };
    System.setOut(new PrintStream(tee, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.out.flush();
      System.setOut(OUT);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }
}
