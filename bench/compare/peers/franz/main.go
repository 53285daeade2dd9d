// The `franz-go` peer of the side-by-side benchmark (bench/compare): a small program of ours on
// github.com/twmb/franz-go, built by the harness at setup with its modules in bench/peers/go.
//
// Modes: produce (Produce with a callback, then Flush), latency (ProduceSync of one record),
// consume (ConsumePartitions from the start, PollFetches until N records).
//
// Protocol (shared by every peer): flags in, "BEGIN" on stdout when the measured phase starts,
// "END {json}" when it is over, then wait for stdin to close so the harness can read /proc.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	mode        = flag.String("mode", "", "produce | latency | consume")
	bootstrap   = flag.String("bootstrap", "", "host:port")
	topic       = flag.String("topic", "", "topic")
	records     = flag.Int64("records", 0, "measured records")
	warmup      = flag.Int64("warmup", 0, "warm-up records")
	size        = flag.Int64("size", 0, "value size")
	payloads    = flag.String("payloads", "", "payload file, one per line")
	compression = flag.String("compression", "none", "none | lz4 | zstd")
	lingerMs    = flag.Int("linger-ms", 5, "linger")
	batchBytes  = flag.Int("batch-bytes", 1<<20, "batch size")
	inFlight    = flag.Int("in-flight", 5, "produce requests in flight per broker")
	idempotence = flag.String("idempotence", "true", "idempotent producer: true | false")
	acks        = flag.String("acks", "all", "all | 1")
	bufferBytes = flag.Int("buffer-bytes", 32<<20, "producer buffer")
	partitions  = flag.Int("partitions", 1, "partitions (consume)")
	version     = flag.String("version", "", "print the franz-go version and exit")
)

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "franz-bench: "+format+"\n", a...)
	os.Exit(1)
}

func loadPayloads() [][]byte {
	data, err := os.ReadFile(*payloads)
	if err != nil {
		die("payloads: %v", err)
	}
	var pool [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 {
			pool = append(pool, l)
		}
	}
	if len(pool) == 0 {
		die("payloads: empty")
	}
	return pool
}

func producerOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(*bootstrap),
		kgo.ClientID("bench-franz-go"),
		kgo.ProducerLinger(time.Duration(*lingerMs) * time.Millisecond),
		kgo.ProducerBatchMaxBytes(int32(*batchBytes)),
		kgo.MaxBufferedBytes(*bufferBytes),
		kgo.MaxBufferedRecords(1 << 30),
	}
	if *acks == "all" {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	}
	if *idempotence != "true" {
		// With idempotence on, franz-go already keeps up to 5 requests in flight.
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(*inFlight))
	}
	switch *compression {
	case "none":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	default:
		die("unknown compression %s", *compression)
	}
	return opts
}

type result struct {
	Records   int64     `json:"records"`
	Bytes     int64     `json:"bytes"`
	ElapsedS  float64   `json:"elapsed_s"`
	Latencies []float64 `json:"latencies_us,omitempty"`
}

func end(r result) {
	b, err := json.Marshal(r)
	if err != nil {
		die("json: %v", err)
	}
	fmt.Printf("END %s\n", b)
}

func begin() {
	fmt.Println("BEGIN")
}

func produce(ctx context.Context) {
	pool := loadPayloads()
	cl, err := kgo.NewClient(producerOpts()...)
	if err != nil {
		die("client: %v", err)
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Value
	cb := func(_ *kgo.Record, err error) {
		if err != nil && failed.Add(1) == 1 {
			firstErr.Store(err)
		}
	}
	send := func(from, n int64) {
		for i := from; i < from+n; i++ {
			cl.Produce(ctx, &kgo.Record{Topic: *topic, Value: pool[i%int64(len(pool))]}, cb)
		}
		if err := cl.Flush(ctx); err != nil {
			die("flush: %v", err)
		}
		if failed.Load() > 0 {
			die("produce: %v", firstErr.Load())
		}
	}
	if *warmup > 0 {
		send(0, *warmup)
	}
	begin()
	t0 := time.Now()
	send(*warmup, *records)
	end(result{Records: *records, Bytes: *records * *size, ElapsedS: time.Since(t0).Seconds()})
}

func latency(ctx context.Context) {
	pool := loadPayloads()
	cl, err := kgo.NewClient(producerOpts()...)
	if err != nil {
		die("client: %v", err)
	}
	defer cl.Close()
	lat := make([]float64, 0, *records)
	var t0 time.Time
	for i := int64(0); i < *warmup+*records; i++ {
		if i == *warmup {
			begin()
			t0 = time.Now()
		}
		s := time.Now()
		rec := &kgo.Record{Topic: *topic, Value: pool[i%int64(len(pool))]}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			die("produce: %v", err)
		}
		if i >= *warmup {
			lat = append(lat, float64(time.Since(s).Nanoseconds())/1e3)
		}
	}
	end(result{Records: *records, Bytes: *records * *size, ElapsedS: time.Since(t0).Seconds(), Latencies: lat})
}

// consumeN reads n records from the start of every partition with a fresh client.
func consumeN(ctx context.Context, n int64) (float64, int64) {
	offsets := map[int32]kgo.Offset{}
	for p := 0; p < *partitions; p++ {
		offsets[int32(p)] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(*bootstrap),
		kgo.ClientID("bench-franz-go"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*topic: offsets}),
		kgo.FetchMaxBytes(50<<20),
		kgo.FetchMaxPartitionBytes(1<<20),
	)
	if err != nil {
		die("client: %v", err)
	}
	defer cl.Close()
	t0 := time.Now()
	var count, nbytes int64
	for count < n {
		pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		fetches := cl.PollFetches(pctx)
		cancel()
		if errs := fetches.Errors(); len(errs) > 0 {
			die("fetch: %v", errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			count++
			nbytes += int64(len(r.Value) + len(r.Key))
		})
	}
	return time.Since(t0).Seconds(), nbytes
}

func consume(ctx context.Context) {
	if *warmup > 0 {
		consumeN(ctx, *warmup)
	}
	begin()
	elapsed, nbytes := consumeN(ctx, *records)
	end(result{Records: *records, Bytes: nbytes, ElapsedS: elapsed})
}

func main() {
	flag.Parse()
	if *version != "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, d := range info.Deps {
				if d.Path == "github.com/twmb/franz-go" {
					fmt.Println(d.Version)
				}
			}
		}
		return
	}
	ctx := context.Background()
	switch *mode {
	case "produce":
		produce(ctx)
	case "latency":
		latency(ctx)
	case "consume":
		consume(ctx)
	default:
		die("unknown --mode %q", *mode)
	}
	// Stay alive until the harness has sampled /proc and closes our stdin.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
}
