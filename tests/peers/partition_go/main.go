// Prints, for each hex key on stdin and each partition count in the arguments, the partition
// chosen by sarama's hash partitioner (its default), sarama's reference hash partitioner, and
// kafka-go's Hash, ReferenceHash, CRC32Balancer and Murmur2Balancer, space-separated in that
// order per count.
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"

	"github.com/IBM/sarama"
	kafka "github.com/segmentio/kafka-go"
)

func main() {
	var counts []int
	for _, a := range os.Args[1:] {
		n, err := strconv.Atoi(a)
		if err != nil {
			panic(err)
		}
		counts = append(counts, n)
	}
	hash := sarama.NewHashPartitioner("t")
	ref := sarama.NewReferenceHashPartitioner("t")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		key, err := hex.DecodeString(in.Text())
		if err != nil {
			panic(err)
		}
		msg := &sarama.ProducerMessage{Topic: "t", Key: sarama.ByteEncoder(key)}
		kmsg := kafka.Message{Key: key}
		first := true
		for _, n := range counts {
			partitions := make([]int, n)
			for i := range partitions {
				partitions[i] = i
			}
			a, _ := hash.Partition(msg, int32(n))
			b, _ := ref.Partition(msg, int32(n))
			c := (&kafka.Hash{}).Balance(kmsg, partitions...)
			d := (&kafka.ReferenceHash{}).Balance(kmsg, partitions...)
			e := (&kafka.CRC32Balancer{Consistent: true}).Balance(kmsg, partitions...)
			f := (&kafka.Murmur2Balancer{Consistent: true}).Balance(kmsg, partitions...)
			if !first {
				out.WriteByte(' ')
			}
			first = false
			fmt.Fprintf(out, "%d %d %d %d %d %d", a, b, c, d, e, f)
		}
		out.WriteByte('\n')
	}
}
