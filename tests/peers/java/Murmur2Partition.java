// Prints the Java client's partition for each key read from stdin (one hex key per line), for
// each partition count given as an argument: BuiltInPartitioner.partitionForKey, the default
// partitioner's keyed path. Run: java -cp '<kafka libs>/*' Murmur2Partition.java 7 12 1000
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;

public class Murmur2Partition {
    public static void main(String[] args) throws Exception {
        int[] counts = new int[args.length];
        for (int i = 0; i < args.length; i++) counts[i] = Integer.parseInt(args[i]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        // All output is held until stdin ends: the caller writes every key before it reads.
        StringBuilder all = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            byte[] key = new byte[line.length() / 2];
            for (int i = 0; i < key.length; i++) {
                key[i] = (byte) Integer.parseInt(line.substring(2 * i, 2 * i + 2), 16);
            }
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < counts.length; i++) {
                if (i > 0) sb.append(' ');
                sb.append(BuiltInPartitioner.partitionForKey(key, counts[i]));
            }
            all.append(sb).append('\n');
        }
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out)));
        out.print(all);
        out.flush();
    }
}
