// An independent Kafka client for the tests: Kafka's own Java producer and consumer, from the
// same jars as the broker. Compiled once by tests/helpers/java_client.ts; two commands:
//
//   produce <bootstrap> <topic> <partition|-1> [key=value ...]
//     sends each stdin line (UTF-8, without its newline) as a record value, no key, to the
//     partition (-1: the default partitioner); exits 0 once every record is acknowledged.
//   read <bootstrap> <topic> <read_committed|read_uncommitted> [key=value ...]
//     reads every partition from the beginning to its end offset (the last stable offset under
//     read_committed) and prints one JSON line per record, bytes as base64:
//     {"p":0,"o":3,"ts":1700000000000,"tt":"CreateTime","k":"a2V5","v":null,"h":[["aA==","dg=="]]}
//     (header keys are base64 of their UTF-8 too, so nothing needs escaping).
//
// Extra key=value arguments are client properties.
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaClient {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: JavaClient produce|read <bootstrap> <topic> <arg> [k=v ...]");
            System.exit(2);
        }
        Properties props = new Properties();
        props.put("bootstrap.servers", args[1]);
        for (int i = 4; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        if (args[0].equals("produce")) produce(props, args[2], Integer.parseInt(args[3]));
        else if (args[0].equals("read")) read(props, args[2], args[3]);
        else {
            System.err.println("unknown command " + args[0]);
            System.exit(2);
        }
    }

    static void produce(Properties props, String topic, int partition) throws Exception {
        props.putIfAbsent("linger.ms", "5");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<Future<?>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            String line;
            while ((line = in.readLine()) != null) {
                byte[] value = line.getBytes(StandardCharsets.UTF_8);
                sent.add(p.send(partition < 0
                        ? new ProducerRecord<>(topic, null, value)
                        : new ProducerRecord<>(topic, partition, null, value)));
            }
            p.flush();
            for (Future<?> f : sent) f.get();
        }
    }

    static String b64(byte[] b) {
        return b == null ? "null" : "\"" + Base64.getEncoder().encodeToString(b) + "\"";
    }

    static void read(Properties props, String topic, String isolation) throws Exception {
        props.put("isolation.level", isolation);
        props.put("enable.auto.commit", "false");
        props.putIfAbsent("auto.offset.reset", "earliest");
        PrintWriter out = new PrintWriter(new BufferedWriter(
                new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16));
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(60));
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo i : infos) tps.add(new TopicPartition(topic, i.partition()));
            c.assign(tps);
            c.seekToBeginning(tps);
            // Under read_committed the end offsets are the last stable offsets.
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(60));
            while (true) {
                boolean done = true;
                for (TopicPartition tp : tps) {
                    if (c.position(tp, Duration.ofSeconds(60)) < end.get(tp)) done = false;
                }
                if (done) break;
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (r.offset() >= end.get(new TopicPartition(topic, r.partition()))) continue;
                    StringBuilder sb = new StringBuilder();
                    sb.append("{\"p\":").append(r.partition())
                            .append(",\"o\":").append(r.offset())
                            .append(",\"ts\":").append(r.timestamp())
                            .append(",\"tt\":\"").append(r.timestampType().name).append('"')
                            .append(",\"k\":").append(b64(r.key()))
                            .append(",\"v\":").append(b64(r.value()))
                            .append(",\"h\":[");
                    boolean first = true;
                    for (Header h : r.headers()) {
                        if (!first) sb.append(',');
                        first = false;
                        sb.append('[').append(b64(h.key().getBytes(StandardCharsets.UTF_8)))
                                .append(',').append(b64(h.value())).append(']');
                    }
                    sb.append("]}");
                    out.println(sb);
                }
            }
        }
        out.flush();
    }
}
