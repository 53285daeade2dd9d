/**
 * Wire compatibility of the classic consumer protocol with Kafka's Java client (the pinned
 * kafka-clients jar), in one JVM run:
 * - Java's ConsumerProtocol encodes subscriptions (v0-v3, owned partitions, generation, rack,
 *   user data) and assignments: we decode them; Java decodes ours;
 * - the sticky assignors' user data: Java's StickyAssignor v1 and CooperativeStickyAssignor
 *   bytes decode with ours, and Java reads our sticky user data;
 * - range and roundrobin assign exactly as Java's RangeAssignor and RoundRobinAssignor on
 *   the same subscriptions (static and dynamic members, uneven topics).
 */

import assert from "node:assert/strict";
import {
  decodeAssignment,
  decodeStickyUserData,
  decodeSubscription,
  encodeAssignment,
  encodeStickyUserData,
  encodeSubscription,
  rangeAssignor,
  roundRobinAssignor,
} from "../../consumer/mod.ts";
import type { AssignorMember } from "../../consumer/assignor.ts";
import { pinnedJars } from "../helpers/pinned_jars.ts";

// The pinned kafka-clients, fetched like the launcher fetches it when not cached yet.
const JARS = await pinnedJars();

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

const JAVA = `
import java.nio.ByteBuffer;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.*;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.clients.consumer.internals.AbstractPartitionAssignor;
import org.apache.kafka.common.TopicPartition;

public class AssignorCheck {
  static String hex(ByteBuffer b) {
    StringBuilder s = new StringBuilder();
    ByteBuffer d = b.duplicate();
    while (d.hasRemaining()) s.append(String.format("%02x", d.get()));
    return s.toString();
  }
  static byte[] unhex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return out;
  }
  static String tps(List<TopicPartition> l) {
    StringBuilder s = new StringBuilder();
    for (TopicPartition tp : l) s.append(s.length() == 0 ? "" : " ").append(tp.topic()).append(":").append(tp.partition());
    return s.toString();
  }
  public static void main(String[] a) throws Exception {
    List<TopicPartition> owned = List.of(new TopicPartition("t1", 0), new TopicPartition("t1", 2), new TopicPartition("t2", 1));
    ByteBuffer ud = ByteBuffer.wrap(new byte[] {1, 2, 3});
    for (short v = 0; v <= 3; v++) {
      Subscription s = new Subscription(List.of("t1", "t2"), ud.duplicate(), owned, 7, Optional.of("rack-a"));
      System.out.println("sub" + v + " " + hex(ConsumerProtocol.serializeSubscription(s, v)));
    }
    System.out.println("subnull " + hex(ConsumerProtocol.serializeSubscription(new Subscription(List.of("x")), (short) 3)));
    Assignment as = new Assignment(owned, ByteBuffer.wrap(new byte[] {9}));
    System.out.println("asg " + hex(ConsumerProtocol.serializeAssignment(as, (short) 3)));
    // Sticky user data after an assignment in generation 5.
    StickyAssignor sticky = new StickyAssignor();
    sticky.onAssignment(new Assignment(owned), new ConsumerGroupMetadata("g", 5, "m", Optional.empty()));
    System.out.println("sticky " + hex(sticky.subscriptionUserData(Set.of("t1", "t2"))));
    CooperativeStickyAssignor coop = new CooperativeStickyAssignor();
    coop.onAssignment(new Assignment(owned), new ConsumerGroupMetadata("g", 6, "m", Optional.empty()));
    System.out.println("coop " + hex(coop.subscriptionUserData(Set.of("t1", "t2"))));
    // Ours, decoded by Java.
    Subscription ours = ConsumerProtocol.deserializeSubscription(ByteBuffer.wrap(unhex(a[0])));
    System.out.println("oursub topics=" + ours.topics() + " owned=" + tps(ours.ownedPartitions()) +
      " gen=" + ours.generationId().orElse(-1) + " rack=" + ours.rackId().orElse("-") +
      " ud=" + (ours.userData() == null ? "null" : hex(ours.userData())));
    Assignment oa = ConsumerProtocol.deserializeAssignment(ByteBuffer.wrap(unhex(a[1])));
    System.out.println("ourasg " + tps(oa.partitions()) + " ud=" + (oa.userData() == null ? "null" : hex(oa.userData())));
    // Our sticky user data, read by Java's StickyAssignor as a member's previous assignment.
    Map<String, Subscription> prev = new HashMap<>();
    prev.put("m1", new Subscription(List.of("t1", "t2"), ByteBuffer.wrap(unhex(a[2]))));
    prev.put("m2", new Subscription(List.of("t1", "t2")));
    Map<String, Integer> counts = Map.of("t1", 3, "t2", 2);
    Map<String, List<TopicPartition>> kept = new StickyAssignor().assign(counts, prev);
    List<TopicPartition> m1 = new ArrayList<>(kept.get("m1"));
    m1.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    System.out.println("stickykept " + tps(m1));
    // Assignment scenarios: topic=count,... ; member[/instance]=topic+topic,...
    for (int i = 3; i < a.length; i++) {
      String[] parts = a[i].split(";");
      Map<String, Integer> pt = new HashMap<>();
      for (String t : parts[0].split(",")) pt.put(t.split("=")[0], Integer.parseInt(t.split("=")[1]));
      Map<String, Subscription> subs = new HashMap<>();
      for (String m : parts[1].split(",")) {
        String[] kv = m.split("=");
        String[] id = kv[0].split("/");
        Subscription s = new Subscription(Arrays.asList(kv[1].split("\\\\+")));
        if (id.length > 1) s.setGroupInstanceId(Optional.of(id[1]));
        subs.put(id[0], s);
      }
      for (AbstractPartitionAssignor asg : List.of(new RangeAssignor(), new RoundRobinAssignor())) {
        Map<String, List<TopicPartition>> out = asg.assign(pt, subs);
        List<String> members = new ArrayList<>(out.keySet());
        Collections.sort(members);
        for (String m : members) {
          List<TopicPartition> l = new ArrayList<>(out.get(m));
          l.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
          System.out.println("assign " + (i - 3) + " " + asg.name() + " " + m + " " + tps(l));
        }
      }
    }
  }
}
`;

const SCENARIOS = [
  "t0=3,t1=3;c0=t0+t1,c1=t0+t1",
  "t0=5,t1=2,t2=7;a=t0+t1+t2,b=t0+t2,c=t1+t2",
  "t0=10;m2/z=t0,m1/y=t0,m0=t0",
  "t0=1,t1=4;x=t0,y=t1,z=t0+t1",
];

function scenarioMembers(spec: string): {
  counts: Map<string, number>;
  members: AssignorMember[];
} {
  const [topics, members] = spec.split(";");
  const counts = new Map(
    topics!.split(",").map((t) => {
      const [n, c] = t.split("=");
      return [n!, Number(c)];
    }),
  );
  return {
    counts,
    members: members!.split(",").map((m) => {
      const [id, subs] = m.split("=");
      const [memberId, instance] = id!.split("/");
      return {
        memberId: memberId!,
        groupInstanceId: instance ?? null,
        subscription: {
          version: 3,
          topics: subs!.split("+"),
          userData: null,
          ownedPartitions: [],
          generationId: -1,
          rackId: null,
        },
      };
    }),
  };
}

Deno.test("assignor: consumer protocol and assignors match Java's", async () => {
  const owned = [
    { topic: "t1", partition: 0 },
    { topic: "t1", partition: 2 },
    { topic: "t2", partition: 1 },
  ];
  const ourSub = encodeSubscription({
    version: 3,
    topics: ["t1", "t2"],
    userData: new Uint8Array([4, 5]),
    ownedPartitions: owned,
    generationId: 11,
    rackId: "r1",
  });
  const ourAsg = encodeAssignment({ version: 3, partitions: owned, userData: new Uint8Array([7]) });
  const ourSticky = encodeStickyUserData([{ topic: "t1", partition: 1 }, {
    topic: "t2",
    partition: 0,
  }], 4);
  const dir = await Deno.makeTempDir();
  let out: string;
  try {
    await Deno.writeTextFile(`${dir}/AssignorCheck.java`, JAVA);
    const res = await new Deno.Command("java", {
      args: [
        "-cp",
        `${JARS}/*`,
        `${dir}/AssignorCheck.java`,
        hex(ourSub),
        hex(ourAsg),
        hex(ourSticky),
        ...SCENARIOS,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    out = new TextDecoder().decode(res.stdout);
    assert.ok(res.success, new TextDecoder().decode(res.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const lines = new Map<string, string>();
  const assigns: string[] = [];
  for (const l of out.trim().split("\n")) {
    const sp = l.indexOf(" ");
    const k = l.slice(0, sp);
    if (k === "assign") assigns.push(l.slice(sp + 1));
    else lines.set(k, l.slice(sp + 1));
  }

  // Java's subscriptions, every version, decoded by us.
  for (let v = 0; v <= 3; v++) {
    const s = decodeSubscription(unhex(lines.get(`sub${v}`)!));
    assert.equal(s.version, v);
    assert.deepEqual(s.topics, ["t1", "t2"]);
    assert.deepEqual([...s.userData!], [1, 2, 3]);
    assert.deepEqual(s.ownedPartitions, v >= 1 ? owned : []);
    assert.equal(s.generationId, v >= 2 ? 7 : -1);
    assert.equal(s.rackId, v >= 3 ? "rack-a" : null);
    // ...and our encoding of the same subscription is Java's, byte for byte.
    assert.equal(
      hex(encodeSubscription({ ...s, userData: new Uint8Array([1, 2, 3]), version: v })),
      lines.get(`sub${v}`),
    );
  }
  assert.equal(decodeSubscription(unhex(lines.get("subnull")!)).userData, null);
  const jAsg = decodeAssignment(unhex(lines.get("asg")!));
  assert.deepEqual(jAsg.partitions, owned);
  assert.deepEqual([...jAsg.userData!], [9]);
  assert.equal(hex(encodeAssignment({ ...jAsg, version: 3 })), lines.get("asg"));

  // Sticky user data from Java.
  const sticky = decodeStickyUserData(unhex(lines.get("sticky")!))!;
  assert.deepEqual(sticky.partitions, owned);
  assert.equal(sticky.generation, 5);
  assert.equal(lines.get("coop"), "00000006"); // the generation, one int32

  // Ours, decoded by Java.
  assert.equal(lines.get("oursub"), "topics=[t1, t2] owned=t1:0 t1:2 t2:1 gen=11 rack=r1 ud=0405");
  assert.equal(lines.get("ourasg"), "t1:0 t1:2 t2:1 ud=07");
  // Java's StickyAssignor kept m1's previous assignment, read from our user data (m1 gets 3
  // of the 5 partitions: its 2 and one more).
  const kept = lines.get("stickykept")!.split(" ");
  assert.equal(kept.length, 3);
  assert.ok(kept.includes("t1:1") && kept.includes("t2:0"), kept.join(" "));

  // Range and roundrobin: exactly Java's assignments.
  const ours: string[] = [];
  SCENARIOS.forEach((spec, i) => {
    const { counts, members } = scenarioMembers(spec);
    for (const a of [rangeAssignor(), roundRobinAssignor()]) {
      const result = a.assign(members, counts);
      for (const m of [...result.keys()].sort()) {
        const list = [...result.get(m)!].sort((x, y) =>
          x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition
        );
        ours.push(
          `${i} ${a.name} ${m} ${list.map((tp) => `${tp.topic}:${tp.partition}`).join(" ")}`,
        );
      }
    }
  });
  assert.deepEqual(ours.map((s) => s.trimEnd()), assigns.map((s) => s.trimEnd()));
});
