// Prints Kafka's error table as JSON lines: code, name and whether the exception is retriable.
// Run by scripts/gen/errors.ts with the kafka-clients jar on the class path; only facts are taken, no prose.
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class ErrorTable {
  public static void main(String[] args) {
    for (Errors e : Errors.values()) {
      boolean retriable = e.exception() instanceof RetriableException;
      boolean metadata = e.exception() instanceof InvalidMetadataException;
      System.out.println("{\"code\":" + e.code() + ",\"name\":\"" + e.name() + "\",\"retriable\":" + retriable + ",\"metadata\":" + metadata + "}");
    }
  }
}
